# -*- coding: utf-8 -*-
"""VM tier: crash-consistent LVM group snapshots on a real kernel, thick and thin.

**The consistency proof.**  A writer process runs without pause while the group snapshot is
taken: it writes a 512-byte record carrying an increasing sequence number to the first member
(O_DIRECT, fdatasync, a fixed offset), then the same number to the second, and so on.  A
write to the second is issued only after the write to the first completed, so in any
crash-consistent cut the second holds the first's number or one less:
``seq_first - 1 <= seq_second <= seq_first``.  The thin case writes the members in the
reverse of the order the driver suspends them (a second thick group), so the proof does not
rest on the order.

Active thin members get CoW snapshots under the same suspend: LVM cannot make a thin
snapshot of an origin that is held suspended (measured: it skips the thin pool's message and
the pool's transaction id falls out of step).  The same writer checks them, and the pool's
transaction id (LVM's and the kernel's) is compared after.

**The negative control.**  The same writer, the snapshots taken one volume at a time (the
snapshot module twice): the invariant must break at least once in NEG_TRIES tries, which
shows the check can fail.

Also here: a group from the group snapshot and from the group (every member present, sha256
of each device equal to its source), a revert of all members (bytes), and the revert refused
while a member is exported (a real tgtd) or held open, without ``force``.
"""

import hashlib
import os
import struct
import subprocess
import sys
import time

import pytest

from conftest import MiB, mod, ok, read_at, write_at
from export_support import GOOD_IQN, TgtDaemon
from support import LoopVG, pattern

SIZE = 16 * MiB
TRIES = 2           # group snapshots taken under the writer, each checked
NEG_TRIES = 5       # single snapshots, one volume at a time: at least one must break it
MAGIC = 0x636b67727073657a

WRITER = r'''
import mmap, os, struct, sys
fds = [os.open(p, os.O_WRONLY | os.O_DIRECT) for p in sys.argv[1:]]
buf = mmap.mmap(-1, 512)                 # page-aligned, as O_DIRECT wants
seq = 0
while True:
    seq += 1
    buf.seek(0)
    buf.write(struct.pack('<QQ', %d, seq) + b'\0' * 496)
    for fd in fds:                       # member 1, then member 2: each write completes first
        os.pwrite(fd, buf, 0)
        os.fdatasync(fd)
    if seq == 1:
        print('go', flush=True)
''' % MAGIC


@pytest.fixture(scope='module')
def vg():
    """One small VG with a thin pool: thick volumes beside thin ones."""
    vg = LoopVG(size_gb=1.5, activation=True)
    vg.lvm(['lvcreate', '--yes', '--thin', '--size', '320m', '%s/%s-pool' % (vg.name, vg.name)])
    yield vg
    vg.close()


def dev(vg, name):
    return '/dev/%s/%s' % (vg.name, name)


def seq_of(path):
    magic, seq = struct.unpack('<QQ', read_at(path, 0, 512)[:16])
    return seq if magic == MAGIC else 0


def readable(vg, lv):
    """The device of an LV, activated first when it has none (a thin snapshot skips activation)."""
    if not os.path.exists(dev(vg, lv)):
        vg.lvm(['lvchange', '--activate', 'y', '--ignoreactivationskip', '%s/%s' % (vg.name, lv)])
    return dev(vg, lv)


def records(vg):
    """Every LV with its size, origin and tags (what the driver reads; not the open flag)."""
    return dict((n, (r['lv_size'], r['origin'], r['lv_tags'])) for n, r in vg.lvs().items())


def activate(vg, names, on):
    for n in names:
        vg.lvm(['lvchange', '--activate', 'y' if on else 'n', '%s/%s' % (vg.name, n)])
    if on and not all(os.path.exists(dev(vg, n)) for n in names):
        vg.lvm(['vgmknodes', vg.name])          # udev is off in this VG's LVM config
    if on:
        missing = [n for n in names if not os.path.exists(dev(vg, n))]
        assert not missing, ('no device node for %s after activation: %s' % (
            missing, vg.lvm(['lvs', '-a', '-o', 'lv_name,lv_attr,origin', vg.name]).stdout))


def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as fh:
        for chunk in iter(lambda: fh.read(4 * MiB), b''):
            h.update(chunk)
    return h.hexdigest()


