# -*- coding: utf-8 -*-
"""VM tier, data safety on a real kernel: a thick volume (volume_clear: zero) that is open
or exported is never wiped, a snapshot that is open keeps its CoW data, and every revert
returns with a usable device node.

Each refusal is checked on the bytes (the pattern is still there) and on the end state;
each has a control: once the holder is gone the same step runs and wipes.
"""

import os
import subprocess

from conftest import MiB, mod, ok, read_at, write_at
from export_support import GOOD_IQN, TgtDaemon
from support import pattern

DATA = 16 * MiB


def dev(vg, name):
    return '/dev/%s/%s' % (vg.name, name)


def wiped_or_removed(res):
    return [c for c in res.get('commands', [])
            if c.split()[0].rsplit('/', 1)[-1] in ('blkdiscard', 'dd', 'lvremove')]


def hold_open(path):
    """A process that keeps ``path`` open (``sleep 900 < path``)."""
    with open(path, 'rb') as fh:
        return subprocess.Popen(['sleep', '900'], stdin=fh)


def test_an_open_or_exported_thick_volume_keeps_its_data(thick_vg, tmp_path):
    vg = thick_vg
    tgtd = TgtDaemon()
    try:
        b = vg.backend(volume_clear='zero', tgt_control_port=tgtd.control, target_port=tgtd.port,
                       target_ip_address='127.0.0.1', volumes_dir=str(tmp_path / 'volumes'))
        ok('volume', backend=b, name='held', size='64M')
        data = pattern('held', DATA)
        write_at(dev(vg, 'held'), 0, data)

        # 1. a process holds it open: refused, the process named, nothing wiped
        holder = hold_open(dev(vg, 'held'))
        try:
            r = mod('volume', backend=b, name='held', state='absent')
            assert r.get('failed') and not r.get('changed'), r
            assert 'process %d (sleep)' % holder.pid in r['msg'], r['msg']
            assert not wiped_or_removed(r), r['commands']
        finally:
            holder.kill()
            holder.wait()
        assert read_at(dev(vg, 'held'), 0, DATA) == data, 'an open volume was wiped'

        # 2. exported through tgt: refused with the IQN, nothing wiped
        e = ok('export', backend=b, volume='held',
               connector=dict(initiator=GOOD_IQN, host='c1', ip='127.0.0.1'))
        iqn = e['connection_info']['data']['target_iqn']
        r = mod('volume', backend=b, name='held', state='absent')
        assert r.get('failed') and not r.get('changed'), r
        assert iqn in r['msg'] and 'exported' in r['msg'], r['msg']
        assert not wiped_or_removed(r), r['commands']
        assert read_at(dev(vg, 'held'), 0, DATA) == data, 'an exported volume was wiped'
        assert 'held' in vg.lvs()

        # 3. an open snapshot keeps its CoW data (the old bytes) and is not removed
        ok('snapshot', backend=b, volume='held', name='held-s')
        write_at(dev(vg, 'held'), 0, pattern('newer', DATA))
        holder = hold_open(dev(vg, 'held-s'))
        try:
            r = mod('snapshot', backend=b, name='held-s', state='absent')
            assert r.get('failed') and 'process %d (sleep)' % holder.pid in r['msg'], r
            assert not wiped_or_removed(r), r['commands']
        finally:
            holder.kill()
            holder.wait()
        assert read_at(dev(vg, 'held-s'), 0, DATA) == data, 'an open snapshot lost its CoW data'

        # controls: with the holders gone, the snapshot and then the volume go, wiped
        r = ok('snapshot', backend=b, name='held-s', state='absent')
        assert any(c.startswith('blkdiscard --zeroout') for c in r['commands']), r['commands']
        ok('export', backend=b, volume='held', state='absent')
        r = ok('volume', backend=b, name='held', state='absent')
        assert any(c.startswith('blkdiscard --zeroout') for c in r['commands']), r['commands']
        assert 'held' not in vg.lvs()
    finally:
        tgtd.close()


def test_every_revert_returns_with_a_usable_device_node(thick_vg):
    """The revert cycles the origin's activation and waits for the merge: a task that
    returned before /dev/VG/LV was back broke the next step (FileNotFoundError)."""
    vg = thick_vg
    b = vg.backend(volume_clear='none')
    ok('volume', backend=b, name='rr', size='32M')
    old = pattern('rr-old', 4 * MiB)
    write_at(dev(vg, 'rr'), 0, old)
    ok('snapshot', backend=b, volume='rr', name='rr-s')
    for i in range(4):
        write_at(dev(vg, 'rr'), 0, pattern('rr-%d' % i, 4 * MiB))
        r = ok('snapshot', backend=b, volume='rr', name='rr-s', state='reverted')
        assert r['changed'], r
        # the very next step of a playbook: the device is there and reads the snapshot's bytes
        assert os.path.exists(dev(vg, 'rr')), 'revert %d returned without %s' % (i, dev(vg, 'rr'))
        assert read_at(dev(vg, 'rr'), 0, 4 * MiB) == old, 'revert %d' % i
    ok('snapshot', backend=b, name='rr-s', state='absent')
    ok('volume', backend=b, name='rr', state='absent')


