# -*- coding: utf-8 -*-
"""VM tier: manage_existing where LVM needs device-mapper: thin pools, open LVs, snapshots.

LVs are made with plain lvcreate (thin pool, thin volume and its thin snapshot, a thick
volume and its CoW snapshot, an LV held open), then listed, refused or adopted; every
outcome is checked against lvs, and the data of an adopted volume is read back.
"""

import json
import os

import pytest

from support import LoopVG, pattern, run_module

MiB = 1024 ** 2


@pytest.fixture(scope='module')
def vg():
    v = LoopVG(size_gb=2, activation=True)
    yield v
    v.close()


def ok(module, **args):
    res = run_module(module, args)
    assert not res.failed, '%s failed: %s' % (module, json.dumps(res, default=str)[-3000:])
    return res


def refused(module, words, **args):
    res = run_module(module, args)
    assert res.failed, res
    for w in words:
        assert w in res['msg'], (w, res['msg'])
    return res


def tags(vg, name):
    return sorted(t for t in vg.lvs()[name]['lv_tags'].split(',') if t)


def test_thin_pool_open_lv_and_snapshots(vg):
    b = vg.backend(lvm_type='default')
    lv = vg.lvm
    lv(['lvcreate', '--yes', '--type', 'thin-pool', '-L', '256m', '-n', 'tpool', vg.name])
    lv(['lvcreate', '--yes', '-V', '64m', '-T', '%s/tpool' % vg.name, '-n', 'thin-legacy'])
    lv(['lvcreate', '--yes', '-s', '-n', 'thin-snap', '%s/thin-legacy' % vg.name])
    lv(['lvcreate', '--yes', '-L', '64m', '-n', 'thick-legacy', vg.name])
    data = pattern(31, 4 * MiB)
    with open('/dev/%s/thick-legacy' % vg.name, 'r+b', buffering=0) as fh:
        fh.write(data)
        os.fsync(fh.fileno())
    lv(['lvcreate', '--yes', '-s', '-L', '32m', '-n', 'thick-snap', '%s/thick-legacy' % vg.name])
    lv(['lvcreate', '--yes', '-L', '64m', '-n', 'busy-legacy', vg.name])

    busy = os.open('/dev/%s/busy-legacy' % vg.name, os.O_RDONLY)   # an open LV, as a mount would
    try:
        vols = ok('manage_existing', backend=b, state='listed')['manageable']
        snaps = ok('manage_existing', backend=b, state='listed', kind='snapshot')['manageable']
        v = dict((e['reference']['source-name'], e) for e in vols)
        s = dict((e['reference']['source-name'], e) for e in snaps)
        # every LV exactly once: snapshots in one listing, the rest (pool included) in the other
        assert sorted(v) == ['busy-legacy', 'thick-legacy', 'thin-legacy', 'tpool']
        assert sorted(s) == ['thick-snap', 'thin-snap']
        assert set(v) | set(s) == set(n for n in vg.lvs() if not n.startswith('['))
        assert (v['tpool']['safe_to_manage'], v['tpool']['reason_not_safe']) == (False, 'thin pool')
        assert (v['busy-legacy']['safe_to_manage'], v['busy-legacy']['reason_not_safe']) == (
            False, 'volume in use')
        assert v['thick-legacy']['safe_to_manage'] and v['thin-legacy']['safe_to_manage']
        assert s['thick-snap']['source_reference'] == {'source-name': 'thick-legacy'}
        assert s['thin-snap']['source_reference'] == {'source-name': 'thin-legacy'}
        # a snapshot's size is its volume's (64 MiB -> 1 GiB), not its CoW area
        assert s['thick-snap']['size'] == 1 and s['thick-snap']['safe_to_manage']

        before = vg.lvs()
        refused('manage_existing', ['thin pool', 'never safe'], backend=b, source_name='tpool',
                name='pool-vol', force=True)
        refused('manage_existing', ['volume in use', 'force'], backend=b,
                source_name='busy-legacy', name='busy')
        assert vg.lvs() == before
        r = ok('manage_existing', backend=b, source_name='busy-legacy', rename=False, force=True)
        assert r['volume']['forced'] == 'volume in use', r
        assert tags(vg, 'busy-legacy') == ['ck.kind=volume']
    finally:
        os.close(busy)
    assert ok('manage_existing', backend=b, name='busy-legacy', state='unmanaged')['changed']

    # a snapshot waits for its volume
    refused('manage_existing', ['not managed', 'adopt the volume first'], backend=b,
            kind='snapshot', source_name='thick-snap', name='snap-a')
    refused('manage_existing', ['a snapshot', 'kind: snapshot'], backend=b,
            source_name='thick-snap', name='vol-x')

    # thick volume renamed, its CoW snapshot renamed to a name LVM reserves (escaped)
    r = ok('manage_existing', backend=b, source_name='thick-legacy', name='thick-vol')
    assert r['volume']['size_gb'] == 1 and r['volume']['size_bytes'] == 64 * MiB
    r = ok('manage_existing', backend=b, kind='snapshot', source_name='thick-snap',
           name='snapshot-1')
    sn = r['snapshot']
    assert sn['name'] == 'snapshot-1' and sn['volume'] == 'thick-vol' and sn['size_gb'] == 1
    lvs = vg.lvs()
    assert lvs['_snapshot-1']['origin'] == 'thick-vol' and 'thick-snap' not in lvs
    assert tags(vg, '_snapshot-1') == ['ck.kind=snapshot']
    assert not ok('manage_existing', backend=b, kind='snapshot', source_name='thick-snap',
                  name='snapshot-1')['changed']
    # the snapshot module owns it now; the volume module sees its snapshot
    assert ok('snapshot', backend=b, name='snapshot-1', volume='thick-vol')['changed'] is False
    assert ok('volume', backend=b, name='thick-vol', size='64M')['volume']['snapshots'] == [
        'snapshot-1']
    with open('/dev/%s/thick-vol' % vg.name, 'rb', buffering=0) as fh:
        assert fh.read(len(data)) == data

    # thin volume and its thin snapshot adopted in place
    assert ok('manage_existing', backend=b, source_name='thin-legacy', rename=False)['changed']
    r = ok('manage_existing', backend=b, kind='snapshot', source_name='thin-snap', rename=False)
    assert r['snapshot']['name'] == 'thin-snap' and r['snapshot']['volume'] == 'thin-legacy'
    assert tags(vg, 'thin-snap') == ['ck.kind=snapshot']

    # release: a volume with managed snapshots first needs its snapshots released
    refused('manage_existing', ['managed snapshots', 'snapshot-1'], backend=b, name='thick-vol',
            state='unmanaged')
    r = ok('manage_existing', backend=b, kind='snapshot', name='snapshot-1', state='unmanaged')
    assert r['changed'] and tags(vg, '_snapshot-1') == []
    assert ok('manage_existing', backend=b, name='thick-vol', state='unmanaged')['changed']
    assert tags(vg, 'thick-vol') == [] and vg.lvs()['_snapshot-1']['origin'] == 'thick-vol'
    listed = ok('manage_existing', backend=b, state='listed', kind='snapshot')['manageable']
    assert dict((e['reference']['source-name'], e['reason_not_safe']) for e in listed) == {
        '_snapshot-1': None, 'thin-snap': 'already managed'}
