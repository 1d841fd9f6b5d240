# -*- coding: utf-8 -*-
"""Host tier: two export tasks at once against one tgtd (two processes, 20 volumes each).

Each process picks tgt target IDs; without the host lock both read the same free IDs and
one fails with "this target already exists".  Both must succeed, and every one of the 40
targets must have the right backing file, LUN 1, its CHAP account bound, and its include
file saved.
"""

import os

from export_support import (GOOD_IQN, backing_file, child_result, go, iscsi_login_ok,
                            module_child)

N = 20


def test_two_bulk_exports_at_once_both_succeed_and_every_target_is_right(tgt_env):
    env = tgt_env
    plays = {}
    for who in ('a', 'b'):
        vols = [dict(volume='%s%02d' % (who, i),
                     device_path=backing_file(str(env.dir / ('%s%02d.img' % (who, i))), 1024 ** 2))
                for i in range(N)]
        plays[who] = (vols, module_child('export', dict(backend=env.backend, volumes=vols,
                                                        connector=dict(initiator=GOOD_IQN))))
    go(*[p for vols, p in plays.values()])
    results = dict((who, child_result(p, 300)) for who, (vols, p) in plays.items())
    for who, res in results.items():
        assert not res.get('failed'), (who, res.get('msg'))
        assert [e['action'] for e in res['exports']] == ['create'] * N
    show = env.tgtd.tgtadm('--op', 'show', '--mode', 'target').stdout
    from ansible_collections.cinderkit.storage.plugins.module_utils.targets._tgtadm import (
        IncludeFile, parse_show)
    live = parse_show(show)
    assert len(live) == 2 * N
    assert len(set(t.tid for t in live.values())) == 2 * N
    for who, (vols, p) in plays.items():
        for v, rec in zip(vols, results[who]['exports']):
            data = rec['connection_info']['data']
            t = live[data['target_iqn']]
            assert t.luns[1].path == v['device_path'], (v['volume'], t.luns[1].path)
            assert data['target_lun'] == 1
            assert t.accounts == [data['auth_username']], v['volume']
            path = os.path.join(env.volumes_dir, v['volume'])
            f = IncludeFile.parse(path, open(path).read())
            assert f.target == data['target_iqn'] and f.backing_store == v['device_path']
            assert f.incoming == (data['auth_username'], data['auth_password'])
    for who in ('a', 'b'):     # real logins on one target of each play
        data = results[who]['exports'][-1]['connection_info']['data']
        assert iscsi_login_ok(env.tgtd.port, data['target_iqn'], data['auth_username'],
                              data['auth_password'])[0]
