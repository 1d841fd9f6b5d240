# -*- coding: utf-8 -*-
"""VM tier: the attachment module attaches exports through os-brick, with real sessions.

The guest is both the storage host and the initiator host: export (LIO / nvmet) on
127.0.0.1, attach with os-brick's iSCSI (iscsiadm login) and NVMe/TCP connectors,
write a pattern through the attached device, detach, then read the LV directly.
Modules run in-process (support.run_module): importing os-brick costs 13-21 s here,
once per worker.
"""

import glob
import json
import os
import re
import stat
import subprocess
import time

import pytest

from support import LoopVG, pattern, run_module, sh

MiB = 1024 ** 2
SIZE = 64 * MiB
PIECE = 16 * MiB
OFFSETS = (0, 24 * MiB, SIZE - PIECE)


@pytest.fixture(scope='module')
def env(kernel_targets):
    from support import tool_missing
    missing = tool_missing('iscsiadm', 'iscsid', 'nvme', 'targetcli')
    if missing:
        pytest.fail('missing in the guest: %s' % ', '.join(missing))
    for m in ('target_core_mod', 'iscsi_target_mod', 'target_core_iblock', 'iscsi_tcp',
              'nvmet', 'nvmet-tcp', 'nvme-tcp', 'nvme-fabrics'):
        sh(['modprobe', m])
    started = None
    if subprocess.call(['pidof', 'iscsid'], stdout=subprocess.DEVNULL) != 0:
        sh(['iscsid'])
        time.sleep(1)
        started = sh(['pidof', 'iscsid']).stdout.split()
    vg = LoopVG(size_gb=2, activation=True)
    yield vg
    vg.close()
    for pid in started or ():
        subprocess.call(['kill', pid])


def ok(module, **args):
    check = args.pop('_check', False)
    diff = args.pop('_diff', False)
    res = run_module(module, args, check=check, diff=diff)
    assert not res.failed, '%s failed: %s' % (module, json.dumps(res, default=str)[-3000:])
    return res


def write_pattern(path, seed):
    data = pattern(seed, PIECE * len(OFFSETS))
    fd = os.open(path, os.O_WRONLY)
    try:
        for i, off in enumerate(OFFSETS):
            os.pwrite(fd, data[i * PIECE:(i + 1) * PIECE], off)
        os.fsync(fd)
    finally:
        os.close(fd)
    return data


def read_pattern(path):
    """The pattern's pieces, read with O_DIRECT (no page cache can answer)."""
    import mmap
    out = b''
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        for off in OFFSETS:
            buf = mmap.mmap(-1, PIECE)
            assert os.preadv(fd, [buf], off) == PIECE
            out += bytes(buf)
    finally:
        os.close(fd)
    return out


def is_block(path):
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def iscsi_sessions(iqn):
    out = sh(['iscsiadm', '-m', 'session'], check=False).stdout
    return [line for line in out.splitlines() if iqn in line.split()]


def nvme_controllers(nqn):
    found = []
    for ctl in glob.glob('/sys/class/nvme-fabrics/ctl/nvme*'):
        try:
            if open(os.path.join(ctl, 'subsysnqn')).read().strip() == nqn:
                found.append(os.path.basename(ctl))
        except OSError:
            continue
    return found


def cycle(vg, backend, volume, info, seed, secret=None, live=None):
    """attach (check mode first), write, re-attach (no change), detach, read the LV."""
    lv_path = '/dev/%s/%s' % (vg.name, volume)
    planned = ok('attachment', connection_info=info, _check=True)
    assert planned.changed and planned['attachment']['action'] == 'connect'
    assert not live()
    att = ok('attachment', connection_info=info, _diff=True)
    a = att['attachment']
    assert att.changed and a['action'] == 'connect' and a['attached'] is True, att
    dev = a['path']
    assert is_block(dev) and a['devices'] == [os.path.realpath(dev)]
    assert a['size_bytes'] == SIZE
    assert att['diff'] == {'before': {'attached': False, 'path': None},
                           'after': {'attached': True, 'path': dev}}
    assert len(live()) == 1
    if secret:
        text = json.dumps(att)
        assert secret not in text
        assert secret not in ' '.join(att['commands'])
    data = write_pattern(dev, seed)

    again = ok('attachment', connection_info=info)
    assert again.changed is False and again['attachment']['action'] == 'none', again
    assert again['attachment']['path'] == dev and len(live()) == 1

    det = ok('attachment', connection_info=info, state='absent', _diff=True)
    assert det.changed and det['attachment']['action'] == 'disconnect'
    assert det['attachment']['attached'] is False
    assert det['diff']['after'] == {'attached': False, 'path': None}
    assert live() == [] and not os.path.exists(dev)
    # what went through the initiator is on the LV
    assert read_pattern(lv_path) == data, 'the LV does not hold what was written through %s' % dev

    noop = ok('attachment', connection_info=info, state='absent')
    assert noop.changed is False and noop['attachment']['action'] == 'none'
    return data


