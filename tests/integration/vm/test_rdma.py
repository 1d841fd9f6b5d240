# -*- coding: utf-8 -*-
"""VM tier: NVMe/RDMA and iSER exports over soft-RoCE, read back through real initiators.

The guest has no RDMA NIC: ``rdma_rxe`` makes one on a veth pair (the harness's soft-RoCE,
``rdma link add rxe0 type rxe netdev ck-rxe0``), the same driver a RoCE NIC would use.
"""

import os
import subprocess

import pytest

from support import LoopVG, pattern, run_module, sh
from test_export_lio import iscsiadm, read, session_device
from test_export_nvmet import host_nqn, namespace_device

MiB = 1024 ** 2
ADDR = '192.168.77.1'


@pytest.fixture(scope='module')
def soft_roce(kernel_targets):
    sh(['modprobe', 'rdma_rxe'])
    sh(['ip', 'link', 'add', 'ck-rxe0', 'type', 'veth', 'peer', 'name', 'ck-rxe1'])
    try:
        sh(['ip', 'addr', 'add', ADDR + '/24', 'dev', 'ck-rxe0'])
        for dev in ('ck-rxe0', 'ck-rxe1'):
            sh(['ip', 'link', 'set', dev, 'up'])
        sh(['rdma', 'link', 'add', 'ck-rxe', 'type', 'rxe', 'netdev', 'ck-rxe0'])
        assert 'ck-rxe' in sh(['rdma', 'link']).stdout
        for m in ('nvmet', 'nvmet-rdma', 'nvme-rdma', 'target_core_mod', 'iscsi_target_mod'):
            sh(['modprobe', m])
        started = None
        if subprocess.call(['pidof', 'iscsid'], stdout=subprocess.DEVNULL) != 0:
            sh(['iscsid'])
            started = sh(['pidof', 'iscsid']).stdout.split()
        vg = LoopVG(size_gb=1, activation=True)
        yield vg
        vg.close()
        for pid in started or ():
            subprocess.call(['kill', pid])
    finally:
        sh(['rdma', 'link', 'delete', 'ck-rxe'], check=False)
        sh(['ip', 'link', 'delete', 'ck-rxe0'], check=False)


