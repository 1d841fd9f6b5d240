# -*- coding: utf-8 -*-
"""Host tier: correctness at scale (issue 6).

1,000 volumes in ONE bulk task through Ansible, checked against real ``lvs``;
a re-run that changes nothing; backend_facts with the same number of LVM
commands at 10 and at 1,000 LVs; then all of them deleted in one task.
No timing assertions: bench/ measures time (``make bench``).
"""

import pytest

N = 1000
MiB = 1024 ** 2


def sizes(n):
    """Varied sizes (4..28 MiB, whole 4 MiB extents and one that rounds up)."""
    out = {}
    for i in range(n):
        mib = 4 * (1 + i % 7)
        out['sc%04d' % i] = ('%dM' % (mib - 2) if i % 10 == 3 else '%dM' % mib, mib * MiB)
    return out


def facts_cmds(ck, b):
    r = ck('backend_facts', backend=b)
    assert not r.get('failed'), r
    stats = list(r['ansible_facts']['cinderkit_backends'].values())[0]
    return stats, [c.split()[0] for c in r['commands']]


def requery(cmds):
    """After the writes: one re-query (``lvs``, which carries the VG's fields; ``vgs`` only when
    the VG has no LV left)."""
    assert 'lvs' in cmds and set(cmds) <= set(['vgs', 'lvs']) and len(cmds) == len(set(cmds)), cmds


@pytest.mark.slow
def test_thousand_volumes_one_task(ck, loop_vg):
    vg = loop_vg(size_gb=40, activation=False)
    b = vg.backend(lvm_type='default', volume_clear='none')
    want = sizes(N)
    vols = [dict(name=name, size=spec[0]) for name, spec in want.items()]

    # a fixed LVM command count for backend_facts: measured first at N=10
    small = [dict(name='pre%02d' % i, size='4M') for i in range(10)]
    assert ck('volume', backend=b, volumes=small)['changed']
    stats10, cmds10 = facts_cmds(ck, b)
    assert stats10['pools'][0]['total_volumes'] == 10
    gone = ck('volume', backend=b, state='absent', volumes=[dict(name=v['name']) for v in small])
    assert gone['changed'] and vg.lvs() == {}

    r = ck('volume', backend=b, volumes=vols)
    assert r['changed'] and not r.get('failed'), r.get('msg')
    assert len(r['volumes']) == N
    assert all(v['action'] == 'create' and v['changed'] for v in r['volumes'])
    # one query before (lvs; vgs too, because the VG is empty), the writes (two lvm
    # processes of N/2 lvcreates each), one query after
    cmds = [c.split()[0] for c in r['commands']]
    assert cmds[:4] == ['lvs', 'vgs', 'lvm', 'lvm'], r['commands']
    assert [c.split('<<')[-1] for c in r['commands'][2:4]] == ['%d lines>>' % (N // 2)] * 2
    requery(cmds[4:])
    reported = dict((v['name'], v['size_bytes']) for v in r['volumes'])
    assert reported == dict((name, spec[1]) for name, spec in want.items())

    lvs = vg.lvs()
    assert sorted(lvs) == sorted(want)
    for name, spec in want.items():
        assert int(lvs[name]['lv_size']) == spec[1], (name, lvs[name])
        assert 'ck.kind=volume' in lvs[name]['lv_tags']

    again = ck('volume', backend=b, volumes=vols)
    assert again['changed'] is False
    assert len(again['volumes']) == N
    assert not [v['name'] for v in again['volumes'] if v['changed'] or v['action'] != 'none']
    assert [c.split()[0] for c in again['commands']] == ['lvs']

    stats, cmds = facts_cmds(ck, b)
    assert stats['pools'][0]['total_volumes'] == N
    assert cmds == cmds10, (cmds, cmds10)

    deleted = ck('volume', backend=b, state='absent', volumes=[dict(name=n) for n in want])
    assert deleted['changed'] and not deleted.get('failed'), deleted.get('msg')
    assert all(v['action'] == 'delete' for v in deleted['volumes'])
    cmds = [c.split()[0].rsplit('/', 1)[-1] for c in deleted['commands']]
    # one LVM report, ONE target query (is any of them exported?), then ONE lvremove naming every LV
    assert cmds[:3] == ['lvs', 'tgtadm', 'lvremove'], deleted['commands']
    assert len(deleted['commands'][2].split()) == 4 + N
    requery(cmds[3:])
    assert vg.lvs() == {}
    assert int(vg.vg()['lv_count']) == 0