def test_iscsi_lio_attach_write_detach_then_read_the_lv(env):
    b = env.backend(target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260)
    ok('volume', backend=b, name='att-iscsi', size='64M')
    try:
        props = ok('attachment', state='connector')
        assert props.changed is False and 'attachment' not in props
        con = props['connector']
        initiator = re.search(r'InitiatorName=(\S+)',
                              open('/etc/iscsi/initiatorname.iscsi').read()).group(1)
        assert con['initiator'] == initiator and con['nqn'] == open('/etc/nvme/hostnqn').read().strip()
        exp = ok('export', backend=b, volume='att-iscsi', connector=con)
        info = exp['connection_info']
        iqn = info['data']['target_iqn']
        assert info['data']['auth_method'] == 'CHAP'
        cycle(env, b, 'att-iscsi', info, 11, secret=info['data']['auth_password'],
              live=lambda: iscsi_sessions(iqn))
        # a wrong CHAP secret: a clear error, no session and no node record left behind
        bad = dict(info, data=dict(info['data'], auth_password='Wrong-secret-123'))
        r = run_module('attachment', dict(connection_info=bad, device_scan_attempts=1))
        assert r.failed and 'connecting iscsi' in r['msg'], r
        assert 'Wrong-secret-123' not in json.dumps(r)
        assert iscsi_sessions(iqn) == []
    finally:
        run_module('export', dict(backend=b, volume='att-iscsi', state='absent'))
        run_module('volume', dict(backend=b, name='att-iscsi', state='absent'))


def test_nvme_tcp_attach_both_shapes_write_detach_then_read_the_lv(env):
    base = env.backend(target_helper='nvmet', target_protocol='nvmet_tcp',
                       target_ip_address='127.0.0.1', target_port=4420,
                       target_prefix='nvme-subsystem-1')
    ok('volume', backend=base, name='att-nvme', size='64M')
    try:
        con = ok('attachment', state='connector')['connector']
        exp = ok('export', backend=base, volume='att-nvme', connector=con)
        info = exp['connection_info']
        nqn = info['data']['nqn']
        assert info['driver_volume_type'] == 'nvmeof' and info['data']['ns_id'] == '10'
        # an int ns_id (os-brick would wait and fail) is passed on as the string it needs
        v1 = dict(info, data=dict(info['data'], ns_id=10, target_port=4420))
        data = cycle(env, base, 'att-nvme', v1, 12, live=lambda: nvme_controllers(nqn))
        # version 2 of the same export reads the same bytes
        v2 = ok('export', backend=dict(base, nvmeof_conn_info_version=2), volume='att-nvme',
                connector=con)['connection_info']
        assert 'portals' in v2['data']
        att = ok('attachment', connection_info=v2)
        assert att.changed and read_pattern(att['attachment']['path']) == data
        assert ok('attachment', connection_info=v2)['changed'] is False
        assert ok('attachment', connection_info=v2, state='absent')['changed']
        assert nvme_controllers(nqn) == []
    finally:
        run_module('export', dict(backend=base, volume='att-nvme', state='absent'))
        run_module('volume', dict(backend=base, name='att-nvme', state='absent'))


def test_local_attach_is_the_device_itself(env):
    b = env.backend()
    ok('volume', backend=b, name='att-local', size='64M')
    try:
        path = '/dev/%s/att-local' % env.name
        info = {'driver_volume_type': 'local', 'data': {'device_path': path}}
        att = ok('attachment', connection_info=info)
        assert att.changed is False and att['attachment']['attached'] is True
        assert att['attachment']['path'] == path and att['attachment']['size_bytes'] == SIZE
        assert ok('attachment', connection_info=info, state='absent')['changed'] is False
        gone = run_module('attachment', dict(connection_info={
            'driver_volume_type': 'local', 'data': {'device_path': '/dev/%s/nope' % env.name}}))
        assert gone.failed and 'not a block device' in gone['msg']
    finally:
        run_module('volume', dict(backend=b, name='att-local', state='absent'))
