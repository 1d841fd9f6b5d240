# -*- coding: utf-8 -*-
"""VM tier, thick LVM: secure delete, CoW snapshots, clones through a temporary
snapshot, revert by merge, offline extend, interrupted copies - each proven on
real bytes (device-mapper, qemu-img)."""

import os
import subprocess

from conftest import (MiB, VOL, assert_pattern, device_size, mod, ok, read_at, write_at,
                      write_pattern)


def dev(vg, name):
    return '/dev/%s/%s' % (vg.name, name)


def _qemu_img(*args):
    return subprocess.run(('qemu-img',) + args, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def _wipe_case(vg, clear):
    """Write a pattern, delete the volume, put a new raw LV on the same extents, read it."""
    b = vg.backend(volume_clear=clear)
    ok('volume', backend=b, name='wipe-me', size='256M')
    path = dev(vg, 'wipe-me')
    from support import pattern
    data = pattern('wipe-%s' % clear, 16 * MiB)
    write_at(path, 0, data)
    seg = vg.lvm(['lvs', '--noheadings', '-o', 'seg_pe_ranges', '%s/wipe-me' % vg.name]).stdout.strip()
    r = ok('volume', backend=b, name='wipe-me', state='absent')
    vg.lvm(['lvcreate', '--yes', '--zero', 'n', '--wipesignatures', 'n', '-n', 'reuse', '-L', '256M', vg.name])
    seg2 = vg.lvm(['lvs', '--noheadings', '-o', 'seg_pe_ranges', '%s/reuse' % vg.name]).stdout.strip()
    assert seg == seg2, 'the new LV did not land on the same extents: %s vs %s' % (seg, seg2)
    got = read_at(dev(vg, 'reuse'), 0, 16 * MiB)
    vg.lvm(['lvremove', '--yes', '%s/reuse' % vg.name])
    return r, data, got


def test_thick_delete_is_wiped(thick_vg):
    # control: without volume_clear the old bytes are still there (the check can fail)
    r, data, got = _wipe_case(thick_vg, 'none')
    assert got == data, 'control case: expected the old bytes to survive a delete without wipe'
    r, data, got = _wipe_case(thick_vg, 'zero')
    assert got == b'\0' * len(got), 'a deleted thick volume leaked its data'
    assert any(c.startswith('blkdiscard --zeroout') for c in r['commands']), r['commands']


def test_volume_clear_size_limits_the_wipe(thick_vg):
    vg = thick_vg
    b = vg.backend(volume_clear='zero', volume_clear_size=1)
    ok('volume', backend=b, name='partial', size='64M')
    r = ok('volume', backend=b, name='partial', state='absent')
    assert any('--length %d' % MiB in c for c in r['commands']), r['commands']


def test_thick_snapshot_keeps_old_bytes_and_feeds_new_volumes(thick_vg):
    vg = thick_vg
    b = vg.backend(volume_clear='zero')
    ok('volume', backend=b, name='orig', size='128M')
    old = write_pattern(dev(vg, 'orig'), 'old')
    s = ok('snapshot', backend=b, volume='orig', name='snapshot-a')     # reserved prefix: escaped
    assert s['snapshot']['lv_name'] == '_snapshot-a' and s['snapshot']['provisioning'] == 'thick'
    assert ok('snapshot', backend=b, volume='orig', name='snapshot-a')['changed'] is False
    new = write_pattern(dev(vg, 'orig'), 'new')
    assert_pattern(dev(vg, '_snapshot-a'), old, 'snapshot after the origin was overwritten')
    assert_pattern(dev(vg, 'orig'), new, 'origin')
    # a volume from the snapshot holds the snapshot's bytes
    r = ok('volume', backend=b, name='from-snap', source={'snapshot': 'snapshot-a'})
    assert r['volume']['source'] == {'snapshot': 'snapshot-a'} and r['volume']['size_gb'] == 0.125
    assert_pattern(dev(vg, 'from-snap'), old, 'volume from snapshot')
    # a present volume with another source is reported, never rewritten
    again = ok('volume', backend=b, name='from-snap', source={'volume': 'orig'})
    assert again['changed'] is False and again['volume']['source_mismatch']['actual'] == {'snapshot': 'snapshot-a'}
    assert_pattern(dev(vg, 'from-snap'), old, 'volume after a differing source')
    # a thick clone copies through a temporary snapshot that is removed afterwards
    r = ok('volume', backend=b, name='clone-thick', source={'volume': 'orig'}, size='256M')
    assert r['volume']['size_gb'] == 0.25
    assert_pattern(dev(vg, 'clone-thick'), new, 'thick clone')
    assert not [n for n in vg.lvs() if n.startswith('clone-snap')]
    # ... with 512 KiB chunks, which the copy reads through 3x faster than LVM's default 4 KiB
    tmp = [c for c in r['commands'] if '--snapshot' in c and 'clone-snap-' in c]
    assert len(tmp) == 1 and '--chunksize 512k' in tmp[0], r['commands']
    # deleting a volume that has snapshots is refused, nothing changes
    before = vg.lvs()
    r = mod('volume', backend=b, name='orig', state='absent')
    assert r.get('failed') and 'has snapshots' in r['msg'] and vg.lvs() == before
    # a duplicate snapshot name that belongs to another volume
    r = mod('snapshot', backend=b, volume='clone-thick', name='snapshot-a')
    assert r.get('failed') and 'already exists for volume orig' in r['msg'] and vg.lvs() == before


def test_thick_revert_keeps_size_and_data(thick_vg):
    vg = thick_vg
    b = vg.backend(volume_clear='zero')
    ok('volume', backend=b, name='rv', size='128M')
    old = write_pattern(dev(vg, 'rv'), 'rv-old')
    ok('snapshot', backend=b, volume='rv', name='rv-s')
    # unchanged since the snapshot: revert is a no-op
    assert ok('snapshot', backend=b, volume='rv', name='rv-s', state='reverted')['changed'] is False
    new = write_pattern(dev(vg, 'rv'), 'rv-new')
    # check mode and diff: nothing changes
    r = ok('snapshot', backend=b, volume='rv', name='rv-s', state='reverted', _check=True, _diff=True)
    assert r['changed'] and r['diff']['after']['rv-s']['content'] == 'data of snapshot rv-s'
    assert_pattern(dev(vg, 'rv'), new, 'check mode revert')
    # revert to a snapshot of another volume is refused
    ok('volume', backend=b, name='other', size='64M')
    r = mod('snapshot', backend=b, volume='other', name='rv-s', state='reverted')
    assert r.get('failed') and 'is a snapshot of volume rv, not of other' in r['msg']
    r = ok('snapshot', backend=b, volume='rv', name='rv-s', state='reverted')
    assert r['changed'] and r['snapshot']['action'] == 'revert'
    assert_pattern(dev(vg, 'rv'), old, 'reverted thick volume')
    assert device_size(dev(vg, 'rv')) == VOL
    assert 'rv-s' in ok('volume', backend=b, name='rv')['volume']['snapshots']
    # the recreated snapshot still works
    write_pattern(dev(vg, 'rv'), 'rv-newer')
    ok('snapshot', backend=b, volume='rv', name='rv-s', state='reverted')
    assert_pattern(dev(vg, 'rv'), old, 'second revert')


def test_thick_extend_with_snapshot_goes_offline(thick_vg):
    vg = thick_vg
    b = vg.backend(volume_clear='zero')
    ok('volume', backend=b, name='ex', size='128M')
    data = write_pattern(dev(vg, 'ex'), 'ex')
    r = ok('extend', backend=b, name='ex', size='256M')
    assert r['online'] is True and device_size(dev(vg, 'ex')) == 2 * VOL
    assert_pattern(dev(vg, 'ex'), data, 'extended volume')
    ok('snapshot', backend=b, volume='ex', name='ex-s')
    # in use (held open) -> refused before any change
    fd = os.open(dev(vg, 'ex'), os.O_RDONLY)
    try:
        r = mod('extend', backend=b, name='ex', size='384M')
        assert r.get('failed') and 'only while it is inactive' in r['msg']
    finally:
        os.close(fd)
    r = ok('extend', backend=b, name='ex', size='384M')
    assert r['changed'] and r['online'] is False and device_size(dev(vg, 'ex')) == 3 * VOL
    assert_pattern(dev(vg, 'ex'), data, 'offline-extended volume')
    ok('snapshot', backend=b, name='ex-s', state='absent')


def _killed_midway(pattern_re, task):
    """Run ``task()`` while a thread SIGKILLs the qemu-img whose command line matches."""
    import signal
    import threading
    import time
    killed = []

    def killer():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            out = subprocess.run(['pgrep', '-f', pattern_re], stdout=subprocess.PIPE,
                                 universal_newlines=True, check=False).stdout.split()
            for pid in out:
                os.kill(int(pid), signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.2)
    t = threading.Thread(target=killer)
    t.start()
    r = task()
    t.join()
    assert killed, 'the copy finished before it could be interrupted'
    return r


def test_interrupted_copy_removes_the_half_made_volume(thick_vg):
    """Kill qemu-img in the middle of a clone, and of an image copy: the new volume is
    removed, the reason reported, and the source is unchanged."""
    vg = thick_vg
    b = vg.backend()
    ok('volume', backend=b, name='big-src', size='384M')
    data = write_pattern(dev(vg, 'big-src'), 'big')
    before = vg.lvs()
    r = _killed_midway('qemu-img convert .*/half$',
                       lambda: mod('volume', backend=b, name='half', source={'volume': 'big-src'}))
    assert r.get('failed'), r
    assert 'qemu-img' in r['msg'] and 'half-made volume half was removed' in r['msg'], r['msg']
    assert vg.lvs() == before, 'a half-made volume or temporary snapshot was left behind'
    assert_pattern(dev(vg, 'big-src'), data, 'the clone source after the interrupted copy')

    from support import WORKDIR
    os.makedirs(WORKDIR, exist_ok=True)
    image = os.path.join(WORKDIR, 'big-%s.raw' % vg.name)      # on the scratch disk, not in RAM
    with open(image, 'wb') as fh:
        fh.truncate(VOL)
    img_data = write_pattern(image, 'big-image')
    mtime = os.stat(image).st_mtime_ns
    r = _killed_midway('qemu-img convert .*/half-img$',
                       lambda: mod('volume', backend=b, name='half-img', source={'image': image}))
    assert r.get('failed'), r
    assert 'half-made volume half-img was removed' in r['msg'], r['msg']
    assert vg.lvs() == before, 'a half-made volume was left behind after the image copy'
    assert os.stat(image).st_mtime_ns == mtime
    assert_pattern(image, img_data, 'the source image after the interrupted copy')
    os.unlink(image)
