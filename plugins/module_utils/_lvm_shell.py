# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One ``lvm`` process per task for the task's LVM commands (LVM's command shell).

Under emulation most of an LVM command's time is starting LVM, not its work: in a TCG guest an
``lvs`` costs 0.36 s as a process and 0.12 s as a line fed to a running ``lvm``.  So a task's
LVM commands go, one at a time, to one ``lvm`` shell, the way lvmdbusd drives LVM:

* the shell runs with LVM's own ``lvmdbusd`` command profile (shipped with lvm2 in
  ``<LVM_SYSTEM_DIR or /etc/lvm>/profile``): JSON reports and, after every command, a command
  log whose last record carries the command's return code, written to ``LVM_REPORT_FD``;
* a command's outcome is that return code (LVM's exit codes: 1 is success, as exit 0), never a
  guess from its messages; on a failure ``lastlog`` gives the command's errors and warnings,
  which become its stderr text, as a process would print them;
* a command goes to the shell only when it can be written as one shell line: no stdin, the
  shell's environment, at most ``MAX_ARGS`` items, each item made only of ``SAFE_TOKEN_RE``'s
  characters (the shell splits at spaces); anything else runs as its own process;
* if the shell cannot start (no profile; the handshake, LVM's ``version``, gets no log), or
  has exited before a command was written to it, that command never ran: it and every later
  one run as processes; if it dies or times out during a command, that command reports the
  failure (a write is never re-run) and the later ones run as processes.

The CommandRunner stays the one place that runs commands: this is its executor for LVM argv.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import select
import subprocess
import threading
import time

PROFILE = 'lvmdbusd'
SAFE_TOKEN_RE = re.compile(r'^[A-Za-z0-9+_.:/=,%@{}-]+$')
MAX_ARGS = 60           # the shell splits a line into at most 64 words (lvm2's MAX_ARGS)
START_TIMEOUT = 15      # the handshake (LVM's ``version``: under 1 s in a loaded TCG guest);
#                         past it the task's commands run as processes
# what the protocol needs of the profile: JSON reports and the command log
PROFILE_NEEDS = (re.compile(r'^\s*output_format\s*=\s*"?json"?\s*$', re.M),
                 re.compile(r'^\s*report_command_log\s*=\s*1\s*$', re.M))
LVM_OK = 1              # ECMD_PROCESSED


def profile_path(env):
    """Where LVM looks for the shell's command profile (lvm.conf's default profile_dir)."""
    return os.path.join(env.get('LVM_SYSTEM_DIR') or '/etc/lvm', 'profile', PROFILE + '.profile')


def profile_usable(env):
    """Whether that profile is there and sets what the protocol reads."""
    try:
        with open(profile_path(env)) as fh:
            text = fh.read()
    except (IOError, OSError, UnicodeDecodeError):
        return False
    return all(rx.search(text) for rx in PROFILE_NEEDS)


def _nonblock(fd):
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


class ShellGone(Exception):
    """The shell exited or stopped answering; ``rc`` is what the command reports."""

    def __init__(self, rc, why):
        Exception.__init__(self, why)
        self.rc = rc


class NotSent(Exception):
    """The line could not be written: the shell had exited, the command did not run."""


class LvmShell(object):
    """A lazily started ``lvm`` shell; call it as ``shell(argv, env, stdin, timeout)``."""

    def __init__(self, binary='lvm'):
        self.binary = binary
        self.proc = None
        self.env = None         # the environment it was started with
        self.broken = False     # could not start, or died: every command runs as a process
        self.calls = 0
        self._profile_ok = None
        self._report_fd = None
        self._lock = threading.Lock()

    # -- which commands it takes ------------------------------------------------
    def takes(self, argv, env, stdin):
        if self.broken or stdin is not None or len(argv) > MAX_ARGS or not argv:
            return False
        if self.env is not None and env != self.env:
            return False
        if not all(SAFE_TOKEN_RE.match(a) for a in argv):
            return False
        if self.proc is None and self._profile_ok is None:
            self._profile_ok = profile_usable(env)
        return self.proc is not None or bool(self._profile_ok)

    # -- running one command -----------------------------------------------------
    def __call__(self, argv, env, stdin, timeout):
        """(rc, stdout, stderr) of ``argv``, run in the shell; None when it could not start
        (nothing was run: the caller runs the command as a process)."""
        with self._lock:
            if self.proc is None and not self._start(env):
                return None
            if self.proc.poll() is not None:    # gone before this command: it never ran
                self._give_up()
                return None
            self.calls += 1
            try:
                log, report, out, err = self._command(' '.join(argv), timeout)
            except NotSent:
                self._give_up()
                return None
            except ShellGone as exc:
                self._give_up()
                return exc.rc, b'', ('lvm shell: %s' % exc).encode('utf-8')
            rc = _return_code(log)
            if rc != 0:
                try:
                    err += _messages(self._command('lastlog', timeout)[0])
                except (ShellGone, NotSent):
                    self._give_up()
            return rc, (report if report is not None else out), err

    def _give_up(self):
        """Kill the shell; the task's later commands run as processes."""
        self._stop(kill=True)
        self.broken = True

    def close(self):
        with self._lock:
            self._stop()

    # -- the process ---------------------------------------------------------------
    def _start(self, env):
        r, w = os.pipe()
        senv = dict(env, LVM_REPORT_FD=str(w), LVM_COMMAND_PROFILE=PROFILE,
                    LVM_LOG_FILE_MAX_LINES='0')
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
                [self.binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=senv, pass_fds=(w,), close_fds=True)
        except OSError:
            os.close(r)
            os.close(w)
            self.broken = True
            return False
        os.close(w)
        self._report_fd = r
        for fd in (r, self.proc.stdout.fileno(), self.proc.stderr.fileno()):
            _nonblock(fd)
        self.env = env
        try:
            log = self._command('version', START_TIMEOUT)[0]
        except (ShellGone, NotSent):
            log = None
        # the profile must give what the protocol reads: a command log with the shell's status
        if not any(r.get('log_type') == 'status' and r.get('log_context') == 'shell' for r in log or ()):
            self._give_up()
            return False
        return True

    def _stop(self, kill=False):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if not kill:
                try:
                    proc.stdin.close()
                    proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    kill = True
            if kill and proc.poll() is None:
                proc.kill()
                proc.wait()
        finally:
            for f in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    f.close()
                except OSError:
                    pass
            if self._report_fd is not None:
                os.close(self._report_fd)
                self._report_fd = None

    def _command(self, line, timeout):
        """Write one line; read until the report fd holds one whole JSON document.
        Returns (log records, report text or None, stdout, stderr)."""
        proc = self.proc
        try:
            proc.stdin.write(line.encode('utf-8') + b'\n')
            proc.stdin.flush()
        except (OSError, ValueError):    # EPIPE: it exited and cannot have read the line
            raise NotSent()
        fds = (self._report_fd, proc.stdout.fileno(), proc.stderr.fileno())
        buf = dict((fd, b'') for fd in fds)
        deadline = None if timeout is None else time.time() + timeout
        doc = None
        while doc is None:
            wait = 5.0 if deadline is None else max(0.0, min(5.0, deadline - time.time()))
            ready = select.select(fds, (), (), wait)[0]
            eof = False
            for fd in ready:
                chunk = _read(fd)
                eof = eof or chunk == b''
                buf[fd] += chunk or b''
            if ready and buf[fds[0]].strip():
                try:
                    doc = json.loads(buf[fds[0]].decode('utf-8', 'replace'))
                except ValueError:
                    doc = None
            if doc is None and (eof or not ready) and proc.poll() is not None:
                raise ShellGone(_died(proc), 'exited during the command (%s)' % proc.returncode)
            if doc is None and deadline is not None and time.time() >= deadline:
                raise ShellGone(124, 'timed out after %d seconds' % int(timeout))
        for fd in fds[1:]:      # what the command wrote before its log is in the pipes now
            buf[fd] += _read(fd) or b''
        if not isinstance(doc, dict):
            raise ShellGone(1, 'unexpected report %r' % buf[fds[0]][:200])
        log = doc.pop('log', None) or []
        report = json.dumps(doc).encode('utf-8') if 'report' in doc else None
        return log, report, buf[fds[1]], buf[fds[2]]


def _read(fd):
    """What the pipe holds now: bytes, b'' at EOF, None when empty."""
    out = b''
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return out or None
            raise
        if not chunk:
            return out
        out += chunk


def _died(proc):
    rc = proc.poll()
    if rc is None:
        return 1
    return 128 - rc if rc < 0 else (rc or 1)       # a signal as a shell shows it: SIGSEGV 139


def _return_code(log):
    """The command's exit code from its command log (LVM's: success is 1, shown as 0)."""
    for rec in reversed(log):
        if rec.get('log_type') == 'status' and rec.get('log_context') == 'shell':
            try:
                code = int(rec.get('log_ret_code'))
            except (TypeError, ValueError):
                return 1
            return 0 if code == LVM_OK else code
    return 1


def _messages(log):
    """The errors and warnings of ``lastlog``, as LVM prints them to stderr."""
    lines = ['  %s\n' % rec.get('log_message', '') for rec in log
             if rec.get('log_type') in ('error', 'warn')]
    return ''.join(lines).encode('utf-8')
