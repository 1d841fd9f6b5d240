# -*- coding: utf-8 -*-
"""Host tier: groups on real LVM metadata (activation off: no device-mapper here).

The records are LVM's own: a group is a VG tag, its members LV tags (LVM makes no
snapshot without device-mapper: group snapshots on LVM are in
tests/integration/vm/test_groups_lvm.py).  Each refusal compares the whole ``lvs``/``vgs``
report (every LV with its tags, the VG's tags) before and after.
"""

from support import run_module


def state(vg):
    tags = vg.lvm(['vgs', '--noheadings', '-o', 'vg_tags', vg.name]).stdout.strip()
    return (vg.lvs(), tags)


def ok(module, **args):
    res = run_module(module, args, check=args.pop('_check', False))
    assert not res.failed, '%s failed: %s' % (module, res.get('msg'))
    return res


def refused(vg, module, *words, **args):
    before = state(vg)
    res = run_module(module, args)
    assert res.failed and not res.changed, res
    for w in words:
        assert w in res['msg'], (w, res['msg'])
    assert state(vg) == before
    return res


def test_groups_in_lvm_tags_and_the_volumes_lvm_does_not_own(loop_vg):
    vg = loop_vg(size_gb=1)
    other = loop_vg(size_gb=0.25)
    b = vg.backend(volume_clear='none')
    ok('volume', backend=b, volumes=[dict(name=n, size='8M') for n in ('m1', 'm2', 'm3')])
    ok('volume', backend=other.backend(), name='theirs', size='8M')
    vg.lvm(['lvcreate', '--yes', '--size', '8m', '--name', 'plainlv', vg.name])   # not ours

    # an empty group is a VG tag; members are LV tags
    ok('group', backend=b, name='db')
    assert 'ck.group=db' in state(vg)[1]
    ok('group', backend=b, name='db', volumes=['m1', 'm2'])
    lvs = vg.lvs()
    assert 'ck.group=db' in lvs['m1']['lv_tags'] and 'ck.group=db' not in lvs['m3']['lv_tags']

    refused(vg, 'group', 'volumes[0]: plainlv exists but is not a volume of this collection',
            backend=b, name='x', volumes=['plainlv'])
    refused(vg, 'group', 'volumes[0]: volume theirs not found on backend', backend=b, name='x',
            volumes=['theirs'])
    refused(vg, 'group', 'volumes[1]: volume m2 is in group db', backend=b, name='x',
            volumes=['m3', 'm2'])
    ok('group', backend=b, name='none')
    refused(vg, 'group_snapshot', "parameter 'group'", 'group none has no volumes',
            backend=b, name='s', group='none')

    # not enough space for every thick member's CoW area: refused before anything is made
    ok('volume', backend=b, name='big', size='600M')
    ok('group', backend=b, name='bigg', volumes=['big', 'm3'])
    refused(vg, 'group_snapshot', 'CoW space', 'Nothing was changed', backend=b, name='t', group='bigg')

    ok('group', backend=b, name='db', state='absent')
    assert 'ck.group=db' not in state(vg)[1]
    assert 'ck.group=db' not in vg.lvs()['m1']['lv_tags'] and 'm1' in vg.lvs()