def _reuse(vg, name, size):
    """A raw LV of ``size`` on the extents just freed (the allocator takes them first)."""
    vg.lvm(['lvcreate', '--yes', '--zero', 'n', '--wipesignatures', 'n', '-n', name, '-L', size, vg.name])
    return dev(vg, name)


def test_volume_clear_size_and_ionice_are_proven_on_the_reused_extents(thick_vg):
    vg = thick_vg
    b = vg.backend(volume_clear='zero', volume_clear_size=1, volume_clear_ionice='-c3')
    ok('volume', backend=b, name='part', size='32M')
    data = pattern('part', 4 * MiB)
    write_at(dev(vg, 'part'), 0, data)
    r = ok('volume', backend=b, name='part', state='absent')
    assert any(c.startswith('ionice -c3 blkdiscard --zeroout --length %d ' % MiB)
               for c in r['commands']), r['commands']
    path = _reuse(vg, 'part-reuse', '32M')
    got = read_at(path, 0, 4 * MiB)
    vg.lvm(['lvremove', '--yes', '%s/part-reuse' % vg.name])
    assert got[:MiB] == b'\0' * MiB, 'the first volume_clear_size MiB were not wiped'
    # the rest was left as volume_clear_size asks (and shows the read lands on the old extents)
    assert got[MiB:] == data[MiB:], 'the reused extents are not the deleted volume\'s'


def test_a_thick_snapshots_cow_data_is_wiped_on_delete(thick_vg):
    """The snapshot's CoW area holds the origin's old bytes; it is wiped before lvremove.
    Its device is claimed by the snapshot's table, so blkdiscard cannot open it
    exclusively and the dd fallback writes the zeros: both run for real here."""
    vg = thick_vg
    results = {}
    for clear in ('none', 'zero'):               # 'none' is the control: the old bytes survive
        b = vg.backend(volume_clear=clear)
        ok('volume', backend=b, name='cow-o', size='32M')
        old = pattern('cow-%s' % clear, 4 * MiB)
        write_at(dev(vg, 'cow-o'), 0, old)
        ok('snapshot', backend=b, volume='cow-o', name='cow-s', cow_size='32M')
        write_at(dev(vg, 'cow-o'), 0, pattern('cow-new', 4 * MiB))    # CoW now holds ``old``
        r = ok('snapshot', backend=b, name='cow-s', state='absent')
        path = _reuse(vg, 'cow-reuse', '32M')
        got = read_at(path, 0, 32 * MiB)
        vg.lvm(['lvremove', '--yes', '%s/cow-reuse' % vg.name])
        ok('volume', backend=b, name='cow-o', state='absent')
        results[clear] = (r['commands'], old[:MiB] in got)
    assert results['none'][1], 'control: the CoW data should survive a delete without wipe'
    cmds, leaked = results['zero']
    assert not leaked, 'a deleted snapshot leaked its CoW data'
    assert any(c.startswith('dd if=/dev/zero') for c in cmds), cmds


def test_thin_volumes_need_no_wipe_the_pool_zeroes_new_blocks(thin_vg):
    """Deleting a thin volume writes nothing; its blocks go back to the pool, and the pool
    (zeroing on: LVM's default, lvs 'zero') zeroes a block when it is provisioned again, so
    a partial write into a reused block never shows the old data around it."""
    vg = thin_vg
    b = vg.backend(lvm_type='auto', volume_clear='zero')
    ok('volume', backend=b, name='tz-old', size='32M')
    pool = '%s/%s-pool' % (vg.name, vg.name)
    zero = vg.lvm(['lvs', '--noheadings', '-o', 'zero', pool]).stdout.strip()
    assert zero == 'zero', 'the thin pool does not zero new blocks: %r' % zero
    write_at(dev(vg, 'tz-old'), 0, pattern('tz-old', 8 * MiB))
    r = ok('volume', backend=b, name='tz-old', state='absent')
    assert not [c for c in r['commands'] if c.split()[0] in ('blkdiscard', 'dd')], r['commands']
    ok('volume', backend=b, name='tz-new', size='32M')
    small = pattern('tz-small', 4096)
    write_at(dev(vg, 'tz-new'), 0, small)      # provisions one chunk (64 KiB or more)
    got = read_at(dev(vg, 'tz-new'), 0, 8 * MiB)
    assert got[:4096] == small
    assert got[4096:] == b'\0' * (8 * MiB - 4096), 'a new thin volume showed old data'
    ok('volume', backend=b, name='tz-new', state='absent')
