# -*- coding: utf-8 -*-
"""Host tier for the data features: check mode, diff mode and bad input
wherever LVM metadata alone suffices (snapshots themselves need
device-mapper and are proven with real bytes in the VM tier)."""

import os
import subprocess

import pytest


def qemu_img(*args):
    subprocess.run(('qemu-img',) + args, check=True, stdout=subprocess.DEVNULL)


@pytest.fixture
def images(tmp_path):
    raw = tmp_path / 'disk.raw'
    with open(raw, 'wb') as fh:
        fh.truncate(64 * 1024 ** 2)
        fh.seek(1024 ** 2)
        fh.write(os.urandom(1024 ** 2))
    qcow = tmp_path / 'disk.qcow2'
    qemu_img('convert', '-f', 'raw', '-O', 'qcow2', str(raw), str(qcow))
    big = tmp_path / 'big.qcow2'
    qemu_img('create', '-q', '-f', 'qcow2', str(big), '3G')
    vdi = tmp_path / 'disk.vdi'
    qemu_img('convert', '-f', 'raw', '-O', 'vdi', str(raw), str(vdi))
    child = tmp_path / 'child.qcow2'
    qemu_img('create', '-q', '-f', 'qcow2', '-b', str(qcow), '-F', 'qcow2', str(child))
    return dict(raw=str(raw), qcow2=str(qcow), big=str(big), vdi=str(vdi), child=str(child),
                dir=str(tmp_path))


def test_check_and_diff_for_snapshot_extend_clone_image(play, ck, vg, images):
    b = vg.backend()
    ck('volume', backend=b, name='src', size=1)
    before = vg.lvs()
    res = play.run([
        {'cinderkit.storage.snapshot': {'backend': b, 'volume': 'src', 'name': 'snap1'}},
        {'cinderkit.storage.snapshot': {'backend': b, 'volume': 'src', 'name': 'snapshot-2'}},
        {'cinderkit.storage.snapshot': {'backend': b, 'name': 'never-made', 'state': 'absent'}},
        {'cinderkit.storage.extend': {'backend': b, 'name': 'src', 'size': 2}},
        {'cinderkit.storage.volume': {'backend': b, 'name': 'clone1', 'source': {'volume': 'src'}}},
        {'cinderkit.storage.volume': {'backend': b, 'name': 'img1', 'source': {'image': images['qcow2']}}},
        {'cinderkit.storage.volume': {'backend': b, 'name': 'img2', 'size': 1,
                                      'source': {'image': images['big'], 'grow': True}}},
    ], check=True, diff=True)
    snap, snap2, absent, ext, clone, img, grown = res
    assert snap['changed'] and snap['snapshot']['action'] == 'create'
    assert snap['diff'] == {'before': {'snap1': None}, 'after': {'snap1': {'volume': 'src'}}}
    assert snap['snapshot']['size_gb'] == 1.0
    assert snap2['changed'] and snap2['snapshot']['name'] == 'snapshot-2'
    assert absent['changed'] is False and 'diff' not in absent
    assert ext['changed'] and ext['volume']['size_gb'] == 2.0
    assert ext['diff'] == {'before': {'src': {'size_gb': 1.0}}, 'after': {'src': {'size_gb': 2.0}}}
    assert clone['changed'] and clone['volume']['size_gb'] == 1.0
    assert clone['diff']['after'] == {'clone1': {'size_gb': 1.0, 'source': {'volume': 'src'}}}
    # an image volume defaults to the image's virtual size, rounded up to whole GiB
    assert img['changed'] and img['volume']['size_gb'] == 1.0
    assert img['diff']['after']['img1']['source'] == {'image': images['qcow2'], 'format': 'auto'}
    assert grown['volume']['size_gb'] == 3.0
    assert vg.lvs() == before


def test_extend_thick_online_and_idempotent(ck, vg):
    b = vg.backend()
    ck('volume', backend=b, name='grow', size=1)
    r = ck('extend', backend=b, name='grow', size='1536M')
    assert r['changed'] and r['online'] is True and r['volume']['size_bytes'] == 1536 * 1024 ** 2
    assert int(vg.lvs()['grow']['lv_size']) == 1536 * 1024 ** 2
    again = ck('extend', backend=b, name='grow', size='1536M')
    assert again['changed'] is False and again['online'] is None
    smaller = ck('extend', backend=b, name='grow', size=1)
    assert smaller.get('failed') and 'never shrunk' in smaller['msg']


BAD = [
    ('snapshot', {'name': 's', 'volume': 'missing'}, "parameter 'volume'", 'not found'),
    ('snapshot', {'name': 'bad name', 'volume': 'keep'}, "parameter 'name'", "' '"),
    ('snapshot', {'name': 's;x', 'volume': 'keep'}, "parameter 'name'", "';'"),
    ('snapshot', {'name': 's', 'volume': 'keep', 'state': 'reverted'}, "parameter 'name'", 'not found'),
    ('snapshot', {'name': 's', 'volume': 'keep', 'cow_size': 'lots'}, "parameter 'cow_size'", 'not a number'),
    ('snapshot', {'name': 'keep', 'volume': 'keep'}, "parameter 'name'", 'taken'),
    ('volume', {'name': 'n', 'source': {'image': '@missing'}}, 'source.image', 'does not exist'),
    ('volume', {'name': 'n', 'source': {'image': '@dir'}}, 'source.image', 'is a directory'),
    ('volume', {'name': 'n', 'source': {'image': '@vdi'}}, 'source.image', "format 'vdi'"),
    ('volume', {'name': 'n', 'source': {'image': '@raw', 'format': 'qcow2'}}, 'source', 'not qcow2'),
    ('volume', {'name': 'n', 'size': 1, 'source': {'image': '@big'}}, "parameter 'size'", 'virtual size'),
    ('volume', {'name': 'n', 'source': {'image': '@child'}}, 'source.image', 'backing file'),
    ('volume', {'name': 'n', 'source': {'volume': 'missing'}}, 'source.volume', 'not found'),
    ('volume', {'name': 'n', 'size': '512M', 'source': {'volume': 'keep'}}, "parameter 'size'", 'smaller than its source'),
    ('extend', {'name': 'keep', 'size': 500}, 'free', 'Nothing was'),
    ('extend', {'name': 'keep', 'size': '512M'}, "parameter 'size'", 'never shrunk'),
    ('extend', {'name': 'missing', 'size': 2}, "parameter 'name'", 'not found'),
    ('extend', {'name': 'keep', 'size': 0}, "parameter 'size'", 'greater than zero'),
]


@pytest.mark.parametrize('module,args,where,what', BAD,
                         ids=['%02d-%s' % (i, case[0]) for i, case in enumerate(BAD)])
def test_bad_input(ck, vg, images, module, args, where, what):
    b = vg.backend()
    ck('volume', backend=b, name='keep', size=1)
    before = vg.lvs()
    src = args.get('source', {})
    if isinstance(src.get('image'), str) and src['image'].startswith('@'):
        key = src['image'][1:]
        src['image'] = os.path.join(images['dir'], 'nope.img') if key == 'missing' else images[key]
    r = ck(module, backend=b, **args)
    assert r.get('failed'), r
    assert where in r['msg'] and what in r['msg'], r['msg']
    assert r['changed'] is False
    assert vg.lvs() == before
