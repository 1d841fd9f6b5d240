# -*- coding: utf-8 -*-
"""Where a test tier's time goes: every command and every in-process module call, timed.

``install(dirname)`` (the VM tier's conftest calls it when CINDERKIT_PROFILE_DIR is set)
wraps ``subprocess.run``, ``support.run_module`` and the lvm shell's calls (``_lvm_shell.py``, shown
as "lvs (shell)" etc.) in this process. At exit it writes one
JSON file per process: seconds and counts per command (``lvm``'s and ``nvme``'s first
argument included), per module, and per test, split into the commands modules ran, the rest
of the module calls (their Python), the commands the test itself ran and everything else.
``python -m cmdprofile DIR`` (vm-tier.sh runs it on the host) sums those files into tables.
Only argv[0] and argv[1] are kept: no argument that could hold a secret reaches the files.
"""

import atexit
import collections
import json
import os
import subprocess
import sys
import time

SHELL_MODULE = 'ansible_collections.cinderkit.storage.plugins.module_utils._lvm_shell'
SPLIT = ('module_commands', 'module_python', 'test_commands')
_state = dict(in_module=0, test=None)


def _key(argv):
    if isinstance(argv, (list, tuple)) and argv:
        name = os.path.basename(str(argv[0]))
        if name in ('lvm', 'nvme', 'targetcli', 'tgtadm', 'iscsiadm', 'dmsetup') and len(argv) > 1:
            sub = str(argv[1])
            if not sub.startswith('-') and len(sub) < 24:
                name += ' ' + sub
        return name
    return '(shell)'


def install(dirname):
    import support
    cmds = collections.defaultdict(lambda: [0, 0.0])
    mods = collections.defaultdict(lambda: [0, 0.0])
    tests = collections.defaultdict(lambda: dict((k, 0.0) for k in SPLIT + ('wall',)))
    real_run = subprocess.run
    real_module = support.run_module

    def record(argv, dt, suffix=''):
        c = cmds[_key(argv) + suffix]
        c[0] += 1
        c[1] += dt
        if _state['test']:
            tests[_state['test']]['module_commands' if _state['in_module'] else 'test_commands'] += dt

    def run(*args, **kwargs):
        t0 = time.monotonic()
        try:
            return real_run(*args, **kwargs)  # pylint: disable=subprocess-run-check
        finally:
            record(args[0] if args else kwargs.get('args'), time.monotonic() - t0)

    def patch_shell():
        """Time the lvm shell's commands once the modules have imported it (importing the
        collection here, before Ansible's loader is set up, breaks that loader)."""
        mod = sys.modules.get(SHELL_MODULE)
        if mod is None or getattr(mod.LvmShell.__call__, 'profiled', False):
            return
        real_shell = mod.LvmShell.__call__

        def shell_call(self, argv, env, stdin, timeout):
            """A command the modules' lvm shell ran (the first of a task includes its start)."""
            t0 = time.monotonic()
            try:
                return real_shell(self, argv, env, stdin, timeout)
            finally:
                record(argv, time.monotonic() - t0, ' (shell)')
        shell_call.profiled = True
        mod.LvmShell.__call__ = shell_call

    def run_module(module, *args, **kwargs):
        patch_shell()
        t0 = time.monotonic()
        before = _test_commands()
        _state['in_module'] += 1
        try:
            return real_module(module, *args, **kwargs)
        finally:
            patch_shell()   # the first call imported it (its own commands ran unprofiled)
            _state['in_module'] -= 1
            dt = time.monotonic() - t0
            m = mods[module]
            m[0] += 1
            m[1] += dt
            if _state['test']:
                tests[_state['test']]['module_python'] += dt - (_test_commands() - before)

    def _test_commands():
        t = tests.get(_state['test']) if _state['test'] else None
        return t['module_commands'] if t else 0.0

    subprocess.run = run
    support.run_module = run_module

    def dump():
        os.makedirs(dirname, exist_ok=True)
        path = os.path.join(dirname, 'profile-%d.json' % os.getpid())
        with open(path, 'w') as fh:
            json.dump(dict(commands=cmds, modules=mods, tests=tests), fh)
    _state['dump'] = dump
    atexit.register(dump)
    return tests


def dump():
    """Write this process's file now (xdist workers may not run atexit handlers)."""
    if _state.get('dump'):
        _state['dump']()


def begin(test_id):
    _state['test'] = test_id
    _state['t0'] = time.monotonic()


def end(tests):
    if _state['test']:
        tests[_state['test']]['wall'] += time.monotonic() - _state['t0']
    _state['test'] = None


def report(dirname, top=14):
    cmds = collections.defaultdict(lambda: [0, 0.0])
    mods = collections.defaultdict(lambda: [0, 0.0])
    tests = collections.defaultdict(lambda: dict((k, 0.0) for k in SPLIT + ('wall',)))
    files = [f for f in sorted(os.listdir(dirname)) if f.startswith('profile-') and f.endswith('.json')]
    for f in files:
        with open(os.path.join(dirname, f)) as fh:
            d = json.load(fh)
        for src, dst in ((d['commands'], cmds), (d['modules'], mods)):
            for k, (n, s) in src.items():
                dst[k][0] += n
                dst[k][1] += s
        for k, v in d['tests'].items():
            for f2, s in v.items():
                tests[k][f2] += s
    if not files:
        print('cmdprofile: no profile-*.json in %s' % dirname)
        return 1
    tot = dict((k, 0.0) for k in SPLIT + ('wall',))
    for v in tests.values():
        for k in tot:
            tot[k] += v[k]
    rest = tot['wall'] - sum(tot[k] for k in SPLIT)
    print('where the test time went (%d processes, %.0f test-s in setup+call+teardown):' % (len(files), tot['wall']))
    for k in SPLIT:
        print('  %-16s %7.0f s  %3.0f%%' % (k, tot[k], 100 * tot[k] / max(tot['wall'], 1e-9)))
    print('  %-16s %7.0f s  %3.0f%%  (test Python, waits, sleeps)' % ('other', rest, 100 * rest / max(tot['wall'], 1e-9)))
    for title, table in (('commands', cmds), ('modules (in-process calls)', mods)):
        print('%-28s %6s %8s %7s' % (title, 'count', 'total s', 'mean s'))
        for k, (n, s) in sorted(table.items(), key=lambda kv: -kv[1][1])[:top]:
            print('  %-26s %6d %8.1f %7.2f' % (k[:26], n, s, s / max(n, 1)))
    return 0


if __name__ == '__main__':
    sys.exit(report(sys.argv[1]))