def _volume(vg, backend, name):
    res = run_module('volume', dict(backend=backend, name=name, size='64M'))
    assert not res.failed, res
    data = pattern(len(name) + 7, 2 * MiB)
    fd = os.open(res['volume']['path'], os.O_WRONLY)
    try:
        os.pwrite(fd, data, 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    return data


def test_nvme_rdma_export_reads_through_soft_roce(soft_roce):
    backend = soft_roce.backend(target_helper='nvmet', target_protocol='nvmet_rdma',
                                target_ip_address=ADDR, target_port=4420, nvmet_port_id=7,
                                target_prefix='nvme-rdma', nvmeof_conn_info_version=2)
    data = _volume(soft_roce, backend, 'rdmavol')
    nqn = None
    try:
        res = run_module('export', dict(backend=backend, volume='rdmavol',
                                        connector=dict(nqn=host_nqn())))
        assert not res.failed, res
        d = res['connection_info']['data']
        assert d['portals'] == [[ADDR, '4420', 'RoCEv2']], d
        nqn = d['target_nqn']
        assert open('/sys/kernel/config/nvmet/ports/7/addr_trtype').read().strip() == 'rdma'
        r = sh(['nvme', 'connect', '-t', 'rdma', '-a', ADDR, '-s', '4420', '-n', nqn,
                '--hostnqn', host_nqn()], check=False, timeout=60)
        assert r.returncode == 0, r.stderr
        dev = namespace_device(nqn)
        assert open('/sys/class/nvme/%s/transport' % _ctrl_of(nqn)).read().strip() == 'rdma'
        assert read(dev, len(data)) == data
        assert not run_module('export', dict(backend=backend, volume='rdmavol',
                                             connector=dict(nqn=host_nqn()))).changed
    finally:
        if nqn:
            sh(['nvme', 'disconnect', '-n', nqn], check=False, timeout=60)
        run_module('export', dict(backend=backend, volume='rdmavol', state='absent'))
        run_module('volume', dict(backend=backend, name='rdmavol', state='absent'))


def _ctrl_of(nqn):
    for ctrl in os.listdir('/sys/class/nvme'):
        try:
            if open('/sys/class/nvme/%s/subsysnqn' % ctrl).read().strip() == nqn:
                return ctrl
        except OSError:
            continue
    raise AssertionError('no controller for %s' % nqn)


def test_iser_export_logs_in_through_an_iser_iface(soft_roce):
    backend = soft_roce.backend(target_helper='lioadm', target_protocol='iser',
                                target_ip_address=ADDR, target_port=3260)
    data = _volume(soft_roce, backend, 'iservol')
    iqn = None
    portal = '%s:3260' % ADDR
    try:
        with open('/etc/iscsi/initiatorname.iscsi') as fh:
            ini = fh.read().split('=', 1)[1].strip()
        res = run_module('export', dict(backend=backend, volume='iservol',
                                        connector=dict(initiator=ini)))
        assert not res.failed, res
        info = res['connection_info']
        assert info['driver_volume_type'] == 'iser', info
        d = info['data']
        iqn = d['target_iqn']
        iscsiadm('-m', 'iface', '-I', 'ck-iser', '-o', 'new', check=False)
        iscsiadm('-m', 'iface', '-I', 'ck-iser', '-o', 'update', '-n', 'iface.transport_name',
                 '-v', 'iser')
        iscsiadm('-m', 'node', '-T', iqn, '-p', portal, '-I', 'ck-iser', '-o', 'new')
        for key, value in (('node.session.auth.authmethod', 'CHAP'),
                           ('node.session.auth.username', d['auth_username']),
                           ('node.session.auth.password', d['auth_password']),
                           ('node.session.initial_login_retry_max', '1'),
                           ('node.conn[0].timeo.login_timeout', '10')):
            iscsiadm('-m', 'node', '-T', iqn, '-p', portal, '-I', 'ck-iser', '-o', 'update',
                     '-n', key, '-v', value)
        r = iscsiadm('-m', 'node', '-T', iqn, '-p', portal, '-I', 'ck-iser', '--login',
                     check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        sess = iscsiadm('-m', 'session', '-P', '1').stdout
        assert 'Iface Transport: iser' in sess, sess
        assert read(session_device(iqn), len(data)) == data
    finally:
        if iqn:
            iscsiadm('-m', 'node', '-T', iqn, '-p', portal, '-I', 'ck-iser', '--logout',
                     check=False)
            iscsiadm('-m', 'node', '-T', iqn, '-p', portal, '-I', 'ck-iser', '-o', 'delete',
                     check=False)
        iscsiadm('-m', 'iface', '-I', 'ck-iser', '-o', 'delete', check=False)
        run_module('export', dict(backend=backend, volume='iservol', state='absent'))
        run_module('volume', dict(backend=backend, name='iservol', state='absent'))


def test_rdma_without_an_rdma_device_is_refused_and_changes_nothing(soft_roce):
    backend = soft_roce.backend(target_helper='nvmet', target_protocol='nvmet_rdma',
                                target_ip_address='127.0.0.1', target_port=4420, nvmet_port_id=8,
                                target_prefix='nvme-rdma')
    _volume(soft_roce, backend, 'nordma')
    try:
        res = run_module('export', dict(backend=backend, volume='nordma',
                                        connector=dict(nqn=host_nqn())))
        assert res.failed and 'backend.target_protocol' in res['msg'], res
        assert 'lo, which has no RDMA device' in res['msg'], res['msg']
        assert not os.path.exists('/sys/kernel/config/nvmet/ports/8')
        assert not [s for s in os.listdir('/sys/kernel/config/nvmet/subsystems') if 'nordma' in s]
    finally:
        run_module('volume', dict(backend=backend, name='nordma', state='absent'))
