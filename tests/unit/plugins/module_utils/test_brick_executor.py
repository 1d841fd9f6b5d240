# -*- coding: utf-8 -*-
"""os-brick's commands go through the task's one CommandRunner (processutils' contract)."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, MissingDependency)
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
from ansible_collections.cinderkit.storage.plugins.module_utils._brick import Brick

processutils = pytest.importorskip('oslo_concurrency.processutils')


def brick(runner):
    b = Brick.__new__(Brick)        # the executor alone: no os-brick set-up needed
    b.runner, b.processutils = runner, processutils
    return b


def test_output_exit_codes_and_the_error_os_brick_expects():
    runner = CommandRunner()
    b = brick(runner)
    assert b.execute('sh', '-c', 'echo out; echo err >&2') == ('out\n', 'err\n')
    assert b.execute('sh', '-c', 'exit 3', check_exit_code=[0, 3]) == ('', '')
    assert b.execute('sh', '-c', 'exit 5', check_exit_code=False) == ('', '')
    with pytest.raises(processutils.ProcessExecutionError) as info:
        b.execute('sh', '-c', 'echo no >&2; exit 4', run_as_root=True, root_helper='sudo')
    assert info.value.exit_code == 4 and 'no' in info.value.stderr
    assert b.execute('cat', process_input='typed') == ('typed', '')
    assert b.execute('sh', '-c', 'echo "$LC_ALL"')[0] == 'C\n'      # the runner's environment


def test_attempts_retry_and_every_run_is_recorded_redacted():
    runner = CommandRunner()
    runner.add_secret('s3cr3t-value')
    b = brick(runner)
    with pytest.raises(processutils.ProcessExecutionError) as info:
        b.execute('sh', '-c', 'exit 1', 's3cr3t-value', attempts=3, delay_on_retry=False)
    assert 's3cr3t-value' not in str(info.value)
    runs = [h for h in runner.history if h['cmd'][0] == 'sh']
    assert len(runs) == 3 and all('s3cr3t-value' not in ' '.join(h['cmd']) for h in runs)
    assert not runner.changed()                                 # reads: nothing changed


def test_writes_while_the_planner_changes_state_count_as_changes():
    runner = CommandRunner()
    b = brick(runner)
    b.execute('true')
    assert not runner.changed()
    b.writing = True
    b.execute('true')
    assert runner.changed()         # a failure after this reports changed: true


def test_a_missing_tool_names_its_package_and_a_shell_is_refused():
    runner = CommandRunner(packages={'iscsiadm-not-here': 'open-iscsi'})
    b = brick(runner)
    with pytest.raises(MissingDependency) as info:
        b.execute('iscsiadm-not-here', '-m', 'session')
    assert 'open-iscsi' in info.value.msg
    with pytest.raises(CinderkitError):
        b.execute('echo hi', shell=True)


def test_rbd_map_options_reach_rbd_map_only_through_ceph_args(tmp_path):
    """``rbd map`` gets CEPH_ARGS with the map options; other commands do not."""
    fake = tmp_path / 'rbd'
    fake.write_text('#!/bin/sh\necho "$1 ${CEPH_ARGS:-none}"\n')
    fake.chmod(0o755)
    runner = CommandRunner()
    b = brick(runner)
    b.rbd_map_options = 'ms_mode=secure'
    import os
    path = os.environ['PATH']
    os.environ['PATH'] = '%s:%s' % (tmp_path, path)
    try:
        assert b.execute('rbd', 'map', 'img')[0] == 'map --rbd_default_map_options=ms_mode=secure\n'
        assert b.execute('rbd', 'showmapped')[0] == 'showmapped none\n'
        b.rbd_map_options = None
        assert b.execute('rbd', 'map', 'img')[0] == 'map none\n'
    finally:
        os.environ['PATH'] = path
