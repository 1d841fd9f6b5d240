# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: the volume/snapshot/extend modules on a real one-node Ceph cluster.

The same tasks as on LVM, with ``volume_driver: rbd``.  Every data step is
checked by reading the image through librbd in the test process.
"""

from support import pattern

from ceph_fixtures import MiB


def ok(r):
    assert not r.get('failed'), r
    return r


def test_full_lifecycle(ck, ceph):
    b = ceph.backend()
    p1, p2 = pattern(1, 4 * MiB), pattern(2, 4 * MiB)

    r = ok(ck('volume', backend=b, name='db01', size='64M'))
    v = r['volume']
    assert r['changed'] and v['action'] == 'create'
    assert v['size_bytes'] == 64 * MiB == ceph.size('db01')
    assert v['provisioning'] == 'thin' and v['provider_location'] == '%s/db01' % ceph.pool
    assert ceph.meta('db01')['ck.kind'] == 'volume'
    assert ceph.allocated('db01') == 0          # thin: nothing written yet
    # librbd calls run no command: ``writes`` says what the task did
    assert r['commands'] == [] and any('db01' in w for w in r['writes']), r

    before = ceph.state()
    again = ok(ck('volume', backend=b, name='db01', size='64M'))
    assert again['changed'] is False and again['volume']['action'] == 'none'
    assert again['commands'] == [] and 'writes' not in again   # librbd only, and nothing done
    assert ceph.state() == before

    ceph.write('db01', p1, 8 * MiB)
    s = ok(ck('snapshot', backend=b, volume='db01', name='nightly'))
    assert s['changed'] and s['snapshot']['size_bytes'] == 64 * MiB
    assert 'nightly' in ceph.snaps('db01')
    assert ceph.read('db01', 8 * MiB, 4 * MiB, snapshot='nightly') == p1
    assert ok(ck('snapshot', backend=b, volume='db01', name='nightly'))['changed'] is False

    ceph.write('db01', p2, 8 * MiB)              # the volume moves on
    c = ok(ck('volume', backend=b, name='db01-clone', source={'volume': 'db01'}))
    assert c['volume']['parent'] == '%s/db01@db01-clone.clone_snap' % ceph.pool
    assert c['volume']['source'] == {'volume': 'db01'}
    assert ceph.read('db01-clone', 8 * MiB, 4 * MiB) == p2
    assert ceph.meta('db01-clone') == {'ck.kind': 'volume', 'ck.src': 'volume:db01'}

    f = ok(ck('volume', backend=b, name='db01-restore', size='96M', source={'snapshot': 'nightly'}))
    assert f['volume']['size_bytes'] == 96 * MiB == ceph.size('db01-restore')
    assert ceph.read('db01-restore', 8 * MiB, 4 * MiB) == p1
    assert ceph.read('db01-restore', 64 * MiB, 32 * MiB) == b'\0' * 32 * MiB
    assert f['volume']['parent'] == '%s/db01@nightly' % ceph.pool
    # the clone inherited no ownership keys of its parent (snapshots stay the parent's)
    assert not [k for k in ceph.meta('db01-restore') if k.startswith('ck.snap.')]

    e = ok(ck('extend', backend=b, name='db01', size='128M'))
    assert e['changed'] and e['online'] is True and e['volume']['size_bytes'] == 128 * MiB
    assert ceph.size('db01') == 128 * MiB and ceph.read('db01', 8 * MiB, 4 * MiB) == p2
    assert ok(ck('extend', backend=b, name='db01', size='128M'))['changed'] is False

    ceph.write('db01', p2, 100 * MiB)            # data past the snapshot's size
    rv = ok(ck('snapshot', backend=b, volume='db01', name='nightly', state='reverted'))
    assert rv['changed'] and rv['snapshot']['action'] == 'revert'
    assert ceph.size('db01') == 128 * MiB        # the volume keeps its size (as on LVM)
    assert ceph.read('db01', 8 * MiB, 4 * MiB) == p1
    assert ceph.read('db01', 64 * MiB, 64 * MiB) == b'\0' * 64 * MiB
    assert 'nightly' in ceph.snaps('db01')       # the snapshot is kept
    assert ceph.read('db01-clone', 8 * MiB, 4 * MiB) == p2   # dependants untouched
    assert ceph.read('db01-restore', 8 * MiB, 4 * MiB) == p1

    # delete in the right order; each wrong step is refused and changes nothing
    st = ceph.state()
    r = ck('volume', backend=b, name='db01', state='absent')
    assert r.get('failed') and 'has snapshots (nightly)' in r['msg'], r
    r = ck('snapshot', backend=b, name='nightly', state='absent')
    assert r.get('failed') and 'dependent volume(s) (%s/db01-restore)' % ceph.pool in r['msg'], r
    assert ceph.state() == st
    assert ok(ck('volume', backend=b, name='db01-restore', state='absent'))['changed']
    assert ok(ck('snapshot', backend=b, name='nightly', state='absent'))['changed']
    assert 'nightly' not in ceph.snaps('db01')
    st = ceph.state()
    r = ck('volume', backend=b, name='db01', state='absent')
    assert r.get('failed') and 'dependent clone(s) (%s/db01-clone)' % ceph.pool in r['msg'], r
    assert ceph.state() == st
    assert ok(ck('volume', backend=b, name='db01-clone', state='absent'))['changed']
    assert ceph.snaps('db01') == []              # the clone's .clone_snap went with it
    assert ok(ck('volume', backend=b, name='db01', state='absent'))['changed']
    assert ceph.images() == []
    assert ok(ck('volume', backend=b, name='db01', state='absent'))['changed'] is False


def test_bulk_and_check_mode(ck, play, ceph):
    b = ceph.backend()
    res = play.run([{'cinderkit.storage.volume': {'backend': b, 'volumes': [
        {'name': 'w%02d' % i, 'size': '16M'} for i in range(6)]}}], check=True, diff=True)
    assert res[0]['changed'] and [v['action'] for v in res[0]['volumes']] == ['create'] * 6
    assert ceph.images() == []
    r = ok(ck('volume', backend=b, volumes=[{'name': 'w%02d' % i, 'size': '16M'} for i in range(6)]))
    assert r['changed'] and ceph.images() == ['w%02d' % i for i in range(6)]
    r = ok(ck('volume', backend=b, volumes=[{'name': 'w00', 'size': '32M'},
                                            {'name': 'w01', 'state': 'absent'},
                                            {'name': 'w02', 'size': '16M'}]))
    assert [v['action'] for v in r['volumes']] == ['extend', 'delete', 'none']
    assert ceph.size('w00') == 32 * MiB and 'w01' not in ceph.images()
    # RBD allocates any whole MiB (no extent rounding)
    r = ok(ck('volume', backend=b, name='odd', size='13M'))
    assert r['volume']['size_bytes'] == 13 * MiB == ceph.size('odd')


def test_check_mode_snapshot_extend_revert(play, ck, ceph):
    b = ceph.backend()
    ok(ck('volume', backend=b, name='cm', size='32M'))
    ok(ck('snapshot', backend=b, volume='cm', name='cm-s'))
    st = ceph.state()
    res = play.run([
        {'cinderkit.storage.extend': {'backend': b, 'name': 'cm', 'size': '64M'}},
        {'cinderkit.storage.snapshot': {'backend': b, 'volume': 'cm', 'name': 'cm-s2'}},
        {'cinderkit.storage.snapshot': {'backend': b, 'volume': 'cm', 'name': 'cm-s', 'state': 'reverted'}},
        {'cinderkit.storage.volume': {'backend': b, 'name': 'cm-c', 'source': {'volume': 'cm'}}},
    ], check=True)
    assert [r['changed'] for r in res] == [True, True, True, True]
    assert res[0]['volume']['size_bytes'] == 64 * MiB
    assert ceph.state() == st


def test_clone_depth_overflow_is_flattened(ck, ceph):
    """rbd_max_clone_depth: a clone that would exceed it is flattened (Cinder)."""
    b = ceph.backend(rbd_max_clone_depth=2)
    data = pattern(7, 2 * MiB)
    ok(ck('volume', backend=b, name='gen0', size='32M'))
    ceph.write('gen0', data, 4 * MiB)
    r1 = ok(ck('volume', backend=b, name='gen1', source={'volume': 'gen0'}))
    r2 = ok(ck('volume', backend=b, name='gen2', source={'volume': 'gen1'}))
    assert (r1['volume']['clone_depth'], r2['volume']['clone_depth']) == (1, 2)
    r3 = ok(ck('volume', backend=b, name='gen3', source={'volume': 'gen2'}))
    assert r3['volume']['parent'] is None and r3['volume']['clone_depth'] == 0
    assert ceph.parent('gen3') is None
    assert 'gen3.clone_snap' not in ceph.snaps('gen2')     # temporary snapshot dropped
    for n in ('gen1', 'gen2', 'gen3'):
        assert ceph.read(n, 4 * MiB, 2 * MiB) == data, n
    # a flattened clone does not hold its source: delete the source first
    assert ok(ck('volume', backend=b, name='gen2', state='absent'))['changed']
    assert ceph.snaps('gen1') == []                     # gen2's clone snapshot went with it
    assert ceph.read('gen3', 4 * MiB, 2 * MiB) == data
    # rbd_max_clone_depth: 0 disables cloning: every clone is a full (sparse) copy
    b0 = ceph.backend(rbd_max_clone_depth=0)
    r = ok(ck('volume', backend=b0, name='copy0', source={'volume': 'gen0'}))
    assert r['volume']['parent'] is None and ceph.snaps('gen0') == ['gen1.clone_snap']
    assert ceph.read('copy0', 4 * MiB, 2 * MiB) == data
    assert ceph.allocated('copy0') <= 8 * MiB   # holes not copied (object granularity)


def test_flatten_volume_from_snapshot_option(ck, ceph):
    b = ceph.backend(rbd_flatten_volume_from_snapshot=True)
    ok(ck('volume', backend=b, name='fv', size='16M'))
    ceph.write('fv', b'x' * MiB)
    ok(ck('snapshot', backend=b, volume='fv', name='fv-s'))
    r = ok(ck('volume', backend=b, name='fv-r', source={'snapshot': 'fv-s'}))
    assert r['volume']['parent'] is None and ceph.read('fv-r', 0, MiB) == b'x' * MiB
    # nothing depends on the snapshot: it goes without any option
    assert ok(ck('snapshot', backend=b, name='fv-s', state='absent'))['changed']


def test_flatten_on_delete_option(ck, ceph):
    b = ceph.backend()
    data = pattern(11, MiB)
    ok(ck('volume', backend=b, name='base', size='16M'))
    ceph.write('base', data)
    ok(ck('snapshot', backend=b, volume='base', name='base-s'))
    ok(ck('volume', backend=b, name='from-s', source={'snapshot': 'base-s'}))
    ok(ck('volume', backend=b, name='clone', source={'volume': 'base'}))
    fb = ceph.backend(rbd_flatten_on_delete=True)
    assert ok(ck('snapshot', backend=fb, name='base-s', state='absent'))['changed']
    assert ceph.parent('from-s') is None and ceph.read('from-s', 0, MiB) == data
    assert ok(ck('volume', backend=fb, name='base', state='absent'))['changed']
    assert ceph.images() == ['clone', 'from-s']
    assert ceph.parent('clone') is None and ceph.read('clone', 0, MiB) == data


def test_unmanaged_images_are_left_alone(ck, ceph):
    with ceph.ioctx() as io:
        import rbd
        rbd.RBD().create(io, 'foreign', 8 * MiB, old_format=False)
    b = ceph.backend()
    st = ceph.state()
    r = ck('volume', backend=b, name='foreign', state='absent')
    assert r.get('failed') and 'not managed by cinderkit' in r['msg'], r
    r = ck('volume', backend=b, name='foreign', size='8M')
    assert r.get('failed') and 'taken' in r['msg'], r
    r = ck('snapshot', backend=b, volume='foreign', name='fs')
    assert r.get('failed') and 'not managed by cinderkit' in r['msg'], r
    assert ceph.state() == st
