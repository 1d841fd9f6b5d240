# -*- coding: utf-8 -*-
"""VM tier: LIO exports of LVM volumes, read back through open-iscsi (iscsiadm) with CHAP.

One flow per test, sharing one VG; modules run in-process (starting Python costs seconds here).
"""

import json
import os
import re
import stat
import subprocess
import time

import pytest

from support import LoopVG, block_device_ready, pattern, run_module, sh

MiB = 1024 ** 2
PORTAL = '127.0.0.1:3260'


def initiator_name():
    with open('/etc/iscsi/initiatorname.iscsi') as fh:
        return re.search(r'InitiatorName=(\S+)', fh.read()).group(1)


@pytest.fixture(scope='module')
def lio(need_tools, kernel_targets):
    for m in ('target_core_mod', 'iscsi_target_mod', 'target_core_iblock', 'target_core_file',
              'iscsi_tcp'):
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


@pytest.fixture(scope='module')
def need_tools():
    from support import tool_missing
    missing = tool_missing('iscsiadm', 'iscsid', 'blockdev', 'targetcli')
    if missing:
        pytest.fail('missing in the guest: %s' % ', '.join(missing))


class Vol(object):
    def __init__(self, vg, name, size=64 * MiB):
        self.vg = vg
        self.name = name
        self.backend = vg.backend(target_helper='lioadm', target_ip_address='127.0.0.1',
                                  target_port=3260)
        res = run_module('volume', dict(backend=self.backend, name=name, size='%dM' % (size // MiB)))
        assert not res.failed, res
        self.path = res['volume']['path']
        self.data = pattern(hash(name) & 0xffff, 4 * MiB)
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


def iscsiadm(*args, check=True):
    return sh(['iscsiadm'] + list(args), check=check, timeout=120)


def login(iqn, user, password):
    # a new node record (discovery hides targets whose ACL lacks this initiator)
    iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-o', 'new', check=False)
    # a refused login must come back quickly: open-iscsi retries a failed first login
    # (initial_login_retry_max 8 x login_timeout 15 s = 120 s) before it gives up
    for key, value in (('node.session.auth.authmethod', 'CHAP'),
                       ('node.session.auth.username', user),
                       ('node.session.auth.password', password),
                       ('node.session.initial_login_retry_max', '1'),
                       ('node.conn[0].timeo.login_timeout', '10')):
        iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-o', 'update', '-n', key, '-v', value)
    return iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '--login', check=False)


def logout(iqn):
    iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '--logout', check=False)
    iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-o', 'delete', check=False)


def session_device(iqn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = iscsiadm('-m', 'session', '-P3', check=False).stdout
        block = out.split('Target: ')
        for b in block:
            if b.startswith(iqn):
                m = re.search(r'Attached scsi disk (\w+)', b)
                if m and block_device_ready('/dev/' + m.group(1)):
                    return '/dev/' + m.group(1)
        time.sleep(0.3)
    raise AssertionError('no SCSI disk for %s after %ss' % (iqn, timeout))


def read(dev, size):
    fd = os.open(dev, os.O_RDONLY | getattr(os, 'O_DIRECT', 0))
    try:
        import mmap
        buf = mmap.mmap(-1, size)
        os.readv(fd, [buf])
        return bytes(buf[:size])
    finally:
        os.close(fd)


def size_of(dev):
    return int(sh(['blockdev', '--getsize64', dev]).stdout)


def test_lio_export_with_chap_reads_the_volume_through_iscsiadm_and_extends(lio):
    vol = Vol(lio, 'liovol1')
    iqn = None
    try:
        res = vol.export(connector=dict(initiator=initiator_name(), host='cinderkit-vm'))
        assert not res.failed, res
        assert res.changed and res['export']['action'] == 'create'
        data = res['connection_info']['data']
        iqn = data['target_iqn']
        assert iqn == 'iqn.2010-10.org.openstack:liovol1'
        assert data['target_lun'] == 0 and data['target_portal'] == PORTAL
        assert data['auth_method'] == 'CHAP' and len(data['auth_password']) == 16
        again = vol.export(connector=dict(initiator=initiator_name()))
        assert not again.changed and again['connection_info'] == res['connection_info']
        # saved for LIO's restore service, readable by root only
        save = res['export'].get('save_file') or _save_file()
        assert stat.S_IMODE(os.stat(save).st_mode) == 0o600
        assert iqn in open(save).read()
        # a wrong secret is refused
        bad = login(iqn, data['auth_username'], data['auth_password'][:-1] + '#')
        assert bad.returncode != 0, 'a wrong CHAP secret logged in'
        logout(iqn)
        # the right one reads the bytes written to the volume
        good = login(iqn, data['auth_username'], data['auth_password'])
        assert good.returncode == 0, good.stderr
        dev = session_device(iqn)
        assert read(dev, len(vol.data)) == vol.data
        assert size_of(dev) == 64 * MiB
        # extend while exported: the initiator sees the new size after a rescan
        ext = run_module('extend', dict(backend=vol.backend, name=vol.name, size='128M'))
        assert not ext.failed, ext
        iscsiadm('-m', 'session', '-R')
        deadline = time.time() + 30
        while size_of(dev) != 128 * MiB and time.time() < deadline:
            time.sleep(0.5)
        assert size_of(dev) == 128 * MiB
        assert read(dev, len(vol.data)) == vol.data
        logout(iqn)
    finally:
        if iqn:
            logout(iqn)
        vol.close()
    assert iqn not in open(_save_file()).read()


def test_lio_acl_refuses_other_initiators_and_ensure_restores(lio):
    vol = Vol(lio, 'liovol2')
    try:
        res = vol.export(initiators=['iqn.1994-05.com.example:somebody-else'])
        assert not res.failed, res
        data = res['connection_info']['data']
        iqn = data['target_iqn']
        # this guest's initiator is not in the ACL: the login is refused
        r = login(iqn, data['auth_username'], data['auth_password'])
        logout(iqn)
        assert r.returncode != 0, 'an initiator outside the ACL logged in'
        # the target loses the export (as after a restart without restore): the ensure path
        # brings it back from LIO's saveconfig with the same credentials and ACL
        import rtslib_fb
        root = rtslib_fb.RTSRoot()
        for t in root.targets:
            if t.wwn == iqn:
                t.delete()
        back = vol.export(initiators=['iqn.1994-05.com.example:somebody-else'])
        assert not back.failed, back
        assert back.changed and back['export']['action'] == 'restore'
        assert back['connection_info'] == res['connection_info']
        assert any(t.wwn == iqn for t in rtslib_fb.RTSRoot().targets)
        assert not vol.export(initiators=['iqn.1994-05.com.example:somebody-else']).changed
        # mutual CHAP and ensure_all with nothing lost
        mut = vol.export(initiators=[initiator_name()], auth=dict(mutual=True))
        assert mut.changed and 'auth_password_in' in mut['connection_info']['data']
        allres = run_module('export', dict(backend=vol.backend, ensure_all=True))
        assert not allres.failed and not allres.changed, allres
    finally:
        vol.close()


def _save_file():
    import rtslib_fb.root
    return rtslib_fb.root.default_save_file


def test_lio_saved_config_is_json_with_our_target(lio):
    vol = Vol(lio, 'liovol3')
    try:
        res = vol.export(allow_any_host=True)
        assert not res.failed, res
        conf = json.load(open(_save_file()))
        t = [x for x in conf['targets'] if x['wwn'] == 'iqn.2010-10.org.openstack:liovol3']
        assert t and t[0]['tpgs'][0]['attributes']['generate_node_acls'] == 1
    finally:
        vol.close()


def _backstore(name):
    import rtslib_fb
    found = [so for so in rtslib_fb.RTSRoot().storage_objects if so.name == name]
    return found[0] if found else None


@pytest.mark.parametrize('foreign', [True, False], ids=['foreign-lun', 'control-no-foreign-lun'])
def test_lio_remove_keeps_a_backstore_that_another_target_maps(lio, foreign):
    """Removing our export deletes our backstore only when no other LUN (of a target we did not
    make) serves it.  The live check reads the backstore's ALUA members (no walk of every target):
    the foreign LUN counts in the default group and after it moves to a group of its own.  The
    control (no foreign LUN) shows the backstore does go, so the kept case can fail."""
    import rtslib_fb
    from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _lioadm
    name = 'liovol4' if foreign else 'liovol5'
    vol = Vol(lio, name)
    other = None
    try:
        res = vol.export(allow_any_host=True)
        assert not res.failed, res
        so = _backstore(name)
        assert so is not None
        members = open(os.path.join(so.path, 'alua', 'default_tg_pt_gp', 'members')).read()
        assert 'iSCSI/iqn.2010-10.org.openstack:%s/tpgt_1/lun_0' % name in members, members
        assert _lioadm.attached(so) is True
        if foreign:
            other = rtslib_fb.Target(rtslib_fb.FabricModule('iscsi'), 'iqn.2003-01.org.example:other')
            lun = rtslib_fb.LUN(rtslib_fb.TPG(other, 1), 0, so)
            rtslib_fb.ALUATargetPortGroup(so, 'ck_other', tag=7)
            lun.alua_tg_pt_gp_name = 'ck_other'
            assert lun.alua_tg_pt_gp_name == 'ck_other'
        gone = vol.export(state='absent')
        assert not gone.failed and gone.changed, gone
        assert not any(t.wwn == 'iqn.2010-10.org.openstack:%s' % name
                       for t in rtslib_fb.RTSRoot().targets)
        so = _backstore(name)
        if not foreign:
            assert so is None, 'our backstore outlived our export with no other LUN on it'
            return
        assert so is not None, 'removing our export deleted a backstore another target serves'
        assert _lioadm.attached(so) is True and list(so.attached_luns)
        luns = list(rtslib_fb.Target(rtslib_fb.FabricModule('iscsi'), other.wwn,
                                     mode='lookup').tpgs)[0].luns
        assert [x.storage_object.name for x in luns] == [name]
    finally:
        if other is not None:
            other.delete()
            so = _backstore(name)
            if so is not None:
                so.delete()
        vol.close()
