# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: volume groups and group snapshots on the ``rbd`` driver (real one-node Ceph).

librbd groups and librbd group snapshots: every data step writes through librbd in the
test process and reads the bytes back (the member snapshots by their snapshot id, as
librbd opens a group namespace snapshot).  Every refusal compares the whole cluster
state (images, snapshots of every namespace, ck.* metadata, groups with their images and
snapshots, the groups' record) before and after.  The consistency proof has a negative
control: the same check catches two separate image snapshots taken while a writer runs.
"""

import struct
import threading
import time

import pytest

from support import pattern, run_module

import rados
import rbd

from ceph_fixtures import MiB

VOLS = ('va', 'vb', 'vc')
RECORD = 'cinderkit.groups'


def ok(module, **args):
    res = run_module(module, args, check=args.pop('_check', False), diff=args.pop('_diff', False))
    assert not res.failed, '%s failed: %s' % (module, res.get('msg'))
    return res


def full_state(ceph):
    """Images (size, every snapshot with its namespace, parent, ck.* metadata), every group
    (its images and snapshots) and the groups' record."""
    out = {}
    with ceph.ioctx() as io:
        for n in ceph.images():
            with rbd.Image(io, n, read_only=True) as im:
                snaps = sorted((s['name'], s.get('namespace', 0)) for s in im.list_snaps())
                meta = sorted((k, v) for k, v in im.metadata_list() if k.startswith('ck.'))
                out['image ' + n] = (im.size(), snaps, ceph.parent(n), meta, im.group()['name'])
        for g in sorted(rbd.RBD().group_list(io)):
            with rbd.Group(io, g) as grp:
                out['group ' + g] = (sorted(i['name'] for i in grp.list_images()),
                                     sorted(s['name'] for s in grp.list_snaps()))
        try:
            with rados.ReadOpCtx() as op:
                it, _ret = io.get_omap_vals(op, '', '', 1000)
                io.operate_read_op(op, RECORD)
                out['record'] = sorted(it)
        except rados.ObjectNotFound:
            out['record'] = None
    return out


def refused(ceph, module, *words, **args):
    """The task fails, says every word, changes nothing and says changed: false."""
    before = full_state(ceph)
    res = run_module(module, dict(args, backend=ceph.backend()))
    assert res.failed and not res.changed, res
    for w in words:
        assert w in res['msg'], (w, res['msg'])
    assert full_state(ceph) == before, 'a refused task changed the cluster'
    return res


def read_snap_id(ceph, image, snap_id, offset, length):
    with ceph.image(image, read_only=True) as im:
        im.set_snap_by_id(snap_id)
        return im.read(offset, length)


@pytest.fixture
def vols(ceph):
    ok('volume', backend=ceph.backend(), volumes=[dict(name=v, size='16M') for v in VOLS])
    for v in VOLS:
        ceph.write(v, pattern(v, 2 * MiB), MiB)
    return ceph


def test_rbd_group_snapshot_clone_revert(vols):
    ceph = vols
    b = ceph.backend()
    # check mode first: the plan, nothing made
    before = full_state(ceph)
    r = ok('group', backend=b, name='g', volumes=list(VOLS[:2]), _check=True, _diff=True)
    assert r['changed'] and r['group']['action'] == 'create' and r['group']['volumes'] == list(VOLS[:2])
    assert full_state(ceph) == before
    r = ok('group', backend=b, name='g', volumes=list(VOLS[:2]))
    assert r['changed'] and r['group']['volumes'] == list(VOLS[:2])
    with ceph.ioctx() as io, rbd.Group(io, 'g') as grp:
        assert sorted(i['name'] for i in grp.list_images()) == list(VOLS[:2])
    assert not ok('group', backend=b, name='g', volumes=list(VOLS[:2]))['changed']
    # membership converges: add vc (check mode first), then out and in again
    before = full_state(ceph)
    r = ok('group', backend=b, name='g', volumes=list(VOLS), _check=True)
    assert r['changed'] and r['group']['added'] == ['vc'] and full_state(ceph) == before
    r = ok('group', backend=b, name='g', volumes=list(VOLS))
    assert r['group']['added'] == ['vc'] and r['group']['volumes'] == list(VOLS)
    r = ok('group', backend=b, name='g', volumes=['va', 'vb'])
    assert r['group']['removed'] == ['vc'] and ceph.meta('vc')['ck.kind'] == 'volume'
    with ceph.image('vc', read_only=True) as im:
        assert im.group()['name'] == ''
    ok('group', backend=b, name='g', volumes=list(VOLS))
    assert not ok('group', backend=b, name='g', volumes=list(VOLS))['changed']
    assert not ok('group', backend=b, name='g')['changed']

    # the group snapshot: check mode, then real, then idempotent
    before = full_state(ceph)
    want = dict((v, 'gs-%s' % v) for v in VOLS)
    r = ok('group_snapshot', backend=b, name='gs', group='g', _check=True, _diff=True)
    assert r['changed'] and r['group_snapshot']['snapshots'] == want
    assert full_state(ceph) == before
    r = ok('group_snapshot', backend=b, name='gs', group='g')
    assert r['changed'] and r['group_snapshot']['snapshots'] == want and r['group_snapshot']['group'] == 'g'
    with ceph.ioctx() as io, rbd.Group(io, 'g') as grp:
        assert [s['name'] for s in grp.list_snaps()] == ['gs']
    assert not ok('group_snapshot', backend=b, name='gs', group='g')['changed']
    assert not ok('group', backend=b, name='g', volumes=list(VOLS))['changed']

    # the member snapshots are ordinary snapshots of the snapshot module
    s = ok('snapshot', backend=b, name='gs-va')['snapshot']
    assert s['volume'] == 'va' and s['group_snapshot'] == 'gs' and s['rbd_snap_namespace'] == 'group'
    assert read_snap_id(ceph, 'va', s['rbd_snap_id'], MiB, 2 * MiB) == pattern('va', 2 * MiB)
    assert not ok('snapshot', backend=b, volume='va', name='gs-va')['changed']
    refused(ceph, 'snapshot', 'member of group snapshot gs', name='gs-va', state='absent')
    refused(ceph, 'volume', 'has snapshots (gs-vb)', name='vb', state='absent')
    refused(ceph, 'group', 'would leave group snapshots', name='g', volumes=['va', 'vb'])

    # the volumes move on after the snapshot
    for v in VOLS:
        ceph.write(v, pattern(v + '-new', 2 * MiB), MiB)
    ok('extend', backend=b, name='vc', size='32M')
    ceph.write('vc', pattern('vc-tail', MiB), 20 * MiB)

    # a volume from a member snapshot (a full copy of the snapshot, opened by id)
    r = ok('volume', backend=b, name='from-member', size='24M', source=dict(snapshot='gs-vb'))
    assert r['volume']['size_bytes'] == 24 * MiB and r['volume']['parent'] is None
    assert ceph.read('from-member', MiB, 2 * MiB) == pattern('vb', 2 * MiB)
    assert ceph.read('from-member', 16 * MiB, 8 * MiB) == b'\0' * 8 * MiB
    assert ceph.meta('from-member') == {'ck.kind': 'volume', 'ck.src': 'snapshot:gs-vb'}
    assert not ok('volume', backend=b, name='from-member', source=dict(snapshot='gs-vb'))['changed']

    # a group from the group snapshot: the snapshot's bytes in every new member
    before = full_state(ceph)
    r = ok('group', backend=b, name='copy', source=dict(group_snapshot='gs'), _check=True)
    assert r['changed'] and r['group']['volumes'] == ['copy-%s' % v for v in VOLS]
    assert full_state(ceph) == before
    r = ok('group', backend=b, name='copy', source=dict(group_snapshot='gs'))
    assert r['group']['volumes'] == ['copy-%s' % v for v in VOLS], r
    for v in VOLS:
        assert ceph.read('copy-%s' % v, MiB, 2 * MiB) == pattern(v, 2 * MiB), v
    assert not ok('group', backend=b, name='copy', source=dict(group_snapshot='gs'))['changed']
    # a group from a group: clones of the members as they are now
    r = ok('group', backend=b, name='twin', source=dict(group='g'))
    assert r['group']['volumes'] == ['twin-%s' % v for v in VOLS]
    for v in VOLS:
        assert ceph.read('twin-%s' % v, MiB, 2 * MiB) == pattern(v + '-new', 2 * MiB), v
    assert ceph.read('twin-vc', 20 * MiB, MiB) == pattern('vc-tail', MiB)

    # revert: check mode changes nothing, then every member has the snapshot's bytes
    before = full_state(ceph)
    r = ok('group_snapshot', backend=b, name='gs', state='reverted', _check=True, _diff=True)
    assert r['changed'] and r['diff']['after']['gs']['content']['va'] == 'data of snapshot gs-va'
    assert full_state(ceph) == before
    r = ok('group_snapshot', backend=b, name='gs', state='reverted')
    assert r['changed'] and r['group_snapshot']['action'] == 'revert'
    for v in VOLS:
        assert ceph.read(v, MiB, 2 * MiB) == pattern(v, 2 * MiB), v
    assert ceph.size('vc') == 32 * MiB          # the volume keeps its size (as a single revert)
    assert ceph.read('vc', 16 * MiB, 16 * MiB) == b'\0' * 16 * MiB
    # the copies are untouched by the revert
    assert ceph.read('twin-va', MiB, 2 * MiB) == pattern('va-new', 2 * MiB)

    # a single member cannot revert alone (librbd rolls a group snapshot back whole)
    # (refused when planned: check mode says so too, and nothing changes)
    before = full_state(ceph)
    for check in (True, False):
        r = run_module('snapshot', dict(backend=b, volume='va', name='gs-va', state='reverted'),
                       check=check)
        assert r.failed and not r.changed and 'revert the group snapshot' in r['msg'], (check, r)
    assert full_state(ceph) == before

    # delete: the group snapshot, then the group with delete_volumes false keeps the volumes
    before = full_state(ceph)
    r = ok('group_snapshot', backend=b, name='gs', state='absent', _check=True)
    assert r['changed'] and full_state(ceph) == before
    assert ok('group_snapshot', backend=b, name='gs', state='absent')['changed']
    assert not ok('group_snapshot', backend=b, name='gs', state='absent')['changed']
    assert all(s[1] == 0 for v in VOLS for s in full_state(ceph)['image ' + v][1])
    r = ok('group', backend=b, name='g', state='absent')
    assert r['changed'] and r['group']['volumes_deleted'] == []
    for v in VOLS:
        assert ceph.meta(v)['ck.kind'] == 'volume' and ceph.read(v, MiB, 2 * MiB) == pattern(v, 2 * MiB)
    with ceph.ioctx() as io:
        assert 'g' not in rbd.RBD().group_list(io)
    assert not ok('group', backend=b, name='g', state='absent')['changed']
    # delete_volumes: the members go with the group (clones and all)
    r = ok('group', backend=b, name='copy', state='absent', delete_volumes=True)
    assert sorted(r['group']['volumes_deleted']) == ['copy-%s' % v for v in VOLS]
    assert not [n for n in ceph.images() if n.startswith('copy-')]


def test_rbd_group_refusals_and_foreign(vols):
    ceph = vols
    b = ceph.backend()
    ok('group', backend=b, name='g', volumes=['va', 'vb'])
    # a foreign group (made with librbd, not by cinderkit) holding a foreign image and vc
    with ceph.ioctx() as io:
        rbd.RBD().create(io, 'theirs-img', 8 * MiB, old_format=False)
        rbd.RBD().group_create(io, 'theirs')
        with rbd.Group(io, 'theirs') as grp:
            grp.add_image(io, 'theirs-img')
            grp.add_image(io, 'vc')
    r = ok('volume', backend=b, name='va')           # the driver still reads every image
    assert r['volume']['rbd_group'] == 'g'
    refused(ceph, 'group', 'not made by cinderkit', name='theirs', volumes=['theirs-img'])
    refused(ceph, 'group', 'not made by cinderkit', name='theirs', state='absent')
    refused(ceph, 'group', 'in group theirs, which cinderkit did not make', name='g',
            volumes=['va', 'vb', 'vc'])
    refused(ceph, 'group_snapshot', 'not made by cinderkit', name='their-snap', group='theirs')
    refused(ceph, 'volume', 'in group theirs, which cinderkit did not make', name='vc', state='absent')
    with ceph.ioctx() as io, rbd.Group(io, 'theirs') as grp:
        assert sorted(i['name'] for i in grp.list_images()) == ['theirs-img', 'vc']

    # bad input names the parameter and changes nothing
    refused(ceph, 'group', "parameter 'volumes'", 'not found', name='g2', volumes=['nope'])
    refused(ceph, 'group', "parameter 'volumes'", 'listed twice', name='g2', volumes=['va', 'va'])
    refused(ceph, 'group', "parameter 'name'", name='bad/name')
    refused(ceph, 'group', "parameter 'source'", name='g2', source=dict(group='g', group_snapshot='x'))
    refused(ceph, 'group', "parameter 'source.group_snapshot'", name='g2', source=dict(group_snapshot='x'))
    refused(ceph, 'group_snapshot', "parameter 'group'", 'not found', name='gsx', group='nope')
    refused(ceph, 'group_snapshot', "parameter 'name'", 'not found', name='nope', state='reverted')

    # a group snapshot of our group that cinderkit did not make: left alone, and the group stays
    with ceph.ioctx() as io, rbd.Group(io, 'g') as grp:
        grp.create_snap('by-hand')
    refused(ceph, 'group_snapshot', 'not made by cinderkit', name='by-hand', state='absent')
    refused(ceph, 'group_snapshot', 'not made by cinderkit', name='by-hand', state='reverted')
    refused(ceph, 'group', 'has group snapshots (by-hand)', name='g', state='absent')
    with ceph.ioctx() as io, rbd.Group(io, 'g') as grp:
        grp.remove_snap('by-hand')

    # revert refused while a member is in use, naming the holder; force is the way through
    ok('group_snapshot', backend=b, name='gs', group='g')
    ceph.write('va', pattern('later', MiB), MiB)
    with ceph.image('vb') as held:
        held.write(b'x' * 4096, 0)           # an open image with its watch: the holder
        with ceph.image('vb', read_only=True) as im:
            addrs = [w['addr'] for w in im.watchers_list()]
        assert addrs
        r = refused(ceph, 'group_snapshot', 'member volume vb is open', 'watched by', addrs[0],
                    name='gs', state='reverted')
        assert ceph.read('va', MiB, MiB) == pattern('later', MiB)
    # control: with the holder gone the same task reverts
    assert ok('group_snapshot', backend=b, name='gs', state='reverted')['changed']
    assert ceph.read('va', MiB, MiB) == pattern('va', MiB)
    ok('group_snapshot', backend=b, name='gs', state='absent')
    ok('group', backend=b, name='g', state='absent')


def _counter(data):
    return struct.unpack('<Q', data[:8])[0]


class Writer(object):
    """Writes a counter to va, waits for it to complete, then the same counter to vb: in
    any crash-consistent cut vb's counter is at most va's."""

    def __init__(self, ceph):
        self.ceph = ceph
        self.stop = threading.Event()
        self.count = 0
        self.error = None
        self.thread = threading.Thread(target=self.run)

    def run(self):
        try:
            with self.ceph.ioctx() as io, rbd.Image(io, 'va') as a, rbd.Image(io, 'vb') as b:
                while not self.stop.is_set():
                    self.count += 1
                    block = struct.pack('<Q', self.count) * 512
                    a.write(block, 0)
                    b.write(block, 0)
        except Exception as exc:  # reported by the test
            self.error = exc

    def __enter__(self):
        self.thread.start()
        while self.count < 50:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)
        assert self.error is None, self.error


