# -*- coding: utf-8 -*-
"""Host tier: two export tasks at once against one tgtd (two processes, 20 volumes each).

Each process picks tgt target IDs; without the host lock both read the same free IDs and
one fails with "this target already exists".  Both must succeed, and every one of the 40
targets must have the right backing file, LUN 1, its CHAP account bound, and its include
file saved.
"""

import json
import os
import subprocess
import sys

from support import ROOT
from export_support import GOOD_IQN, backing_file, iscsi_login_ok

N = 20

CHILD = r'''
import json, sys
sys.path[:0] = [%(integration)r, %(collections)r]
from support import run_module
args = json.loads(sys.stdin.readline())
sys.stdin.readline()                                  # the start signal: both go together
res = run_module('export', args)
sys.stdout.write('\nRESULT ' + json.dumps(res) + '\n')
'''


def child(args):
    code = CHILD % dict(integration=os.path.join(ROOT, 'tests', 'integration'),
                        collections=os.path.join(ROOT, '.build', 'collections'))
    p = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    p.stdin.write(json.dumps(args) + '\n')
    p.stdin.flush()
    return p


def result(p):
    out, err = p.communicate(timeout=300)
    line = [x for x in out.splitlines() if x.startswith('RESULT ')]
    assert line, (out[-2000:], err[-2000:])
    return json.loads(line[-1][len('RESULT '):])


def test_two_bulk_exports_at_once_both_succeed_and_every_target_is_right(tgt_env):
    env = tgt_env
    plays = {}
    for who in ('a', 'b'):
        vols = [dict(volume='%s%02d' % (who, i),
                     device_path=backing_file(str(env.dir / ('%s%02d.img' % (who, i))), 1024 ** 2))
                for i in range(N)]
        plays[who] = (vols, child(dict(backend=env.backend, volumes=vols,
                                       connector=dict(initiator=GOOD_IQN))))
    for vols, p in plays.values():
        p.stdin.write('go\n')
        p.stdin.flush()
    results = dict((who, result(p)) for who, (vols, p) in plays.items())
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
