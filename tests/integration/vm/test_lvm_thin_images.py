# -*- coding: utf-8 -*-
"""VM tier, thin LVM and images: auto thin pools, thin snapshots/clones/revert,
image <-> volume (raw, qcow2, http URL), sparse copies - proven on real bytes."""

import json
import os
import subprocess

from conftest import GiB, MiB, VOL, assert_pattern, device_size, ok, read_at, write_pattern


def dev(vg, name):
    return '/dev/%s/%s' % (vg.name, name)


def _qemu_img(*args):
    return subprocess.run(('qemu-img',) + args, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def test_auto_makes_a_thin_pool_and_thin_volumes(thin_vg):
    vg = thin_vg
    b = vg.backend(lvm_type='auto', volume_clear='zero')
    r = ok('volume', backend=b, volumes=[{'name': 'tv1', 'size': 1}, {'name': 'tv2', 'size': 2}])
    lvs = vg.lvs()
    assert lvs['%s-pool' % vg.name]['segtype'] == 'thin-pool'
    assert lvs['tv1']['segtype'] == 'thin' and lvs['tv1']['pool_lv'] == '%s-pool' % vg.name
    assert all(v['lvm_type'] == 'thin' for v in r['volumes'])
    facts = ok('backend_facts', backend=b)['ansible_facts']['cinderkit_backends']['LVM']
    pool = facts['pools'][0]
    assert pool['thin_provisioning_support'] and not pool['thick_provisioning_support']
    assert facts['lvm_type'] == 'thin'
    assert facts['total_capacity_gb'] == round(int(lvs['%s-pool' % vg.name]['lv_size']) / GiB, 2)
    assert pool['provisioned_capacity_gb'] == 3.0
    data = write_pattern(dev(vg, 'tv1'), 'thin')
    assert_pattern(dev(vg, 'tv1'), data, 'thin volume')
    # explicit lvm_type thin now finds the pool
    ok('volume', backend=vg.backend(lvm_type='thin'), name='tv3', size=1)
    assert vg.lvs()['tv3']['segtype'] == 'thin'
    # thin volumes are not wiped on delete (nothing to leak: the pool zeroes new blocks)
    r = ok('volume', backend=b, name='tv3', state='absent')
    assert not any(c.startswith(('blkdiscard', 'dd ')) for c in r['commands'])


def test_thin_snapshot_clone_revert_extend(thin_vg):
    vg = thin_vg
    b = vg.backend(lvm_type='auto')
    ok('volume', backend=b, name='tsrc', size='128M')
    old = write_pattern(dev(vg, 'tsrc'), 't-old')
    s = ok('snapshot', backend=b, volume='tsrc', name='tsnap')
    assert s['snapshot']['provisioning'] == 'thin'
    new = write_pattern(dev(vg, 'tsrc'), 't-new')
    # thin snapshot: activate to read (it carries the activation-skip flag)
    ok('volume', backend=b, name='t-from-snap', source={'snapshot': 'tsnap'}, size='256M')
    assert_pattern(dev(vg, 't-from-snap'), old, 'thin volume from snapshot')
    assert device_size(dev(vg, 't-from-snap')) == 2 * VOL
    r = ok('volume', backend=b, name='tclone', source={'volume': 'tsrc'})
    assert r['volume']['lvm_type'] == 'thin'
    assert_pattern(dev(vg, 'tclone'), new, 'thin clone')
    lvs = vg.lvs()
    assert lvs['tclone']['segtype'] == 'thin' and 'k' not in lvs['tclone']['lv_attr'][9:]
    # the clone is independent: deleting the source keeps it readable
    # (the snapshot must go first)
    ok('extend', backend=b, name='tsrc', size='256M')
    assert_pattern(dev(vg, 'tsrc'), new, 'extended thin volume')
    r = ok('snapshot', backend=b, volume='tsrc', name='tsnap', state='reverted')
    assert r['changed']
    assert_pattern(dev(vg, 'tsrc'), old, 'reverted thin volume')
    assert device_size(dev(vg, 'tsrc')) == 2 * VOL, 'revert changed the volume size'
    assert 'ck.kind=volume' in vg.lvs()['tsrc']['lv_tags']
    ok('snapshot', backend=b, name='tsnap', state='absent')
    ok('volume', backend=b, name='tsrc', state='absent')
    assert_pattern(dev(vg, 'tclone'), new, 'thin clone after its source was deleted')


def test_images_to_and_from_volumes(thick_vg, thin_vg, tmp_path):
    from support import pattern
    raw = str(tmp_path / 'img.raw')
    data = pattern('image', 32 * MiB)
    with open(raw, 'wb') as fh:
        fh.truncate(512 * MiB)           # 512 MiB virtual, 32 MiB of data at 100 MiB
        fh.seek(100 * MiB)
        fh.write(data)
    qcow = str(tmp_path / 'img.qcow2')
    _qemu_img('convert', '-f', 'raw', '-O', 'qcow2', raw, qcow)
    for vg, b in ((thick_vg, thick_vg.backend()), (thin_vg, thin_vg.backend(lvm_type='auto'))):
        for fmt, path in (('raw', raw), ('qcow2', qcow)):
            name = 'img-%s' % fmt
            r = ok('volume', backend=b, name=name, source={'image': path, 'format': fmt})
            assert r['volume']['size_gb'] == 1.0
            assert read_at(dev(vg, name), 100 * MiB, 32 * MiB) == data, '%s image -> volume' % fmt
            assert read_at(dev(vg, name), 0, MiB) == b'\0' * MiB
    # an http URL goes through qemu-img's curl driver
    from support import RangeHTTPServer
    with RangeHTTPServer(str(tmp_path)) as srv:
        r = ok('volume', backend=thin_vg.backend(lvm_type='auto'), name='img-url',
               source={'image': srv.url('img.qcow2')})
    assert r['volume']['source'] == {'image_digest': r['volume']['source']['image_digest']}
    assert read_at(dev(thin_vg, 'img-url'), 100 * MiB, 32 * MiB) == data, 'URL image -> volume'
    # the thin target was not filled with the image's zeros (sparse copy)
    used = float(thin_vg.lvs()['img-qcow2']['data_percent'])
    assert used < 10.0, 'thin volume from a 32 MiB-of-data image is %.1f%% allocated' % used
    # volume -> image, then compare; idempotent unless force
    out = str(tmp_path / 'out.qcow2')
    b = thick_vg.backend()
    r = ok('volume', backend=b, name='img-raw', to_image={'path': out, 'format': 'qcow2', 'compress': True})
    assert r['changed'] and os.path.exists(out)
    assert oct(os.stat(out).st_mode & 0o777) == '0o600'
    info = json.loads(_qemu_img('info', '--output', 'json', out))
    assert info['format'] == 'qcow2' and info['virtual-size'] == GiB
    back = str(tmp_path / 'back.raw')
    _qemu_img('convert', '-O', 'raw', out, back)
    with open(back, 'rb') as fh:
        fh.seek(100 * MiB)
        assert fh.read(32 * MiB) == data
    assert ok('volume', backend=b, name='img-raw', to_image={'path': out, 'format': 'qcow2'})['changed'] is False
    assert ok('volume', backend=b, name='img-raw',
              to_image={'path': out, 'format': 'qcow2', 'force': True})['changed'] is True
