# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: images <-> RBD volumes (qemu-img's rbd driver) and manage/unmanage.

Image copies go through the volume module; volume -> image and the manage
calls have no module yet (manage_existing comes later), so they drive the
registered driver directly, with the same backend dict, in this process.
"""

import os
import subprocess

import pytest

from support import pattern
from ceph_fixtures import MiB

GiB = 1024 ** 3


@pytest.fixture
def driver(ceph):
    from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import load_backend
    made = []

    def make(**over):
        cls, config = load_backend(ceph.backend(**over))
        drv = cls(config, CommandRunner())
        drv.check_for_setup_error()
        made.append(drv)
        return drv
    yield make
    for d in made:
        d.close()


def qemu_img(*argv):
    subprocess.run(['qemu-img'] + list(argv), check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_image_to_volume_and_back(ck, ceph, driver, tmp_path, need):
    need('qemu-img')
    data = pattern(31, 3 * MiB)
    raw = tmp_path / 'src.raw'
    with open(str(raw), 'wb') as fh:
        fh.truncate(40 * MiB)
        fh.seek(20 * MiB)
        fh.write(data)
    qcow = str(tmp_path / 'src.qcow2')
    qemu_img('convert', '-f', 'raw', '-O', 'qcow2', str(raw), qcow)

    b = ceph.backend()
    r = ck('volume', backend=b, name='from-img', size='64M', source={'image': qcow})
    assert not r.get('failed'), r
    assert r['volume']['source'] == {'image_digest': r['volume']['source']['image_digest']}
    assert ceph.size('from-img') == 64 * MiB
    assert ceph.read('from-img', 20 * MiB, len(data)) == data
    assert ceph.read('from-img', 0, 20 * MiB) == b'\0' * 20 * MiB
    # sparse: only what the image holds was written (qemu-img skips zeros; object granularity)
    assert ceph.allocated('from-img') <= 8 * MiB, ceph.allocated('from-img')
    assert any(c.startswith('qemu-img convert') and 'rbd:%s/from-img' % ceph.pool in c for c in r['commands'])
    assert ck('volume', backend=b, name='from-img', size='64M', source={'image': qcow})['changed'] is False

    # an image larger than the size asked for: refused, or grown with grow: true
    r = ck('volume', backend=b, name='small', size='16M', source={'image': qcow})
    assert r.get('failed') and 'virtual size' in r['msg'], r
    r = ck('volume', backend=b, name='small', size='16M', source={'image': qcow, 'grow': True})
    assert not r.get('failed') and ceph.size('small') == GiB   # rounded to whole GiB, as Cinder

    # volume -> image (raw and qcow2), read back
    drv = driver()
    for fmt in ('raw', 'qcow2'):
        out = str(tmp_path / ('out.' + fmt))
        assert drv.copy_volume_to_image('from-img', dict(path=out, format=fmt)) == out
        assert oct(os.stat(out).st_mode & 0o777) == '0o600'
        back = str(tmp_path / ('back-%s.raw' % fmt))
        qemu_img('convert', '-f', fmt, '-O', 'raw', out, back)
        with open(back, 'rb') as fh:
            fh.seek(20 * MiB)
            assert fh.read(len(data)) == data
    # qcow2 of a mostly empty volume stays small
    assert os.path.getsize(str(tmp_path / 'out.qcow2')) < 8 * MiB


def test_manage_unmanage_and_manageable_listing(ck, ceph, driver):
    import rbd
    with ceph.ioctx() as io:
        rbd.RBD().create(io, 'legacy-1', 3 * GiB // 2, old_format=False)
        rbd.RBD().create(io, 'legacy-2', GiB, old_format=False)
    with ceph.image('legacy-1') as im:
        im.write(b'L' * MiB, 0)
        im.create_snap('before-upgrade')
    assert not ck('volume', backend=ceph.backend(), name='mine', size='8M').get('failed')
    drv = driver()
    vols = dict((e['reference']['source-name'], e) for e in drv.get_manageable_volumes())
    assert vols['legacy-1']['safe_to_manage'] is True and vols['legacy-1']['size'] == 2
    assert vols['mine']['safe_to_manage'] is False and vols['mine']['reason_not_safe'] == 'already managed'
    assert vols['mine']['cinder_id'] == 'mine'
    # an image someone holds open is not safe to manage
    with ceph.image('legacy-2'):
        vols = dict((e['reference']['source-name'], e) for e in driver().get_manageable_volumes())
        assert vols['legacy-2']['reason_not_safe'] == 'volume in use'
    snaps = driver().get_manageable_snapshots()
    assert [(e['reference'], e['source_reference'], e['safe_to_manage']) for e in snaps] == [
        ({'source-name': 'before-upgrade'}, {'source-name': 'legacy-1'}, True)]
    page = driver().get_manageable_volumes(limit=1, sort_keys=['size'], sort_dirs=['desc'])
    assert [e['reference']['source-name'] for e in page] == ['legacy-1']

    assert drv.manage_existing_get_size({'source-name': 'legacy-1'}) == 2
    drv.manage_existing('app-data', {'source-name': 'legacy-1'})
    assert 'legacy-1' not in ceph.images() and ceph.meta('app-data')['ck.kind'] == 'volume'
    # the snapshot of an adopted volume: adopt it under a new name
    assert drv.manage_existing_snapshot_get_size('app-data@before-upgrade') == 2
    drv.manage_existing_snapshot('app-data-s1', {'source-name': 'before-upgrade'})
    assert ceph.snaps('app-data') == ['app-data-s1']
    # now the modules see and protect them like their own
    b = ceph.backend()
    r = ck('volume', backend=b, name='app-data', size='1536M')
    assert r['changed'] is False and r['volume']['snapshots'] == ['app-data-s1'], r
    r = ck('volume', backend=b, name='restored', source={'snapshot': 'app-data-s1'})
    assert not r.get('failed') and ceph.read('restored', 0, MiB) == b'L' * MiB
    # unmanage: the volume module leaves it alone again
    drv = driver()
    drv.unmanage_snapshot('app-data-s1')
    drv.unmanage('app-data')
    assert 'ck.kind' not in ceph.meta('app-data')
    r = ck('volume', backend=b, name='app-data', state='absent')
    assert r.get('failed') and 'not managed by cinderkit' in r['msg'], r
    with pytest.raises(Exception) as exc:
        driver().manage_existing('x', {'source-name': 'nope'})
    assert "image 'nope' does not exist" in str(exc.value)


def test_block_device_into_an_rbd_volume(ck, ceph, tmp_path, need):
    """docs/lvm-to-rbd.md's recipe: a block device (here a loop device) as the image source."""
    need('losetup', 'qemu-img')
    data = pattern(41, 2 * MiB)
    path = str(tmp_path / 'lv.img')
    with open(path, 'wb') as fh:
        fh.truncate(24 * MiB)
        fh.seek(5 * MiB)
        fh.write(data)
    loop = subprocess.run(['losetup', '--find', '--show', '--read-only', path], check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    try:
        r = ck('volume', backend=ceph.backend(), name='moved', size='24M',
               source={'image': loop, 'format': 'raw'})
        assert not r.get('failed'), r
        assert ceph.size('moved') == 24 * MiB
        assert ceph.read('moved', 5 * MiB, len(data)) == data
        assert ceph.allocated('moved') <= 8 * MiB
    finally:
        subprocess.run(['losetup', '--detach', loop], check=False)


def test_a_stalled_image_url_ends_at_copy_timeout_and_leaves_no_volume(ck, ceph, tmp_path, need):
    """An image URL is fetched into a staging file first (qemu-img's curl driver can hang);
    a server that stops sending ends the fetch at copy_timeout, before anything is made."""
    need('qemu-img')
    from support import RangeHTTPServer
    data = pattern(37, 2 * MiB)
    with open(str(tmp_path / 'img.raw'), 'wb') as fh:
        fh.truncate(16 * MiB)
        fh.seek(8 * MiB)
        fh.write(data)
    staging = tmp_path / 'staging'
    b = ceph.backend(copy_timeout=3, image_conversion_dir=str(staging))
    # the control: the same server, answering, gives a volume with the image's bytes
    with RangeHTTPServer(str(tmp_path)) as srv:
        r = ck('volume', backend=b, name='url-ok', source={'image': srv.url('img.raw')})
    assert not r.get('failed'), r
    assert ceph.read('url-ok', 8 * MiB, len(data)) == data
    assert os.listdir(str(staging)) == [], 'the staging file was left'
    # the server sends the first 4 MiB and then nothing
    with RangeHTTPServer(str(tmp_path), stall_from=4 * MiB) as srv:
        r = ck('volume', backend=b, name='url-stall', source={'image': srv.url('img.raw')})
    assert r.get('failed') and 'no data for 3 seconds' in r['msg'] and not r['changed'], r
    assert "parameter 'source.image'" in r['msg'], r
    assert 'url-stall' not in ceph.images() and os.listdir(str(staging)) == []
    assert ck('volume', backend=b, name='url-ok', state='absent')['changed']
