# -*- coding: utf-8 -*-
"""Host tier: 200 tgt exports converge in ONE task with ONE target-state query, a re-run
changes nothing (one query again), and one task removes them all; every export logs in."""

import pytest

from support import run_module
from export_support import GOOD_IQN, backing_file, iscsi_login_ok

N = 200


def queries(res):
    return [c for c in res['commands'] if '--op show --mode target' in c]


@pytest.mark.slow
def test_two_hundred_exports_in_one_task(tgt_env):
    env = tgt_env
    files = dict(('bulk%03d' % i, backing_file(str(env.dir / ('bulk%03d.img' % i)), 1024 * 1024))
                 for i in range(N))
    vols = [dict(volume=name, device_path=path) for name, path in sorted(files.items())]
    connector = dict(initiator=GOOD_IQN, host='compute01')
    res = run_module('export', dict(backend=env.backend, volumes=vols, connector=connector))
    assert not res.failed, res.get('msg')
    assert res.changed and len(res['exports']) == N
    assert all(e['action'] == 'create' for e in res['exports'])
    # one query to plan, one to check what the writes did - not one per export
    assert len(queries(res)) == 2, queries(res)
    infos = [e['connection_info']['data'] for e in res['exports']]
    assert len(set(d['target_iqn'] for d in infos)) == N
    assert len(set(d['auth_password'] for d in infos)) == N, 'CHAP secrets must be per export'
    # spot-check logins: the first, the middle and the last export
    for d in (infos[0], infos[N // 2], infos[-1]):
        ok = iscsi_login_ok(env.tgtd.port, d['target_iqn'], d['auth_username'], d['auth_password'])[0]
        assert ok, d['target_iqn']
    shown = env.tgtd.tgtadm('--op', 'show', '--mode', 'target').stdout
    assert shown.count('Target ') == N

    again = run_module('export', dict(backend=env.backend, volumes=vols, connector=connector))
    assert not again.failed and again.changed is False
    assert not [e['volume'] for e in again['exports'] if e['changed']]
    assert len(queries(again)) == 1 and len(again['commands']) == 1, again['commands']
    assert [e['connection_info']['data']['auth_password'] for e in again['exports']] == \
        [d['auth_password'] for d in infos], 'a re-run must keep the credentials'

    gone = run_module('export', dict(backend=env.backend, state='absent',
                                     volumes=[dict(volume=v['volume']) for v in vols]))
    assert not gone.failed and gone.changed
    assert all(e['action'] == 'delete' for e in gone['exports'])
    assert env.tgtd.tgtadm('--op', 'show', '--mode', 'target').stdout.count('Target ') == 0
