# -*- coding: utf-8 -*-
"""Units for the export safety checks: the CHAP and path character sets, the values tgt's
include files may carry, target option checks, the host lock, and LIO's backstore ownership
decision (LIO itself needs configfs: the VM tier runs it)."""

from __future__ import absolute_import, division, print_function

import fcntl
import json
import os

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import _locks, targets
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, InvalidParameter)
from ansible_collections.cinderkit.storage.plugins.module_utils._options import resolve, target_opts
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _base, _lioadm, _tgtadm

SHELL = ['a;b', 'a$(id)', 'a`id`', 'a|b', 'a&b', 'a>b', 'a<b', 'a(b', 'a)b', 'a{b}', 'a b',
         'a\tb', 'a\nb', 'a\x00b', 'a"b', "a'b", 'a#b', 'a\\b', 'a*b', 'a?b', 'a[b', 'a!b',
         'a\x7fb', 'a\u00e9b']


@pytest.mark.parametrize('bad', SHELL)
def test_chap_names_and_secrets_refuse_shell_and_control_characters(bad):
    secret = 'Aa1-padding-' + bad
    assert targets.chap_problem(secret, 'secret'), repr(secret)
    assert targets.chap_problem(bad, 'name'), repr(bad)
    # the message never shows the value
    assert bad not in targets.chap_problem(secret, 'secret')


def test_chap_allowed_sets_and_generated_secrets_stay_inside_them():
    assert targets.chap_problem('ck.user:a@b_c-1', 'name') is None
    assert targets.chap_problem('Aa1._~+=-secret', 'secret') is None
    assert targets.chap_problem('user=1', 'name')           # '=' is for secrets only
    for n in (12, 16, 20, 64):
        for dummy in range(50):
            g = targets.generate_secret(n)
            assert len(g) == n and targets.chap_problem(g, 'secret') is None
            assert targets.chap_problem(g, 'name') is None


@pytest.mark.parametrize('path,ok', [
    ('/dev/vg/lv', True), ('/srv/img/vol-1.img', True), ('/dev/mapper/vg-lv', True),
    ('dev/vg/lv', False), ('/dev/vg/../lv', False), ('/dev//vg', False), ('/dev/vg/', False),
    ('//dev/vg', False), ('/dev/vg/lv\n', False), ('/dev/vg\x00', False), ('', False),
    ('/dev/a b', False), ('/dev/$(id)', False), ('/dev/a"b', False),
])
def test_paths_must_be_absolute_normalised_and_shell_free(path, ok):
    assert (_base.path_problem(path, chars=True) is None) is ok


def test_addresses_and_decimals():
    assert _base.address_problem('127.0.0.1') is None
    assert _base.address_problem('fd00::1') is None and _base.address_problem('[fd00::1]') is None
    assert _base.address_problem('storage01.example.com') is None
    assert _base.address_problem('storage01.example.com', hostnames=False)
    assert _base.address_problem('127.0.0.1;true') and _base.address_problem('1.2.3.4.5')
    assert 'NUL' in _base.address_problem('127.0.0.1\x00')
    assert _base.decimal_problem('1') is None and _base.decimal_problem(10) is None
    assert _base.decimal_problem('\u00b2') and _base.decimal_problem(True)
    assert _base.decimal_problem('-1') and _base.decimal_problem(-1)


def tgt(**over):
    values = dict(volumes_dir='/var/lib/cinder/volumes', target_ip_address='127.0.0.1')
    values.update(over)
    return _tgtadm.TgtAdm(resolve(values, target_opts(), 'test'), CommandRunner())


@pytest.mark.parametrize('over,param', [
    (dict(volumes_dir='volumes'), 'backend.volumes_dir'),
    (dict(volumes_dir='/var/lib/../x'), 'backend.volumes_dir'),
    (dict(volumes_dir='/var/lib/x y'), 'backend.volumes_dir'),
    (dict(iscsi_target_flags='direct\n    initiator-address ALL'), 'backend.iscsi_target_flags'),
    (dict(iscsi_target_flags='odirect'), 'backend.iscsi_target_flags'),
    (dict(target_ip_address='127.0.0.1;id'), 'backend.target_ip_address'),
    (dict(target_secondary_ip_addresses='10.0.0.1,bad host'),
     'backend.target_secondary_ip_addresses[1]'),
])
def test_tgt_refuses_bad_target_options(over, param):
    with pytest.raises(InvalidParameter) as info:
        tgt(**over).check_config()
    assert info.value.param == param