def test_rbd_group_snapshot_crash_consistent(vols):
    ceph = vols
    b = ceph.backend()
    ok('group', backend=b, name='g', volumes=['va', 'vb'])
    with Writer(ceph) as w:
        # negative control: two separate image snapshots with the writer going between them
        with ceph.image('va') as im:
            im.create_snap('ctl')
        start = w.count
        while w.count < start + 50:
            time.sleep(0.01)
        with ceph.image('vb') as im:
            im.create_snap('ctl')
        ctl_a = _counter(ceph.read('va', 0, 4096, snapshot='ctl'))
        ctl_b = _counter(ceph.read('vb', 0, 4096, snapshot='ctl'))
        assert ctl_b > ctl_a, 'the check must catch a cut that is not consistent (%d, %d)' % (ctl_a, ctl_b)
        # librbd's group snapshot under the same writer
        r = ok('group_snapshot', backend=b, name='cut', group='g')
        at = w.count
    assert at > start
    snaps = dict((v, ok('snapshot', backend=b, name=s)['snapshot']['rbd_snap_id'])
                 for v, s in r['group_snapshot']['snapshots'].items())
    cut_a = _counter(read_snap_id(ceph, 'va', snaps['va'], 0, 4096))
    cut_b = _counter(read_snap_id(ceph, 'vb', snaps['vb'], 0, 4096))
    assert 0 < cut_b <= cut_a <= cut_b + 1, (cut_a, cut_b)
    for v in ('va', 'vb'):
        with ceph.image(v) as im:
            im.remove_snap('ctl')
