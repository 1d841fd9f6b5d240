# -*- coding: utf-8 -*-
"""The lvm shell's pure parts and the runner's ``via`` contract (the real shell, on real LVM,
is tested in tests/integration/host/test_lvm_shell.py and used by every VM test)."""
from __future__ import absolute_import, division, print_function

import time

from ansible_collections.cinderkit.storage.plugins.module_utils import _lvm_shell
from ansible_collections.cinderkit.storage.plugins.module_utils._lvm import _lv_time
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner


def rec(kind, code, context='shell', msg=''):
    return dict(log_type=kind, log_context=context, log_ret_code=str(code), log_message=msg)


def test_the_exit_code_is_the_last_shell_status_record():
    assert _lvm_shell._return_code([rec('warn', 0), rec('status', 1)]) == 0
    assert _lvm_shell._return_code([rec('status', 1, 'processing'), rec('status', 5)]) == 5
    assert _lvm_shell._return_code([rec('error', 0), rec('status', 3)]) == 3
    # no status record: a failure, never a success
    assert _lvm_shell._return_code([rec('print', 0)]) == 1
    assert _lvm_shell._return_code([]) == 1


def test_lastlog_messages_become_stderr_lines():
    log = [rec('error', 0, 'processing', 'Volume group "x" not found'), rec('status', 5, 'processing'),
           rec('warn', 0, 'shell', 'WARNING: w'), rec('print', 0, 'shell', 'noise')]
    assert _lvm_shell._messages(log) == b'  Volume group "x" not found\n  WARNING: w\n'


def test_the_shell_takes_only_what_one_line_can_carry(tmp_path):
    (tmp_path / 'profile').mkdir()
    env = {'LVM_SYSTEM_DIR': str(tmp_path)}
    assert not _lvm_shell.LvmShell().takes(['lvs'], env, None)    # no lvmdbusd profile there
    prof = tmp_path / 'profile' / 'lvmdbusd.profile'
    prof.write_text('report {\n\toutput_format=basic\n}\nlog {\n\treport_command_log=1\n}\n')
    assert not _lvm_shell.LvmShell().takes(['lvs'], env, None)    # a profile without JSON
    prof.write_text('report {\n\toutput_format=json\n}\nlog {\n\treport_command_log=1\n}\n')
    sh = _lvm_shell.LvmShell()
    assert sh.takes(['lvs', '--', 'vg'], env, None)
    assert not sh.takes(['lvs', '--select', 'a = b'], env, None)    # the shell splits at spaces
    assert not sh.takes(['lvs', "it's"], env, None)
    assert not sh.takes(['lvm'], env, b'lvs\n')                     # a script on stdin
    assert not sh.takes(['lvchange'] + ['--addtag', 't'] * 40, env, None)
    sh.broken = True
    assert not sh.takes(['lvs'], env, None)


def test_lv_time_reads_the_same_from_the_shell_and_a_process():
    stamp = 1700000000
    shown = time.strftime('%Y-%m-%d %H:%M:%S %z', time.localtime(stamp))
    assert _lv_time(str(stamp)) == shown
    assert _lv_time(shown) == shown
    assert _lv_time('') is None


class Via(object):
    def __init__(self, takes=True, result=(0, b'shell', b'')):
        self._takes, self.result, self.calls, self.seen = takes, result, 0, []

    def takes(self, argv, env, stdin):
        return self._takes

    def __call__(self, argv, env, stdin, timeout):
        self.seen.append(argv)
        if self.result is not None:
            self.calls += 1
        return self.result


def test_the_runner_uses_via_when_it_takes_the_command_and_a_process_otherwise():
    r = CommandRunner()
    via = Via()
    assert r.run(['true'], via=via).stdout == 'shell'
    assert r.history[-1]['via'] == 'lvm shell'
    # not taken, or could not start (None: nothing ran): the command runs as a process
    assert r.run(['echo', 'proc'], via=Via(takes=False)).stdout == 'proc\n'
    assert 'via' not in r.history[-1]
    assert r.run(['echo', 'proc'], via=Via(result=None)).stdout == 'proc\n'
    assert 'via' not in r.history[-1]


def test_check_mode_skips_a_write_before_via_sees_it():
    via = Via()
    res = CommandRunner(check_mode=True).run(['lvremove', 'vg/x'], write=True, via=via)
    assert res.skipped and via.seen == []