def test_tgt_flags_take_colons_or_commas():
    for flags in ('direct', 'sync', 'direct:sync', 'direct,sync'):
        h = tgt(iscsi_target_flags=flags)
        h.check_config()
        assert h.bsoflags == flags.replace(',', ':')


@pytest.mark.parametrize('field,value', [
    ('path', '/tmp/x\n    initiator-address ALL'), ('path', '/tmp/$(id)'),
    ('password', 'Aa1-secret-$(id)'), ('username', 'us;er'), ('flags', 'direct\nx'),
    ('bsopts', 'conf=/c;id=$(id)'), ('initiator', 'iqn.1994-05.com.example:a\nb'),
])
def test_include_file_render_refuses_what_tgt_admin_would_run(field, value):
    auth = targets.Chap('user1', 'secret-secret-1')
    backing = targets.Backing('file', '/tmp/vol1.img')
    ini, flags = ['iqn.1994-05.com.example:good'], ''
    if field == 'path':
        backing = targets.Backing('file', value)
    elif field == 'password':
        auth = targets.Chap('user1', value)
    elif field == 'username':
        auth = targets.Chap(value, 'secret-secret-1')
    elif field == 'flags':
        flags = value
    elif field == 'bsopts':
        backing = targets.Backing('rbd', 'volumes/vol1', value)
    else:
        ini = [value]
    with pytest.raises(CinderkitError) as info:
        _tgtadm.IncludeFile.render('iqn.2010-10.org.openstack:vol1', 'vol1', backing, 'iscsi',
                                   auth, ini, False, 'on', flags, 'vol1')
    assert 'secret-secret-1' not in info.value.msg
    if field == 'password':
        assert value not in info.value.msg


def test_host_lock_is_reentrant_and_its_wait_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(_locks, 'LOCK_DIRS', (str(tmp_path / 'locks'),))
    with _locks.host_lock('unit-a', timeout=1) as fd:
        gen = _locks.generation('unit-a')
        assert _locks.held('unit-a') and gen is not None
        with _locks.host_lock('unit-a', timeout=0.1) as fd2:    # same process: nested, no wait
            assert fd2 == fd and _locks.generation('unit-a') == gen
        assert _locks.held('unit-a')
    assert not _locks.held('unit-a') and _locks.generation('unit-a') is None
    with _locks.host_lock('unit-a', timeout=1):
        assert _locks.generation('unit-a') != gen               # a new hold: views go stale
    path = _locks.lock_path('unit-b')
    other = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)       # another holder (own descriptor)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        with pytest.raises(_locks.LockTimeout) as info:
            with _locks.host_lock('unit-b', timeout=0.3):
                pass
        assert path in info.value.msg and isinstance(info.value, Conflict)
        assert info.value.result['lock_file'] == path
    finally:
        os.close(other)
    with _locks.host_lock('unit-b', timeout=1):                # released: taken at once
        pass
    assert oct(os.stat(str(tmp_path / 'locks')).st_mode & 0o777) == '0o700'


def test_lock_dir_refuses_a_symlink_and_falls_back(tmp_path):
    target = tmp_path / 'elsewhere'
    target.mkdir()
    link = tmp_path / 'link'
    link.symlink_to(target)
    fallback = tmp_path / 'fallback'
    assert _locks.lock_dir((str(link), str(fallback))) == str(fallback)


def test_helpers_name_their_locks():
    assert tgt().lock_name == 'tgtd-default'
    assert tgt(tgt_control_port=22000).lock_name == 'tgtd-22000'
    assert _lioadm.LioAdm.lock_name == 'lio'
    assert targets.get_target_class('nvmet').lock_name == 'nvmet'


# ------------------------------------------------------------ LIO backstore ownership
WWN = '6f1d4b6e-0b0e-4e5c-9f1a-3d2c1b0a9f8e'


@pytest.mark.parametrize('path,wwn,attached,recorded,want', [
    ('/dev/vg/v1', WWN, False, WWN, 'reuse'),            # ours, the same device
    ('/dev/vg/v1', 'other', True, None, 'reuse'),        # serves a LUN already (our target's)
    ('/dev/vg/old', WWN, False, WWN, 'replace'),         # ours, another device, unused
    ('/dev/vg/v1', 'other', False, None, Conflict),      # someone else's, unused: left alone
    ('/dev/vg/v1', 'other', False, WWN, Conflict),       # same name re-made by someone else
    ('/dev/vg/old', 'other', False, None, Conflict),     # someone else's, another device
    ('/dev/vg/old', WWN, True, WWN, Conflict),           # in use for another device
])
def test_lio_backstore_decision(path, wwn, attached, recorded, want):
    args = ('block/v1', path, wwn, attached, '/dev/vg/v1', recorded)
    if want is Conflict:
        with pytest.raises(Conflict) as info:
            _lioadm.backstore_decision(*args)
        assert 'block/v1' in info.value.msg
    else:
        assert _lioadm.backstore_decision(*args) == want