def start_writer(paths):
    proc = subprocess.Popen([sys.executable, '-c', WRITER] + list(paths), stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b'go', 'the writer did not start'
    return proc


def stop(proc):
    proc.kill()
    proc.wait()


def in_order(seq_first, seq_second):
    return seq_first - 1 <= seq_second <= seq_first


@pytest.mark.parametrize('kind', ['thick', 'rthick'])
def test_group_snapshot_is_crash_consistent_and_single_snapshots_are_not(vg, kind):
    b = vg.backend(lvm_type='default', volume_clear='none')
    a, z = '%s-a' % kind, '%s-z' % kind
    ok('volume', backend=b, volumes=[dict(name=a, size='16M'), dict(name=z, size='16M')])
    ok('group', backend=b, name='%s-g' % kind, volumes=[a, z])
    # thick: written a then z (the suspend order); rthick: z then a (the reverse)
    first, second = (a, z) if kind == 'thick' else (z, a)
    writer = start_writer([dev(vg, first), dev(vg, second)])
    # the reverse order takes one group snapshot; the negative control runs once, on thick
    # (the same check; time budget)
    tries = TRIES if kind == 'thick' else 1
    try:
        for i in range(tries):
            name = '%s-gs%d' % (kind, i)
            r = ok('group_snapshot', backend=b, name=name, group='%s-g' % kind)
            suspends = [c for c in r['commands'] if c.startswith('dmsetup suspend')]
            assert len(suspends) == 2 and suspends == sorted(suspends), r['commands']
            assert len([c for c in r['commands'] if c.startswith('dmsetup resume')]) == 2
            snaps = r['group_snapshot']['snapshots']
            s1 = seq_of(readable(vg, snaps[first]))
            s2 = seq_of(readable(vg, snaps[second]))
            assert s1 > 0, 'the writer had written nothing before the snapshot'
            assert in_order(s1, s2), ('group snapshot %s is not crash-consistent: %s has record %d, '
                                      '%s has %d' % (name, first, s1, second, s2))
            # the resume: the writer goes on past what the snapshot holds
            deadline = time.monotonic() + 60
            while seq_of(dev(vg, first)) <= s1 + 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert seq_of(dev(vg, first)) > s1 + 1, 'the writer did not go on after the group snapshot'
            assert writer.poll() is None

        # negative control: one volume at a time, first then second
        broken = 0
        for i in range(NEG_TRIES if kind == 'thick' else 0):
            n1, n2 = '%s-neg%d-1' % (kind, i), '%s-neg%d-2' % (kind, i)
            ok('snapshot', backend=b, volume=first, name=n1)
            ok('snapshot', backend=b, volume=second, name=n2)
            s1, s2 = seq_of(readable(vg, n1)), seq_of(readable(vg, n2))
            for n in (n1, n2):
                ok('snapshot', backend=b, name=n, state='absent')
            if not in_order(s1, s2):
                broken += 1
                break
        assert broken or kind != 'thick', (
            'single snapshots taken one volume at a time never broke the invariant in '
            '%d tries: the check cannot tell a consistent cut from another' % NEG_TRIES)
    finally:
        stop(writer)
    for i in range(tries):
        ok('group_snapshot', backend=b, name='%s-gs%d' % (kind, i), state='absent')
    ok('group', backend=b, name='%s-g' % kind, state='absent', delete_volumes=True)
    assert not [n for n in vg.lvs() if n.startswith('%s-' % kind)], vg.lvs()


def pool_dm_name(vg):
    """device-mapper's name of the VG's thin pool (``-`` doubled in each part, LVM's rule)."""
    return '%s-%s-tpool' % (vg.name.replace('-', '--'), ('%s-pool' % vg.name).replace('-', '--'))


def pool_transaction_ids(vg):
    """(LVM's transaction id of the pool, the kernel's): equal while the pool is sound."""
    meta = int(vg.lvm(['lvs', '--noheadings', '-o', 'transaction_id',
                       '%s/%s-pool' % (vg.name, vg.name)]).stdout.strip())
    status = subprocess.run(['dmsetup', 'status', pool_dm_name(vg)], capture_output=True, text=True,
                            check=True)
    return meta, int(status.stdout.split()[3])


def test_active_thin_members_get_crash_consistent_cow_snapshots(vg):
    """Active thin members: CoW snapshots under the same suspend (a thin snapshot of a
    held-suspended origin would put the pool's transaction id out of step), checked with the
    writer; the pool stays sound; revert merges them back.  Inactive thin members (no I/O)
    get thin snapshots and no dmsetup call: the control of the kind switch."""
    b = vg.backend(lvm_type='thin', volume_clear='none')
    ok('volume', backend=b, volumes=[dict(name='tn-a', size='16M'), dict(name='tn-b', size='16M')])
    ok('group', backend=b, name='tn-g', volumes=['tn-a', 'tn-b'])
    assert pool_transaction_ids(vg)[0] == pool_transaction_ids(vg)[1]
    writer = start_writer([dev(vg, 'tn-a'), dev(vg, 'tn-b')])
    try:
        r = ok('group_snapshot', backend=b, name='tn-gs', group='tn-g')
        suspends = [c for c in r['commands'] if c.startswith('dmsetup suspend')]
        assert len(suspends) == 2 and suspends == sorted(suspends), r['commands']
        snaps = r['group_snapshot']['snapshots']
        lvs = vg.lvs()
        for m in ('tn-a', 'tn-b'):
            assert lvs[snaps[m]]['origin'] == m and lvs[snaps[m]]['lv_attr'][0] == 's', lvs[snaps[m]]
        s1, s2 = seq_of(readable(vg, snaps['tn-a'])), seq_of(readable(vg, snaps['tn-b']))
        assert s1 > 0, 'the writer had written nothing before the snapshot'
        assert in_order(s1, s2), 'not crash-consistent: tn-a has record %d, tn-b %d' % (s1, s2)
        deadline = time.monotonic() + 60
        while seq_of(dev(vg, 'tn-a')) <= s1 + 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert seq_of(dev(vg, 'tn-a')) > s1 + 1, 'the writer did not go on after the group snapshot'
    finally:
        stop(writer)
    meta, kernel = pool_transaction_ids(vg)
    assert meta == kernel, 'the pool is out of step: LVM says %d, the kernel %d' % (meta, kernel)
    # the pool still takes a thin snapshot
    ok('snapshot', backend=b, volume='tn-a', name='tn-single')
    ok('snapshot', backend=b, name='tn-single', state='absent')
    # revert: both members go back to the snapshot's records
    ok('group_snapshot', backend=b, name='tn-gs', state='reverted')
    assert (seq_of(dev(vg, 'tn-a')), seq_of(dev(vg, 'tn-b'))) == (s1, s2)
    ok('group_snapshot', backend=b, name='tn-gs', state='absent')
    # control: inactive thin members get thin snapshots, and no dmsetup call
    activate(vg, ['tn-a', 'tn-b'], False)
    r = ok('group_snapshot', backend=b, name='tn-gs2', group='tn-g')
    assert not [c for c in r['commands'] if c.startswith('dmsetup')], r['commands']
    lvs = vg.lvs()
    assert lvs['tn-gs2-tn-a']['origin'] == 'tn-a' and lvs['tn-gs2-tn-a']['lv_attr'][0] == 'V'
    assert 'ck.gsnap=tn-gs2' in lvs['tn-gs2-tn-b']['lv_tags']
    ok('group_snapshot', backend=b, name='tn-gs2', state='absent')
    ok('group', backend=b, name='tn-g', state='absent', delete_volumes=True)
    assert not [n for n in vg.lvs() if n.startswith('tn-')]
    assert pool_transaction_ids(vg)[0] == pool_transaction_ids(vg)[1]
    # negative control of the pool check: the kernel's transaction id moved on by a pool
    # message (LVM's metadata not) is seen as out of step; then it is put back
    meta, kernel = pool_transaction_ids(vg)
    tpool = pool_dm_name(vg)
    subprocess.run(['dmsetup', 'message', tpool, '0', 'set_transaction_id %d %d' % (kernel, kernel + 1)],
                   check=True)
    try:
        assert pool_transaction_ids(vg) == (meta, kernel + 1)
    finally:
        subprocess.run(['dmsetup', 'message', tpool, '0', 'set_transaction_id %d %d' % (kernel + 1, kernel)],
                       check=True)
    assert pool_transaction_ids(vg) == (meta, kernel)


@pytest.mark.parametrize('kind', ['thick', 'thin'])
def test_group_from_source_revert_and_the_refusals(vg, kind, tmp_path):
    tgtd = TgtDaemon()
    try:
        _from_source_and_revert(vg, kind, tmp_path, tgtd)
    finally:
        tgtd.close()


def _from_source_and_revert(vg, kind, tmp_path, tgtd):
    b = vg.backend(lvm_type='default' if kind == 'thick' else 'thin', volume_clear='none',
                   tgt_control_port=tgtd.control, target_port=tgtd.port,
                   target_ip_address='127.0.0.1', volumes_dir=str(tmp_path / 'volumes'))
    g, gs = '%s-src' % kind, '%s-base' % kind
    vols = ['%s-m1' % kind, '%s-m2' % kind]
    ok('volume', backend=b, volumes=[dict(name=v, size='16M') for v in vols])
    for v in vols:
        write_at(dev(vg, v), 0, pattern(v, 4 * MiB))
        write_at(dev(vg, v), SIZE - MiB, pattern(v + 'end', MiB))
    ok('group', backend=b, name=g, volumes=vols)
    old = dict((v, sha(dev(vg, v))) for v in vols)
    if kind == 'thin':
        activate(vg, vols, False)       # thin members: inactive for the group snapshot
    ok('group_snapshot', backend=b, name=gs, group=g)
    if kind == 'thin':
        activate(vg, vols, True)
    for v in vols:
        write_at(dev(vg, v), 0, pattern(v + '-new', 4 * MiB))
    new = dict((v, sha(dev(vg, v))) for v in vols)
    assert all(old[v] != new[v] for v in vols)

    lost = []

    def nodes(step):
        """Which step left a member without its device node (seen once on thin: diagnosed)."""
        gone = [v for v in vols if not os.path.exists(dev(vg, v))]
        if gone:
            lost.append('%s: %s (%s)' % (step, ', '.join(gone), ', '.join(
                '%s=%s' % (v, vg.lvs()[v]['lv_attr']) for v in gone)))
    nodes('after the group snapshot')

    # a group from the group snapshot: every member, the snapshot's bytes
    r = ok('group', backend=b, name='%s-fromsnap' % kind, source=dict(group_snapshot=gs))
    nodes('group from the group snapshot')
    made = ['%s-fromsnap-%s' % (kind, v) for v in vols]
    assert r['group']['volumes'] == made, r
    for v, m in zip(vols, made):
        assert sha(readable(vg, m)) == old[v], m
    nodes('reading the new members')
    # a group from the group: clones with the members' bytes as they are now
    r = ok('group', backend=b, name='%s-clone' % kind, source=dict(group=g))
    nodes('group from the group')
    made = ['%s-clone-%s' % (kind, v) for v in vols]
    assert r['group']['volumes'] == made
    for v, m in zip(vols, made):
        assert sha(readable(vg, m)) == new[v], m
    nodes('reading the clones')
    # Every member keeps its device node through the clones. Before 2026-12-07 the thin members
    # lost it (udev dropped /dev/VG/LV after LVM suspended and resumed them for the thin
    # clone's snapshot; the driver's _thin_copy_of now settles the source as well), and the thin
    # case stopped here
    assert not lost, 'members lost their device nodes: %s' % ' | '.join(lost)

    # revert refused while a member is exported (tgt), or held open; nothing changes
    e = ok('export', backend=b, volume=vols[1],
           connector=dict(initiator=GOOD_IQN, host='c1', ip='127.0.0.1'))
    iqn = e['connection_info']['data']['target_iqn']
    before = records(vg)
    r = mod('group_snapshot', backend=b, name=gs, state='reverted')
    assert r.get('failed') and not r.get('changed'), r
    assert 'member volume %s is exported' % vols[1] in r['msg'] and iqn in r['msg'], r['msg']
    assert 'force: true' in r['msg']
    assert records(vg) == before and sha(dev(vg, vols[0])) == new[vols[0]]
    ok('export', backend=b, volume=vols[1], state='absent')
    with open(dev(vg, vols[0]), 'rb'):
        r = mod('group_snapshot', backend=b, name=gs, state='reverted')
        assert r.get('failed') and not r.get('changed'), r
        assert 'member volume %s is open' % vols[0] in r['msg'], r['msg']
    assert records(vg) == before

    # revert: check mode changes nothing; then every member has the snapshot's bytes
    ok('group_snapshot', backend=b, name=gs, state='reverted', _check=True)
    assert records(vg) == before
    ok('group_snapshot', backend=b, name=gs, state='reverted')
    for v in vols:
        assert sha(dev(vg, v)) == old[v], v
    # the group and the group snapshot keep every member (LV tags survive the merge)
    r = ok('group', backend=b, name=g)
    assert r['group']['volumes'] == vols and r['group']['group_snapshots'] == [gs], r
    r = ok('group_snapshot', backend=b, name=gs, group=g)
    assert not r['changed'] and sorted(r['group_snapshot']['snapshots']) == vols, r

    # clean up through the modules: the group snapshot, then the groups with their volumes
    ok('group_snapshot', backend=b, name=gs, state='absent')
    for name in (g, '%s-fromsnap' % kind, '%s-clone' % kind):
        ok('group', backend=b, name=name, state='absent', delete_volumes=True)
    assert not [n for n in vg.lvs() if n.startswith((kind + '-m', kind + '-src', kind + '-base',
                                                     kind + '-fromsnap', kind + '-clone'))], vg.lvs()
