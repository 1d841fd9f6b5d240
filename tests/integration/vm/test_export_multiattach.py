# -*- coding: utf-8 -*-
"""VM tier: multiattach (LIO with two iscsiadm ifaces, nvmet with two host NQNs) and read-only
LVM snapshot exports (thick, and thin activated with ``lvchange -ay -K``) read through a real
initiator.  One small VG for the file (a 256 MiB thin pool beside thick LVs); modules run
in-process.
"""

import glob
import os
import subprocess
import time
import uuid

import pytest

from support import LoopVG, block_device_ready, pattern, run_module, sh

MiB = 1024 ** 2
PORTAL = '127.0.0.1:3260'
NVME_PORT = 4420
NVME_PREFIX = 'nvme-subsystem-1'
IQN_A = 'iqn.1994-05.com.example:node-a'
IQN_B = 'iqn.1994-05.com.example:node-b'
NQN_A = 'nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-2222-3333-444444444444'
NQN_B = 'nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-1111-2222-3333-444444444444'


@pytest.fixture(scope='module')
def rig(kernel_targets):
    from support import tool_missing
    missing = tool_missing('iscsiadm', 'iscsid', 'blockdev', 'nvme')
    if missing:
        pytest.fail('missing in the guest: %s' % ', '.join(missing))
    for m in ('target_core_mod', 'iscsi_target_mod', 'target_core_iblock', 'iscsi_tcp',
              'nvmet', 'nvmet-tcp', 'nvme-tcp'):
        sh(['modprobe', m])
    started = None
    if subprocess.call(['pidof', 'iscsid'], stdout=subprocess.DEVNULL) != 0:
        sh(['iscsid'])
        time.sleep(1)
        started = sh(['pidof', 'iscsid']).stdout.split()
    for iface, iqn in (('cka', IQN_A), ('ckb', IQN_B)):
        iscsiadm('-m', 'iface', '-I', iface, '-o', 'new', check=False)
        iscsiadm('-m', 'iface', '-I', iface, '-o', 'update', '-n', 'iface.transport_name', '-v', 'tcp')
        iscsiadm('-m', 'iface', '-I', iface, '-o', 'update', '-n', 'iface.initiatorname', '-v', iqn)
    vg = LoopVG(size_gb=1, activation=True)
    vg.lvm(['lvcreate', '--yes', '--thin', '-L', '256m', '%s/%s-pool' % (vg.name, vg.name)])
    yield vg
    vg.close()
    for iface in ('cka', 'ckb'):
        iscsiadm('-m', 'iface', '-I', iface, '-o', 'delete', check=False)
    for pid in started or ():
        subprocess.call(['kill', pid])


def lio_backend(vg, **over):
    return vg.backend(target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260,
                      **over)


def make_volume(backend, name, size_mb=64):
    res = run_module('volume', dict(backend=backend, name=name, size='%dM' % size_mb))
    assert not res.failed, res
    return res['volume']['path']


def write_dev(path, data, offset=0):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def iscsiadm(*args, check=True):
    return sh(['iscsiadm'] + list(args), check=check, timeout=120)


def login(iqn, iface, user, password):
    iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-I', iface, '-o', 'new', check=False)
    for key, value in (('node.session.auth.authmethod', 'CHAP'),
                       ('node.session.auth.username', user),
                       ('node.session.auth.password', password),
                       ('node.session.initial_login_retry_max', '1'),
                       ('node.conn[0].timeo.login_timeout', '10')):
        iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-I', iface, '-o', 'update', '-n', key,
                 '-v', value)
    return iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-I', iface, '--login', check=False)


def logout(iqn, iface):
    iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-I', iface, '--logout', check=False)
    iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-I', iface, '-o', 'delete', check=False)