class FakeSO(object):
    """rtslib's StorageObject at the process boundary (no configfs on the unit host)."""

    def __init__(self, root, name, dev, wwn, plugin='block', attached=()):
        self.root, self.name, self.udev_path, self.wwn, self.plugin = root, name, dev, wwn, plugin
        self.attached_luns = list(attached)
        # no configfs directory: attached() falls back to attached_luns
        self.path = '/nonexistent/cinderkit-unit/%s_%s' % (plugin, name)
        root.storage_objects.append(self)

    def delete(self):
        self.root.storage_objects.remove(self)


class WalkCounter(object):
    """A backstore whose rtslib walk (attached_luns) is counted."""

    def __init__(self, path, luns=()):
        self.path, self.walks, self._luns = path, 0, list(luns)

    @property
    def attached_luns(self):
        self.walks += 1
        return iter(self._luns)


@pytest.mark.parametrize('members,want', [
    ({'default_tg_pt_gp': 'iSCSI/iqn.2010-10.org.openstack:v1/tpgt_1/lun_0\n'}, True),
    ({'default_tg_pt_gp': '', 'ck_group': 'iSCSI/iqn.x:y/tpgt_1/lun_3\n'}, True),
    ({'default_tg_pt_gp': '\n'}, False),
])
def test_lio_attached_reads_alua_members_without_walking_targets(tmp_path, members, want):
    for group, text in members.items():
        (tmp_path / 'alua' / group).mkdir(parents=True)
        (tmp_path / 'alua' / group / 'members').write_text(text)
    # the walk would answer the opposite: a read of the members files must decide
    so = WalkCounter(str(tmp_path), luns=() if want else ('lun',))
    assert _lioadm.attached(so) is want
    assert so.walks == 0


def test_lio_attached_walks_when_configfs_has_no_alua_groups(tmp_path):
    so = WalkCounter(str(tmp_path / 'gone'), luns=('lun',))
    assert _lioadm.attached(so) is True and so.walks == 1
    so = WalkCounter(str(tmp_path / 'gone'))
    assert _lioadm.attached(so) is False and so.walks == 1


class FakeRts(object):
    class RTSLibError(Exception):
        pass

    def __init__(self):
        self.storage_objects = []
        rts = self

        def block(name, dev=None, wwn=None):
            return FakeSO(rts, name, dev, wwn)
        self.BlockStorageObject = block


def lio(tmp_path):
    h = _lioadm.LioAdm(resolve(dict(target_helper='lioadm', target_ip_address='127.0.0.1'),
                               target_opts(), 'test'), CommandRunner())
    fake = FakeRts()
    h._rts, h._root = fake, fake
    return h, fake


def test_lio_storage_object_keeps_foreign_backstores_and_records_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(_locks, 'LOCK_DIRS', (str(tmp_path / 'locks'),))
    monkeypatch.setattr(_lioadm.LioAdm, 'save_file',
                        property(lambda self: str(tmp_path / 'saveconfig.json')))
    h, fake = lio(tmp_path)
    spec = targets.ExportSpec('vol1', targets.Backing('block', '/dev/vg/vol1'))
    foreign = FakeSO(fake, 'vol1', '/dev/vg/vol1', 'their-wwn')
    with pytest.raises(Conflict):
        h._storage_object(spec)
    assert fake.storage_objects == [foreign]                    # not deleted, not replaced
    foreign.delete()
    so = h._storage_object(spec)                                # ours: a new WWN, recorded
    assert so.wwn and h.records() == {'block/vol1': so.wwn}
    saved = json.loads((tmp_path / _lioadm.RECORD_NAME).read_text())
    assert saved['backstores'] == {'block/vol1': so.wwn}
    assert h._storage_object(spec) is so                        # the same device: reused
    moved = targets.ExportSpec('vol1', targets.Backing('block', '/dev/vg/other'))
    again = h._storage_object(moved)                            # ours, unused: replaced
    assert again is not so and fake.storage_objects == [again]
    assert h.records() == {'block/vol1': again.wwn}
