# -*- coding: utf-8 -*-
"""VM tier: nvmet (NVMe/TCP) exports of LVM volumes, read back with nvme connect."""

import glob
import json
import os
import stat
import subprocess
import time

import pytest

from support import ROOT, LoopVG, block_device_ready, pattern, run_module, sh

MiB = 1024 ** 2
PORT = 4420
PREFIX = 'nvme-subsystem-1'
OTHER_NQN = 'nqn.2014-08.org.nvmexpress:uuid:00000000-1111-2222-3333-444444444444'


def host_nqn():
    return open('/etc/nvme/hostnqn').read().strip()


@pytest.fixture(scope='module')
def nvmet(kernel_targets):
    from support import tool_missing
    missing = tool_missing('nvme', 'blockdev')
    if missing:
        pytest.fail('missing in the guest: %s' % ', '.join(missing))
    for m in ('nvmet', 'nvmet-tcp', 'nvme-tcp'):
        sh(['modprobe', m])
    vg = LoopVG(size_gb=2, activation=True)
    yield vg
    vg.close()


class Vol(object):
    def __init__(self, vg, name, version=1):
        self.name = name
        self.backend = vg.backend(target_helper='nvmet', target_protocol='nvmet_tcp',
                                  target_ip_address='127.0.0.1', target_port=PORT,
                                  target_prefix=PREFIX, nvmeof_conn_info_version=version)
        res = run_module('volume', dict(backend=self.backend, name=name, size='64M'))
        assert not res.failed, res
        self.path = res['volume']['path']
        self.data = pattern(len(name), 4 * MiB)
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, self.data, 0)
            os.fsync(fd)
        finally:
            os.close(fd)

    def export(self, **kw):
        args = dict(backend=self.backend, volume=self.name)
        args.update(kw)
        return run_module('export', args)

    def close(self):
        self.export(state='absent')
        run_module('volume', dict(backend=self.backend, name=self.name, state='absent'))


def connect(nqn, hostnqn):
    return sh(['nvme', 'connect', '-t', 'tcp', '-a', '127.0.0.1', '-s', str(PORT), '-n', nqn,
               '--hostnqn', hostnqn], check=False, timeout=60)


def disconnect(nqn):
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


def read(dev, size):
    with open(dev, 'rb', buffering=0) as fh:
        return fh.read(size)


def size_of(dev):
    return int(sh(['blockdev', '--getsize64', dev]).stdout)


def test_nvmet_tcp_export_reads_the_volume_through_nvme_connect_and_extends(nvmet):
    vol = Vol(nvmet, 'nvol1')
    nqn = 'nqn.%s-nvol1' % PREFIX
    try:
        res = vol.export(connector=dict(nqn=host_nqn(), host='cinderkit-vm'))
        assert not res.failed, res
        assert res.changed and res['export']['action'] == 'create'
        info = res['connection_info']
        assert info['driver_volume_type'] == 'nvmeof'
        d = info['data']
        assert (d['nqn'], d['transport_type'], d['target_portal'], d['target_port'], d['ns_id']) == (
            nqn, 'tcp', '127.0.0.1', str(PORT), '10')
        assert 'auth_password' not in d
        # the v2 shape of the same export (a backend option); nothing changes
        v2 = run_module('export', dict(backend=dict(vol.backend, nvmeof_conn_info_version=2),
                                       volume=vol.name, connector=dict(nqn=host_nqn())))
        assert not v2.failed and not v2.changed, v2
        d2 = v2['connection_info']['data']
        assert d2['target_nqn'] == nqn and d2['ns_id'] == '10'
        assert d2['portals'] == [['127.0.0.1', str(PORT), 'tcp']]
        assert len(d2['vol_uuid']) == 36
        # another host NQN is refused
        bad = connect(nqn, OTHER_NQN)
        if bad.returncode == 0:
            disconnect(nqn)
        assert bad.returncode != 0, 'a host outside allowed_hosts connected'
        ok = connect(nqn, host_nqn())
        assert ok.returncode == 0, ok.stderr
        dev = namespace_device(nqn)
        assert read(dev, len(vol.data)) == vol.data
        assert size_of(dev) == 64 * MiB
        # extend while exported: the namespace revalidates, the host sees the new size
        ext = run_module('extend', dict(backend=vol.backend, name=vol.name, size='128M'))
        assert not ext.failed, ext
        deadline = time.time() + 30
        while size_of(dev) != 128 * MiB and time.time() < deadline:
            sh(['nvme', 'ns-rescan', dev.rsplit('n', 1)[0]], check=False)
            time.sleep(0.5)
        assert size_of(dev) == 128 * MiB
        disconnect(nqn)
        conf = '/etc/nvmet/config.json'
        assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
        saved = json.load(open(conf))
        sub = [s for s in saved['subsystems'] if s['nqn'] == nqn][0]
        assert sub['allowed_hosts'] == [host_nqn()] and sub['attr']['allow_any_host'] == '0'
    finally:
        disconnect(nqn)
        vol.close()
    assert nqn not in open('/etc/nvmet/config.json').read()
    assert not os.path.exists('/sys/kernel/config/nvmet/subsystems/' + nqn)


def _drop_from_configfs(nqn):
    root = '/sys/kernel/config/nvmet'
    for link in glob.glob('%s/ports/*/subsystems/%s' % (root, nqn)):
        os.unlink(link)
    s = '%s/subsystems/%s' % (root, nqn)
    for ns in glob.glob(s + '/namespaces/*'):
        open(ns + '/enable', 'w').write('0')
        os.rmdir(ns)
    for h in glob.glob(s + '/allowed_hosts/*'):
        os.unlink(h)
    os.rmdir(s)


