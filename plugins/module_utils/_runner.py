# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where external commands are built into argv and run.

* argv lists only, never a shell;
* ``LC_ALL=C`` so output can be parsed;
* ``Secret`` argv items are redacted from the history and from errors;
* writes are skipped in check mode (callers plan first; this is the backstop);
* exit codes listed in ``retry_codes`` are retried for reads (LVM's exit 139);
* every command is recorded (argv, rc, seconds) so a task can report and
  tests can count what ran;
* the process environment is read once per runner (one task) and binaries are
  looked up once per PATH: a bulk task starts thousands of short commands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import time

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CommandFailed, MissingDependency)

REDACTED = '<redacted>'
EXTRA_PATH = ('/usr/local/sbin', '/usr/sbin', '/sbin')


class Secret(str):
    """An argv item (or a value) that must never be shown."""

    def __repr__(self):
        return "Secret('%s')" % REDACTED


class CommandResult(object):
    __slots__ = ('cmd', 'rc', 'stdout', 'stderr', 'skipped', 'seconds')

    def __init__(self, cmd, rc, stdout, stderr, skipped=False, seconds=0.0):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.skipped = skipped
        self.seconds = seconds

    @property
    def ok(self):
        return self.rc == 0


def redact_argv(argv):
    return [REDACTED if isinstance(a, Secret) else str(a) for a in argv]


def redact_text(text, secrets):
    for s in secrets:
        if s:
            text = text.replace(s, REDACTED)
    return text


class CommandRunner(object):
    """Runs commands for one task.

    ``executor`` (for tests at the process boundary only) replaces
    subprocess: it is called as ``executor(argv, env, stdin)`` and returns
    ``(rc, stdout, stderr)``.
    """

    def __init__(self, check_mode=False, env=None, executor=None,
                 retry_codes=(139,), retries=3, packages=None):
        self.check_mode = check_mode
        self.env = dict(env or {})
        self.executor = executor
        self.retry_codes = tuple(retry_codes)
        self.retries = retries
        self.packages = dict(packages or {})
        self.history = []
        self.secrets = set()
        self.in_process_writes = []
        self._which = {}
        self._base_env = None       # (PATH it was read with, os.environ + PATH extras)

    # -- helpers ---------------------------------------------------------
    def add_secret(self, value):
        if value:
            self.secrets.add(str(value))

    def which(self, binary, package=None):
        """Absolute path of ``binary`` or MissingDependency naming the package."""
        path = os.environ.get('PATH', '') + os.pathsep + os.pathsep.join(EXTRA_PATH)
        key = (binary, path)
        found = self._which.get(key)
        if found is None:
            found = shutil.which(binary, path=path)
            if found:
                self._which[key] = found
        if not found:
            raise MissingDependency("the command '%s'" % binary,
                                    package or self.packages.get(binary, binary))
        return found

    def _environ(self, extra):
        path = os.environ.get('PATH', '')
        if self._base_env is None or self._base_env[0] != path:
            self._base_env = (path, dict(os.environ))
        env = dict(self._base_env[1])
        env.update(self.env)
        if extra:
            env.update(extra)
        env['LC_ALL'] = 'C'
        env['LANG'] = 'C'
        env['PATH'] = env.get('PATH', '') + os.pathsep + os.pathsep.join(EXTRA_PATH)
        return env

    def _exec(self, argv, env, stdin, timeout, via=None):
        if self.executor is not None:
            return self.executor(argv, env, stdin)
        if via is not None and via.takes(argv, env, stdin):
            got = via(argv, env, stdin, timeout)
            if got is not None:     # None: ``via`` could not start, nothing ran
                return got
        try:
            proc = subprocess.run(  # noqa: S603 - argv list, no shell
                argv, input=stdin, env=env, timeout=timeout,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        except FileNotFoundError:
            raise MissingDependency("the command '%s'" % argv[0],
                                    self.packages.get(os.path.basename(argv[0]), argv[0]))
        except subprocess.TimeoutExpired as exc:
            return 124, exc.stdout or b'', (exc.stderr or b'') + (
                b'\ntimed out after %d seconds' % int(timeout))
        return proc.returncode, proc.stdout, proc.stderr

    # -- the one entry point ---------------------------------------------
    def run(self, argv, write=False, check=True, stdin=None, env=None,
            timeout=None, binary=False, ok_codes=(0,), via=None):
        """Run ``argv``; raise CommandFailed unless rc in ok_codes (when check).

        ``write`` marks a command that changes state: it is skipped in check
        mode and never retried.  ``stdin`` is str or bytes.  ``via``: a running
        command interpreter (``_lvm_shell.LvmShell``) that runs ``argv`` when
        it ``takes`` it; otherwise ``argv`` runs as its own process.
        """
        shown = redact_argv(argv)
        if write and self.check_mode:
            res = CommandResult(shown, 0, '', '', skipped=True)
            self.history.append(dict(cmd=shown, rc=None, skipped=True, seconds=0.0, write=True))
            return res
        real = [str(a) for a in argv]
        data = stdin.encode('utf-8') if isinstance(stdin, str) else stdin
        attempts = 1 if write else max(1, self.retries)
        envd = self._environ(env)
        calls_before = via.calls if via is not None else 0
        for attempt in range(attempts):
            t0 = time.time()
            rc, out, err = self._exec(real, envd, data, timeout, via)
            secs = round(time.time() - t0, 4)
            if rc not in self.retry_codes or attempt == attempts - 1:
                break
        if not binary:
            out = out.decode('utf-8', 'replace') if isinstance(out, bytes) else out
        err = err.decode('utf-8', 'replace') if isinstance(err, bytes) else err
        err = redact_text(err, self.secrets) if err else err     # most writes print nothing
        entry = dict(cmd=shown, rc=rc, seconds=secs)
        if via is not None and via.calls > calls_before:
            entry['via'] = 'lvm shell'
        if write:
            entry['write'] = True
        if stdin is not None and not binary:
            lines = data.count(b'\n') if data else 0
            if lines:
                entry['stdin_lines'] = lines
        self.history.append(entry)
        res = CommandResult(shown, rc, out, err, seconds=secs)
        if check and rc not in ok_codes:
            shown_out = out if not binary else ''
            raise CommandFailed(shown, rc, redact_text(shown_out, self.secrets), err)
        return res

    def note_write(self, what):
        """Record a change made in-process (a librbd call, a file), not by a command."""
        if not self.check_mode:
            self.in_process_writes.append(what)

    def changed(self):
        """Whether anything was changed so far: a write command that succeeded, a batch
        of writes fed on stdin that ran (some of it may have succeeded whatever the exit
        code), or an in-process write."""
        return bool(self.in_process_writes) or any(
            h.get('write') and not h.get('skipped') and (h.get('rc') == 0 or h.get('stdin_lines'))
            for h in self.history)

    def writes(self):
        """The in-process changes (librbd calls, the file driver's files), in order, for task
        results: what ``commands`` cannot show, with secrets redacted."""
        return [redact_text(w, self.secrets) for w in self.in_process_writes]

    def commands(self):
        """History as short strings for task results."""
        out = []
        for h in self.history:
            s = ' '.join(h['cmd'])
            if h.get('stdin_lines'):
                s += ' <<%d lines>>' % h['stdin_lines']
            if h.get('skipped'):
                s += ' (check mode: skipped)'
            out.append(s)
        return out
