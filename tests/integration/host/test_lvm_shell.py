# -*- coding: utf-8 -*-
"""Host tier: a task's LVM commands in one ``lvm`` shell (plugins/module_utils/_lvm_shell.py),
on real LVM metadata (a loop device; activation off on this kernel).

The shell must give every command what a process would: the same exit code, the same report and
the failure's messages; and where it cannot (no profile, it died, it hung) the command reports
it or runs as a process, never twice.
"""

import fcntl
import json
import os
import signal

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils._lvm import LVMClient
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner

LOCK_DIR = '/run/lock/lvm'


def client(vg):
    return LVMClient(CommandRunner(), vg.name, vg.lvm_conf)


def via_shell(lvm):
    return [h.get('via') == 'lvm shell' for h in lvm.runner.history]


# (argv builder, exit code, a text the failure's stderr must carry)
CASES = [
    (lambda n: ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix',
                '-o', 'lv_name,lv_size,lv_tags', '--', n], 0, None),
    (lambda n: ['lvcreate', '--yes', '--name', 'one', '--size', '8m', '--addtag', 'ck.kind=volume', n],
     0, None),
    (lambda n: ['lvcreate', '--yes', '--name', 'one', '--size', '8m', n], 5, 'already exists'),
    (lambda n: ['lvcreate', '--yes', '--name', 'huge', '--size', '900g', n], 5, 'insufficient free space'),
    (lambda n: ['lvs', '--reportformat', 'json', '--', n + 'x'], 5, 'not found'),
    (lambda n: ['lvs', '--no-such-option', n], 3, None),
    (lambda n: ['lvextend', '--size', '16m', '--', n + '/one'], 0, None),
    (lambda n: ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix',
                '-o', 'lv_name,lv_size,lv_tags', '--', n], 0, None),
    (lambda n: ['lvremove', '--yes', '--force', '--', n + '/one'], 0, None),
    (lambda n: ['lvremove', '--yes', '--force', '--', n + '/one'], 5, 'Failed to find'),
]


def _outcomes(vg):
    lvm = client(vg)
    got = []
    for build, _rc, _text in CASES:
        res = lvm.run(build(vg.name), write=True, check=False)
        out = json.loads(res.stdout)['report'] if res.stdout.strip().startswith('{') else None
        got.append((res.rc, out, res.stderr))
    lvm.close()
    return got, via_shell(lvm)


def test_the_shell_gives_each_command_what_a_process_gives(loop_vg):
    shell_vg = loop_vg(size_gb=1)
    plain_vg = loop_vg(size_gb=1, shell_profile=False)    # no lvmdbusd profile: processes
    in_shell, used = _outcomes(shell_vg)
    as_processes, used_plain = _outcomes(plain_vg)
    assert all(used) and not any(used_plain), (used, used_plain)
    for (build, rc, text), a, b in zip(CASES, in_shell, as_processes):
        argv = build('VG')
        assert a[0] == b[0] == rc, (argv, a, b)
        assert a[1] == b[1], (argv, a[1], b[1])           # the same report, row for row
        if text:
            assert text in a[2] and text in b[2], (argv, a[2], b[2])


def test_a_shell_that_died_between_commands_runs_the_next_as_a_process(loop_vg):
    vg = loop_vg(size_gb=1)
    lvm = client(vg)
    lvm.run(['lvcreate', '--yes', '--name', 'a', '--size', '8m', vg.name], write=True)
    os.kill(lvm.shell.proc.pid, signal.SIGKILL)
    lvm.shell.proc.wait()
    res = lvm.run(['lvcreate', '--yes', '--name', 'b', '--size', '8m', vg.name], write=True)
    assert res.rc == 0
    assert via_shell(lvm) == [True, False], lvm.runner.history
    assert sorted(vg.lvs()) == ['a', 'b']                 # each created once, none lost
    lvm.close()


def test_a_command_that_hangs_in_the_shell_times_out_and_is_not_run_again(loop_vg):
    vg = loop_vg(size_gb=1)
    lvm = client(vg)
    lvm.run(['lvs', '--', vg.name])                       # the shell runs
    pid = lvm.shell.proc.pid
    lock = os.path.join(LOCK_DIR, 'V_%s' % vg.name)       # LVM's file lock of the VG
    if not os.path.isdir(LOCK_DIR):
        pytest.fail('%s is missing: LVM file locking is not where this test expects it' % LOCK_DIR)
    existed = os.path.exists(lock)
    try:
        with open(lock, 'a') as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            res = lvm.run(['lvcreate', '--yes', '--name', 'late', '--size', '8m', vg.name],
                          write=True, check=False, timeout=3)
    finally:
        if not existed and os.path.exists(lock):
            os.unlink(lock)
    assert res.rc == 124 and 'timed out' in res.stderr, (res.rc, res.stderr)
    assert lvm.shell.broken and lvm.shell.proc is None
    with pytest.raises(OSError):
        os.kill(pid, 0)                                   # the hung shell was killed
    # the write was not re-run for it; the next command runs as a process
    assert 'late' not in vg.lvs()
    lvm.run(['lvs', '--reportformat', 'json', '--', vg.name])
    assert via_shell(lvm) == [True, True, False]      # lvs, the timed-out lvcreate, lvs
    lvm.close()


def test_commands_the_shell_cannot_take_run_as_processes(loop_vg):
    vg = loop_vg(size_gb=1)
    lvm = client(vg)
    lvm.run(['lvs', '--', vg.name])
    # a word with a space (the shell would split it), and a script on stdin
    lvm.run(['lvs', '--select', 'lv_name = x', '--', vg.name])
    lvm.run(['lvm'], write=True, stdin='lvcreate --yes --name s --size 8m %s\n' % vg.name)
    assert via_shell(lvm) == [True, False, False]
    assert 's' in vg.lvs()
    lvm.close()


def test_a_module_task_runs_its_lvm_commands_in_one_shell(ck, vg):
    b = vg.backend()
    r = ck('volume', backend=b, name='shelled', size='8M')
    assert r['changed'] and r['volume']['size_bytes'] == 8 * 1024 ** 2, r
    assert [c.split()[0] for c in r['commands']] == ['lvs', 'vgs', 'lvcreate', 'lvs'], r['commands']
    assert 'ck.kind=volume' in vg.lvs()['shelled']['lv_tags']
    # no lvm process outlives the task
    left = [p for p in os.listdir('/proc') if p.isdigit() and _is_lvm_shell_of(p, vg.conf_dir)]
    assert not left, left


def _is_lvm_shell_of(pid, conf_dir):
    try:
        with open('/proc/%s/environ' % pid, 'rb') as fh:
            env = fh.read().split(b'\0')
        with open('/proc/%s/comm' % pid) as fh:
            comm = fh.read().strip()
    except OSError:
        return False
    return comm == 'lvm' and ('LVM_SYSTEM_DIR=%s' % conf_dir).encode() in env


def test_a_shell_that_cannot_apply_its_profile_leaves_every_command_to_processes(loop_vg):
    vg = loop_vg(size_gb=1)
    with open(vg.lvm_conf, 'a') as fh:     # the profile file is where the check looks, LVM looks elsewhere
        fh.write('config { profile_dir = "%s/nowhere" }\n' % vg.conf_dir)
    lvm = client(vg)
    res = lvm.run(['lvcreate', '--yes', '--name', 'p', '--size', '8m', vg.name], write=True)
    assert res.rc == 0 and lvm.shell.broken and lvm.shell.proc is None
    lvm.run(['lvs', '--', vg.name])
    assert via_shell(lvm) == [False, False]
    assert list(vg.lvs()) == ['p']                        # created once
    lvm.close()
