# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: connections to RBD volumes.

* native: the export module returns Cinder's RBD connection info, and os-brick's
  RBD connector (in this process, no root helper) opens the volume with it and
  reads the bytes written through librbd;
* iSCSI: with ``target_helper: tgtadm`` the volume is exported through tgt's rbd
  backing store (tgt-rbd) with CHAP, and read back with qemu-img's iSCSI client.
"""

import pytest

from support import pattern, run_module
from export_support import GOOD_IQN, TgtDaemon, iscsi_login_ok, iscsi_read
from ceph_fixtures import MiB


@pytest.fixture
def tgtd(need):
    """An isolated tgtd (own control port and portal), stopped after the test."""
    need('tgtd', 'tgtadm', 'tgt-admin')
    daemon = TgtDaemon()
    yield daemon
    daemon.close()


CONNECTOR = dict(initiator=GOOD_IQN, host='compute01', ip='127.0.0.1', multipath=False)


def ok(r):
    assert not r.get('failed'), r
    return r


def test_native_connection_info_works_with_os_brick(ck, ceph):
    b = ceph.backend(rbd_secret_uuid='457eb676-33da-42ec-9a8c-9293d545c337')
    ok(ck('volume', backend=b, name='att1', size='16M'))
    data = pattern(21, 2 * MiB)
    ceph.write('att1', data, MiB)
    r = ok(ck('export', backend=b, volume='att1', connector=CONNECTOR))
    assert r['changed'] is False and r['export']['target_helper'] is None
    info = r['connection_info']
    assert info['driver_volume_type'] == 'rbd'
    d = info['data']
    host, port = ceph.mon_v2.rsplit(':', 1)
    assert d == {
        'name': '%s/att1' % ceph.pool, 'hosts': [host], 'ports': [port], 'cluster_name': 'ceph',
        'auth_enabled': True, 'auth_username': 'cinder', 'secret_type': 'ceph',
        'secret_uuid': '457eb676-33da-42ec-9a8c-9293d545c337', 'volume_id': 'att1', 'discard': True}
    assert 'keyring' not in d           # OSSN-0085: key material never leaves the host

    # os-brick's RBD connector, as Nova/Cinder's attach code would call it.  The keyring a
    # compute host keeps in /etc/ceph is handed over here instead (cinderlib's way).
    from os_brick.initiator.connectors.rbd import RBDConnector
    props = dict(d, keyring=open(ceph.cinder_keyring).read())
    conn = RBDConnector(None)
    dev = conn.connect_volume(props)
    try:
        handle = dev['path']
        handle.seek(MiB)
        assert handle.read(len(data)) == data
        assert conn.check_valid_device(handle)
    finally:
        conn.disconnect_volume(props, dev)
    # unknown volume: a clear error, nothing returned
    r = ck('export', backend=b, volume='nope', connector=CONNECTOR)
    assert r.get('failed') and "'nope' does not exist" in r['msg'], r


def test_iscsi_export_through_tgt_rbd_with_chap(ck, ceph, tgtd, tmp_path, need):
    need('iscsi-readcapacity16', 'qemu-img')
    b = ceph.backend(target_helper='tgtadm', tgt_control_port=tgtd.control, target_port=tgtd.port,
                     target_ip_address='127.0.0.1', volumes_dir=str(tmp_path / 'volumes'))
    ok(ck('volume', backend=b, name='iscsi1', size='32M'))
    data = pattern(22, 3 * MiB)
    ceph.write('iscsi1', data)
    # (in-process: through Ansible the action plugin censors results that carry CHAP secrets)
    r = ok(run_module('export', dict(backend=b, volume='iscsi1', connector=CONNECTOR)))
    assert r['changed'] and r['export']['action'] == 'create'
    # export's `writes` doc says none today: tgt's commands are the whole change
    assert 'writes' not in r and any(' --op new ' in c for c in r['commands']), r['commands']
    info = r['connection_info']
    assert info['driver_volume_type'] == 'iscsi'
    d = info['data']
    assert d['auth_method'] == 'CHAP' and d['target_portal'] == '127.0.0.1:%d' % tgtd.port
    user, password = d['auth_username'], d['auth_password']
    iqn = d['target_iqn']
    # tgt's LUN is backed by the RBD image itself (bstype rbd), not a device
    show = tgtd.tgtadm('--op', 'show', '--mode', 'target').stdout
    assert 'Backing store type: rbd' in show and 'Backing store path: %s/iscsi1' % ceph.pool in show
    # a real login with CHAP reads the bytes written through librbd
    assert iscsi_read(tgtd.port, iqn, user, password, len(data)) == data
    good, size = iscsi_login_ok(tgtd.port, iqn, user, password)
    assert good and size == 32 * MiB
    bad, dummy = iscsi_login_ok(tgtd.port, iqn, user, password[:-1] + ('x' if password[-1] != 'x' else 'y'))
    assert not bad, 'a wrong CHAP secret logged in'
    # tgt holds the image open: the volume is in use; revert and delete are refused
    v = ok(ck('volume', backend=b, name='iscsi1', size='32M'))['volume']
    assert v['in_use'] is True and v['watchers'] >= 1
    ok(ck('snapshot', backend=b, volume='iscsi1', name='iscsi1-s'))
    r = ck('snapshot', backend=b, volume='iscsi1', name='iscsi1-s', state='reverted')
    assert r.get('failed') and 'exported' in r['msg'], r
    ok(ck('snapshot', backend=b, name='iscsi1-s', state='absent'))
    st = ceph.state()
    r = ck('volume', backend=b, name='iscsi1', state='absent')
    assert r.get('failed') and 'exported' in r['msg'] and iqn in r['msg'], r
    assert ceph.state() == st
    # the same export task again: nothing changes, the same credentials come back
    again = ok(run_module('export', dict(backend=b, volume='iscsi1', connector=CONNECTOR)))
    assert again['changed'] is False
    assert again['connection_info']['data']['auth_password'] == password
    # online extend: the export shows the new size
    e = ok(ck('extend', backend=b, name='iscsi1', size='48M'))
    assert e['online'] is True
    good, size = iscsi_login_ok(tgtd.port, iqn, user, password)
    assert good and size == 48 * MiB, (e, size)
    assert iscsi_read(tgtd.port, iqn, user, password, len(data)) == data
    # unexport, then the volume goes
    gone = ok(ck('export', backend=b, volume='iscsi1', state='absent'))
    assert gone['changed'] and 'writes' not in gone, gone
    assert 'iscsi1' not in tgtd.tgtadm('--op', 'show', '--mode', 'target').stdout
    assert ok(ck('volume', backend=b, name='iscsi1', state='absent'))['changed']
    assert ceph.images() == []


def test_tgt_rbd_refuses_settings_tgt_cannot_honour(ceph, tgtd, tmp_path):
    """tgt reads only conf/id/cluster: cinderkit's own secure-mode and keyring options cannot
    reach it, so the export is refused (before any change) instead of silently losing them."""
    conf = tmp_path / 'plain.conf'
    conf.write_text('[global]\nmon host = [v2:%s]\n[client]\nkeyring = %s\n'
                    % (ceph.mon_v2, ceph.cinder_keyring))
    base = dict(target_helper='tgtadm', tgt_control_port=tgtd.control, target_port=tgtd.port,
                target_ip_address='127.0.0.1', volumes_dir=str(tmp_path / 'volumes'))
    b = ceph.backend(rbd_ceph_conf=str(conf), rbd_secure_mode=True, **base)
    assert not run_module('volume', dict(backend=b, name='t1', size='8M')).get('failed')
    r = run_module('export', dict(backend=b, volume='t1', connector=CONNECTOR))
    assert r.get('failed') and 'ms_client_mode = secure' in r['msg'] and 'unencrypted' in r['msg'], r
    other = tmp_path / 'other.keyring'
    other.write_text(open(ceph.cinder_keyring).read())
    r = run_module('export', dict(backend=ceph.backend(rbd_keyring_conf=str(other), **base),
                                  volume='t1', connector=CONNECTOR))
    assert r.get('failed') and 'does not name the keyring' in r['msg'], r
    assert 'Target' not in tgtd.tgtadm('--op', 'show', '--mode', 'target').stdout


def test_storage_protocol_stays_ceph(ck, ceph):
    r = ok(ck('backend_facts', backend=ceph.backend(volume_backend_name='ceph-1')))
    facts = r['ansible_facts']['cinderkit_backends']['ceph-1']
    assert facts['storage_protocol'] == 'ceph'
