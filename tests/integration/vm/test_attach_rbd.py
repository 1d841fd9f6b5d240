# -*- coding: utf-8 -*-
"""VM tier: ``attachment`` with RBD connection info, through os-brick's RBD connector and the
kernel's rbd client (krbd), on a one-node Ceph (tests/harness/ceph.sh). Under the VM harness the
cluster runs natively on the host, bound to the host's own address, and the guest reaches it over
qemu's user networking (vm-tier.sh passes CINDERKIT_CEPH_REUSE); else (CINDERKIT_VM_CEPH=guest, or
a host with device-mapper) this module starts its own, its data on the scratch disk.

The volume is made by the rbd driver and exported natively (the export module's Cinder
connection info); the attachment maps it to /dev/rbdN (check mode first), writes a pattern
through the block device, and after the detach the bytes are read back through librbd: what
went through the kernel client is in the image.  The negative control: a second image that was
never written reads back as zeros through librbd, and its pattern check fails.  Without ``rbd_map_options: ms_mode=secure`` the map is refused by
the v2-only cluster with a message that says what to set.
"""

import os
import subprocess
import sys

import pytest

from conftest import MiB, ok, write_at
from support import ROOT, pattern, run_module, tool_missing

sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration', 'host'))
import ceph_fixtures  # noqa: E402  (the host tier's cluster helper)

SIZE = 32 * MiB
CONNECTOR_HOST = 'compute01'


@pytest.fixture(scope='module')
def ceph():
    missing = tool_missing('rbd', 'ceph-mon', 'ceph-osd')
    if missing:
        pytest.fail('missing in the guest: %s' % ', '.join(missing))
    subprocess.run(['modprobe', 'rbd'], check=True)
    os.environ.setdefault('CINDERKIT_CEPH_OSD_GB', '2')
    base = os.path.join(os.environ.get('CINDERKIT_TEST_WORKDIR') or '/var/tmp', 'ceph')
    # cluster() yields once, and stops the cluster after
    yield from ceph_fixtures.cluster(base=base, wait=600)


def mapped():
    out = subprocess.run(['rbd', 'device', 'list', '--format', 'json'], capture_output=True,
                         text=True, check=False).stdout
    import json
    return json.loads(out or '[]')


def test_rbd_attach_through_krbd_then_read_through_librbd(ceph):
    b = ceph.backend()
    ok('volume', backend=b, name='krbd1', size='32M')
    ok('volume', backend=b, name='krbd2', size='32M')
    try:
        con = ok('attachment', state='connector')['connector']
        info = ok('export', backend=b, volume='krbd1', connector=con)['connection_info']
        assert info['driver_volume_type'] == 'rbd' and 'keyring' not in info['data']
        # the cluster speaks messenger v2 only (ceph.sh's default, every connection secure):
        # without map options krbd speaks v1 and the monitor refuses it, with a clear error
        r = run_module('attachment', dict(connection_info=info, rbd_keyring_file=ceph.cinder_keyring))
        assert r.failed and 'rbd_map_options: ms_mode=secure' in r['msg'], r
        assert mapped() == []
        args = dict(connection_info=info, rbd_keyring_file=ceph.cinder_keyring,
                    rbd_map_options='ms_mode=secure')
        planned = ok('attachment', _check=True, **args)
        assert planned.changed and planned['attachment']['action'] == 'connect'
        assert mapped() == []
        att = ok('attachment', **args)
        a = att['attachment']
        assert att.changed and a['attached'] is True, att
        dev = a['path']
        assert os.path.realpath(dev).startswith('/dev/rbd'), a
        assert a['size_bytes'] == SIZE
        assert [m['name'] for m in mapped()] == ['krbd1']
        key = [ln.split('=', 1)[1].strip() for ln in open(ceph.cinder_keyring)
               if ln.strip().startswith('key')][0]
        assert key not in repr(dict(att)), 'the Ceph key is in the result'
        data = pattern(31, 4 * MiB)
        write_at(dev, MiB, data)
        again = ok('attachment', **args)
        assert again.changed is False and again['attachment']['path'] == dev
        det = ok('attachment', state='absent', **args)
        assert det.changed and det['attachment']['attached'] is False
        assert mapped() == [] and not os.path.exists(dev)
        assert ok('attachment', state='absent', **args).changed is False
        # what went through krbd is in the image (librbd, the admin's view)
        assert ceph.read('krbd1', MiB, len(data)) == data, 'the image does not hold what krbd wrote'
        # negative control: the image that was not written does not pass the same check
        assert ceph.read('krbd2', MiB, len(data)) != data
    finally:
        for m in mapped():
            subprocess.run(['rbd', 'device', 'unmap', m['device']], check=False)
        for name in ('krbd1', 'krbd2'):
            ok('volume', backend=b, name=name, state='absent')