def session_device(iqn, iface, timeout=30):
    """The SCSI disk of the session of ``iface`` to ``iqn`` (read from the iSCSI sysfs)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for sess in glob.glob('/sys/class/iscsi_session/session*'):
            try:
                name = open(os.path.join(sess, 'targetname')).read().strip()
                ifname = open(os.path.join(sess, 'ifacename')).read().strip()
            except OSError:
                continue
            if name != iqn or ifname != iface:
                continue
            for blk in glob.glob(os.path.join(sess, 'device', 'target*', '*', 'block', '*')):
                dev = '/dev/' + os.path.basename(blk)
                if block_device_ready(dev):
                    return dev
        time.sleep(0.3)
    raise AssertionError('no SCSI disk for %s through %s after %ss' % (iqn, iface, timeout))


def read(dev, size):
    import mmap
    fd = os.open(dev, os.O_RDONLY | getattr(os, 'O_DIRECT', 0))
    try:
        buf = mmap.mmap(-1, size)
        os.readv(fd, [buf])
        return bytes(buf[:size])
    finally:
        os.close(fd)


def write_fails(dev):
    """(failed, why): a 4 KiB O_DIRECT write at offset 0 of ``dev``."""
    import mmap
    buf = mmap.mmap(-1, 4096)
    buf.write(b'\x5a' * 4096)
    try:
        fd = os.open(dev, os.O_WRONLY | getattr(os, 'O_DIRECT', 0))
    except OSError as exc:
        return True, 'open: %s' % exc
    try:
        os.pwritev(fd, [buf], 0)
        os.fsync(fd)
        return False, 'written'
    except OSError as exc:
        return True, 'write: %s' % exc
    finally:
        os.close(fd)


def creds(res):
    d = res['connection_info']['data']
    return d['auth_username'], d['auth_password']


# ------------------------------------------------------------------ LIO multiattach
def test_lio_two_initiators_then_detach_one(rig):
    b = lio_backend(rig)
    path = make_volume(b, 'mavol1')
    data = pattern(21, 2 * MiB)
    write_dev(path, data)
    iqn = 'iqn.2010-10.org.openstack:mavol1'
    conns = [dict(initiator=IQN_A, host='node-a'), dict(initiator=IQN_B, host='node-b')]
    try:
        res = run_module('export', dict(backend=b, volume='mavol1', connectors=conns))
        assert not res.failed, res
        assert res['export']['initiators'] == [IQN_A, IQN_B]
        assert set(res['connections']) == {'node-a', 'node-b'}
        user, password = creds(res)
        for iface in ('cka', 'ckb'):
            r = login(iqn, iface, user, password)
            assert r.returncode == 0, (iface, r.stderr)
        dev_a, dev_b = session_device(iqn, 'cka'), session_device(iqn, 'ckb')
        assert dev_a != dev_b
        assert read(dev_a, len(data)) == read(dev_b, len(data)) == data
        # the negative control of the snapshot tests: a volume's export takes writes
        assert sh(['blockdev', '--getro', dev_a]).stdout.strip() == '0'
        failed, why = write_fails(dev_a)
        assert not failed, why
        # node-a detaches: its ACL goes (LIO ends its session), node-b stays
        gone = run_module('export', dict(backend=b, volume='mavol1', state='absent',
                                         connector=conns[0]))
        assert not gone.failed, gone
        assert gone['export']['action'] == 'detach' and gone['export']['initiators'] == [IQN_B]
        logout(iqn, 'cka')
        r = login(iqn, 'cka', user, password)
        logout(iqn, 'cka')
        assert r.returncode != 0, 'the detached initiator logged in again'
        logout(iqn, 'ckb')
        r = login(iqn, 'ckb', user, password)
        assert r.returncode == 0, r.stderr
        assert read(session_device(iqn, 'ckb'), 4096) == b'\x5a' * 4096
        logout(iqn, 'ckb')
        last = run_module('export', dict(backend=b, volume='mavol1', state='absent',
                                         connector=conns[1]))
        assert last['export']['action'] == 'delete', last
        import rtslib_fb
        assert not [t for t in rtslib_fb.RTSRoot().targets if t.wwn == iqn]
    finally:
        for iface in ('cka', 'ckb'):
            logout(iqn, iface)
        run_module('export', dict(backend=b, volume='mavol1', state='absent'))
        run_module('volume', dict(backend=b, name='mavol1', state='absent'))


# ---------------------------------------------------------------- nvmet multiattach
def nvme_connect(nqn, hostnqn):
    # each host NQN with its own host id (the kernel refuses one host id with two NQNs)
    hostid = str(uuid.uuid5(uuid.NAMESPACE_URL, hostnqn))
    return sh(['nvme', 'connect', '-t', 'tcp', '-a', '127.0.0.1', '-s', str(NVME_PORT), '-n', nqn,
               '--hostnqn', hostnqn, '--hostid', hostid], check=False, timeout=60)


def nvme_disconnect(nqn):
    sh(['nvme', 'disconnect', '-n', nqn], check=False, timeout=60)


def namespace_device(nqn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for sub in glob.glob('/sys/class/nvme-subsystem/*'):
            try:
                if open(os.path.join(sub, 'subsysnqn')).read().strip() != nqn:
                    continue
            except OSError:
                continue
            for entry in os.listdir(sub):
                if entry.startswith('nvme') and 'n' in entry[4:] and block_device_ready('/dev/' + entry):
                    return '/dev/' + entry
        time.sleep(0.3)
    raise AssertionError('no namespace device for %s' % nqn)


def test_nvmet_two_host_nqns_then_detach_one(rig):
    b = rig.backend(target_helper='nvmet', target_protocol='nvmet_tcp',
                    target_ip_address='127.0.0.1', target_port=NVME_PORT, target_prefix=NVME_PREFIX)
    path = make_volume(b, 'mavol2')
    data = pattern(22, 1 * MiB)
    write_dev(path, data)
    nqn = 'nqn.%s-mavol2' % NVME_PREFIX
    conns = [dict(nqn=NQN_A, host='node-a'), dict(nqn=NQN_B, host='node-b')]
    try:
        res = run_module('export', dict(backend=b, volume='mavol2', connectors=conns))
        assert not res.failed, res
        assert res['export']['initiators'] == [NQN_A, NQN_B]
        assert set(res['connections']) == {'node-a', 'node-b'}
        for host in (NQN_A, NQN_B):
            r = nvme_connect(nqn, host)
            assert r.returncode == 0, (host, r.stderr)
            assert read(namespace_device(nqn), len(data)) == data
            nvme_disconnect(nqn)
        # a snapshot export on nvmet is refused (no read-only namespace in this kernel)
        snap = run_module('snapshot', dict(backend=b, name='masnap-n', volume='mavol2'))
        assert not snap.failed, snap
        ro = run_module('export', dict(backend=b, snapshot='masnap-n', connector=conns[0]))
        assert ro.failed and "parameter 'snapshot'" in ro['msg'] and 'read-only' in ro['msg'], ro
        assert not os.path.isdir('/sys/kernel/config/nvmet/subsystems/nqn.%s-masnap-n' % NVME_PREFIX)
        run_module('snapshot', dict(backend=b, name='masnap-n', state='absent'))
        # node-a detaches: refused from now on, node-b still connects
        gone = run_module('export', dict(backend=b, volume='mavol2', state='absent',
                                         connector=conns[0]))
        assert not gone.failed, gone
        assert gone['export']['action'] == 'detach' and gone['export']['initiators'] == [NQN_B]
        r = nvme_connect(nqn, NQN_A)
        if r.returncode == 0:
            nvme_disconnect(nqn)
        assert r.returncode != 0, 'the detached host NQN connected'
        r = nvme_connect(nqn, NQN_B)
        assert r.returncode == 0, r.stderr
        nvme_disconnect(nqn)
        last = run_module('export', dict(backend=b, volume='mavol2', state='absent',
                                         connector=conns[1]))
        assert last['export']['action'] == 'delete', last
        assert not os.path.isdir('/sys/kernel/config/nvmet/subsystems/' + nqn)
    finally:
        nvme_disconnect(nqn)
        run_module('export', dict(backend=b, volume='mavol2', state='absent'))
        run_module('volume', dict(backend=b, name='mavol2', state='absent'))


# ------------------------------------------------------------- LVM snapshot exports
@pytest.mark.parametrize('lvm_type', ['default', 'thin'])
def test_lvm_snapshot_exported_read_only_through_lio(rig, lvm_type):
    b = lio_backend(rig, lvm_type=lvm_type)
    vol, snap = 'ravol-%s' % lvm_type, 'rasnap-%s' % lvm_type
    path = make_volume(b, vol)
    old, new = pattern(31, 1 * MiB), pattern(32, 1 * MiB)
    write_dev(path, old)
    res = run_module('snapshot', dict(backend=b, name=snap, volume=vol))
    assert not res.failed, res
    write_dev(path, new)
    iqn = 'iqn.2010-10.org.openstack:%s' % snap
    me = dict(initiator=IQN_A, host='backup01')
    try:
        dry = run_module('export', dict(backend=b, snapshot=snap, connector=me), check=True)
        assert not dry.failed and dry['export']['action'] == 'create', dry
        res = run_module('export', dict(backend=b, snapshot=snap, connector=me))
        assert not res.failed, res
        ex = res['export']
        assert ex['snapshot'] == snap and ex['volume'] == vol and ex['read_only'] is True
        assert res['connection_info']['data']['volume_id'] == snap
        if lvm_type == 'thin':
            # a thin snapshot skips activation: the export activated it (lvchange -ay -K)
            assert ex.get('activated') is True and dry['export'].get('activated') is True
            assert any('lvchange --activate y --ignoreactivationskip' in c
                       for c in res['commands']), res['commands']
        again = run_module('export', dict(backend=b, snapshot=snap, connector=me))
        assert not again.changed, again['commands']
        if lvm_type == 'thin':
            # as after a reboot: LIO lost the export, LVM left the thin snapshot inactive;
            # ensure_all activates it (-K) and restores the export read-only
            import rtslib_fb
            root = rtslib_fb.RTSRoot()
            for t in root.targets:
                if t.wwn == iqn:
                    t.delete()
            for so in root.storage_objects:
                if so.name == snap:
                    so.delete()
            rig.lvm(['lvchange', '--activate', 'n', '%s/%s' % (rig.name, snap)])
            back = run_module('export', dict(backend=b, ensure_all=True))
            assert not back.failed, back
            rec = [e for e in back['exports'] if e.get('snapshot') == snap or e['target'] == iqn]
            assert rec and rec[0]['action'] == 'restore' and rec[0]['read_only'] is True, back
            assert rec[0].get('activated') is True, rec
        # the snapshot is held by its export: deleting it is refused, naming the export
        refused = run_module('snapshot', dict(backend=b, name=snap, state='absent'))
        assert refused.failed and 'is exported' in refused['msg'] and iqn in refused['msg'], refused
        assert snap in ' '.join(rig.lvs()) or ('_' + snap) in ' '.join(rig.lvs())
        user, password = creds(res)
        r = login(iqn, 'cka', user, password)
        assert r.returncode == 0, r.stderr
        dev = session_device(iqn, 'cka')
        got = read(dev, len(old))
        assert got == old and got != new
        assert sh(['blockdev', '--getro', dev]).stdout.strip() == '1'
        failed, why = write_fails(dev)
        assert failed, 'a write to the read-only snapshot export succeeded'
        logout(iqn, 'cka')
        gone = run_module('export', dict(backend=b, snapshot=snap, state='absent'))
        assert gone.changed and gone['export']['action'] == 'delete', gone
        deleted = run_module('snapshot', dict(backend=b, name=snap, state='absent'))
        assert not deleted.failed and deleted.changed, deleted
    finally:
        logout(iqn, 'cka')
        run_module('export', dict(backend=b, snapshot=snap, state='absent'))
        run_module('snapshot', dict(backend=b, name=snap, state='absent'))
        run_module('volume', dict(backend=b, name=vol, state='absent'))