def test_nvmet_lost_export_comes_back_through_ensure_and_the_boot_restore(nvmet):
    vol = Vol(nvmet, 'nvol2')
    nqn = 'nqn.%s-nvol2' % PREFIX
    try:
        res = vol.export(initiators=[host_nqn()])
        assert not res.failed, res
        _drop_from_configfs(nqn)
        back = vol.export(initiators=[host_nqn()])
        assert not back.failed, back
        assert back.changed and back['export']['action'] == 'restore'
        assert not vol.export(initiators=[host_nqn()]).changed
        # the target_helper role's boot-time restore reads the same saved file
        _drop_from_configfs(nqn)
        script = os.path.join(ROOT, 'roles', 'target_helper', 'files', 'cinderkit-nvmet-restore')
        subprocess.check_call(['python3', script, '/etc/nvmet/config.json'])
        assert os.path.isdir('/sys/kernel/config/nvmet/subsystems/' + nqn)
        after = vol.export(initiators=[host_nqn()])
        assert not after.failed and not after.changed, after
        ok = connect(nqn, host_nqn())
        assert ok.returncode == 0, ok.stderr
        assert read(namespace_device(nqn), len(vol.data)) == vol.data
        disconnect(nqn)
        # CHAP is refused with a clear error
        chap = vol.export(initiators=[host_nqn()], auth=dict(method='chap'))
        assert chap.failed and 'does not support CHAP' in chap['msg']
    finally:
        disconnect(nqn)
        vol.close()


NVMET = '/sys/kernel/config/nvmet'
FOREIGN_HOST = 'nqn.2014-08.org.example:their-host'


def _tree():
    """Every node, link and attribute value of nvmet's configfs: what 'nothing changed' means."""
    out = []
    for top, dirs, files in os.walk(NVMET):
        for name in sorted(dirs + files):
            full = os.path.join(top, name)
            if os.path.islink(full):
                out.append((full, '->', os.readlink(full)))
            elif os.path.isfile(full):
                try:
                    out.append((full, open(full).read()))
                except OSError:
                    out.append((full, None))
            else:
                out.append((full,))
    return sorted(out, key=repr)


def _hand_made_subsystem(nqn, device):
    """A subsystem made the way an administrator (or another tool) makes one."""
    s = '%s/subsystems/%s' % (NVMET, nqn)
    os.mkdir(s)
    open(s + '/attr_allow_any_host', 'w').write('0')
    os.mkdir(s + '/namespaces/1')
    open(s + '/namespaces/1/device_path', 'w').write(device)
    open(s + '/namespaces/1/enable', 'w').write('1')
    return s


def test_nvmet_leaves_subsystems_ports_and_hosts_it_did_not_make_alone(nvmet):
    vol = Vol(nvmet, 'nvol3')
    nqn = 'nqn.%s-nvol3' % PREFIX
    os.makedirs('%s/hosts/%s' % (NVMET, FOREIGN_HOST), exist_ok=True)
    port9 = '%s/ports/9' % NVMET
    try:
        # 1. a subsystem named like our export, made by hand on our volume: not ours
        _hand_made_subsystem(nqn, vol.path)
        before = _tree()
        for args in (dict(initiators=[host_nqn()]), dict(state='absent')):
            res = vol.export(**args)
            assert res.failed and nqn in res['msg'] and 'not made by cinderkit' in res['msg'], res
            assert not res.changed and _tree() == before
        res = run_module('volume', dict(backend=vol.backend, name='nvol3', state='absent'))
        assert res.failed and nqn in res['msg'], res                 # it holds the volume
        assert read(vol.path, len(vol.data)) == vol.data and _tree() == before
        _drop_from_configfs(nqn)
        # 2. our own subsystem, removed and re-made by hand under the same NQN: not ours any more
        assert not vol.export(initiators=[host_nqn()]).failed
        _drop_from_configfs(nqn)
        _hand_made_subsystem(nqn, vol.path)
        res = vol.export(state='absent')
        assert res.failed and 'another tool re-made it' in res['msg'], res
        assert os.path.isdir('%s/subsystems/%s' % (NVMET, nqn))
        _drop_from_configfs(nqn)
        # the negative control: our own export goes, and with it only the host entry we made
        assert not vol.export(initiators=[host_nqn()]).failed
        gone = vol.export(state='absent')
        assert not gone.failed and gone.changed, gone
        assert os.path.isdir('%s/hosts/%s' % (NVMET, FOREIGN_HOST)), 'a foreign host entry went'
        # 3. a port made by hand on the address a backend wants
        os.mkdir(port9)
        for k, v in dict(adrfam='ipv4', traddr='127.0.0.1', trsvcid='4429', trtype='tcp').items():
            open('%s/addr_%s' % (port9, k), 'w').write(v)
        other = nvmet.backend(target_helper='nvmet', target_protocol='nvmet_tcp',
                              target_ip_address='127.0.0.1', target_port=4429,
                              target_prefix='nvme-foreign-port', nvmet_port_id=9)
        before = _tree()
        res = run_module('export', dict(backend=other, volume='nvol3', initiators=[host_nqn()]))
        assert res.failed and 'nvmet port 9' in res['msg'] and 'not made by cinderkit' in res['msg']
        assert _tree() == before and os.listdir(port9 + '/subsystems') == []
    finally:
        if os.path.isdir('%s/subsystems/%s' % (NVMET, nqn)):
            _drop_from_configfs(nqn)
        if os.path.isdir(port9):
            os.rmdir(port9)
        vol.close()
        os.rmdir('%s/hosts/%s' % (NVMET, FOREIGN_HOST))
