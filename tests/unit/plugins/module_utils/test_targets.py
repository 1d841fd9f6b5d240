# -*- coding: utf-8 -*-
"""Units for the target layer: name/secret checks, the tgt report parser, include files,
connection info shapes (pure Python; the host and VM tiers run the real targets)."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import targets
from ansible_collections.cinderkit.storage.plugins.module_utils._options import resolve, target_opts
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _tgtadm

SHOW = """Target 1: iqn.2010-10.org.openstack:vol1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 3
            Initiator: iqn.1994-05.com.example:good alias: host1
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            SCSI ID: IET     00010000
            SCSI SN: beaf10
            Size: 0 MB, Block size: 1
            Backing store type: null
            Backing store path: None
            Backing store flags:
        LUN: 1
            Type: disk
            SCSI ID: vol1
            SCSI SN: vol1
            Size: 67 MB, Block size: 512
            Backing store type: rdwr
            Backing store path: /tmp/vol1.img
            Backing store flags:
    Account information:
        user1
        tuser1 (outgoing)
    ACL information:
        255.255.255.255
        iqn.1994-05.com.example:good
Target 2: iqn.2003-01.org.other:foreign
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
    Account information:
    ACL information:
        ALL
"""


def test_parse_show_gives_typed_records():
    t = _tgtadm.parse_show(SHOW)
    assert sorted(t) == ['iqn.2003-01.org.other:foreign', 'iqn.2010-10.org.openstack:vol1']
    v = t['iqn.2010-10.org.openstack:vol1']
    assert v.tid == 1 and v.luns[1].path == '/tmp/vol1.img' and v.luns[1].bstype == 'rdwr'
    assert v.luns[0].path is None and v.luns[1].scsi_sn == 'vol1'
    assert v.accounts == ['user1'] and v.outgoing == ['tuser1']
    assert v.names == ['iqn.1994-05.com.example:good'] and v.addresses == ['255.255.255.255']
    assert v.sessions == ['iqn.1994-05.com.example:good']
    assert t['iqn.2003-01.org.other:foreign'].acls == ['ALL']


def test_include_file_round_trip_keeps_secrets_and_acl():
    auth = targets.Chap('user1', 'secret-secret-1', 'tuser', 'secret-secret-2')
    text = _tgtadm.IncludeFile.render('iqn.2010-10.org.openstack:vol1', 'vol1',
                                      targets.Backing('file', '/tmp/vol1.img'), 'iscsi', auth,
                                      ['iqn.1994-05.com.example:good'], False, 'on', '', 'vol1')
    f = _tgtadm.IncludeFile.parse('/x/vol1', text)
    assert f.target == 'iqn.2010-10.org.openstack:vol1' and f.backing_store == '/tmp/vol1.img'
    assert f.chap() == auth
    assert f.names == ['iqn.1994-05.com.example:good']
    assert f.addresses == [targets._base.TGT_NO_ADDRESS]
    assert f.meta['volume'] == 'vol1'
    rbd = _tgtadm.IncludeFile.render('iqn.x:y', 'y', targets.Backing('rbd', 'volumes/y', 'conf=/c;id=a'),
                                     'iscsi', None, [], True, 'off', 'direct', 'y')
    assert 'bs-type rbd' in rbd and 'bsopts "conf=/c;id=a"' in rbd and 'initiator-' not in rbd
    g = _tgtadm.IncludeFile.parse('/x/y', rbd)
    assert g.bstype == 'rbd' and g.bsopts == 'conf=/c;id=a' and g.bsoflags == 'direct'


@pytest.mark.parametrize('name,ok', [
    ('iqn.1994-05.com.example:good', True),
    ('iqn.2004-10.com.ubuntu:01:3f2a1b0c9d8e', True),
    ('eui.02004567a425678d', True),
    ('naa.52004567ba64678d', True),
    ('iqn.2004-1.com.example:x', False),
    ('iqn.2004-13.com.example:x', False),
    ('iqn.1994-05.com.Example:x', False),
    ('iqn.1994-05.com.example:a b', False),
    ('iqn.1994-05.com.example:under_score', False),
    ('not-an-iqn', False),
    ('iqn.1994-05.com.example:' + 'x' * 220, False),
])
def test_iqn_check(name, ok):
    assert (targets.iqn_problem(name) is None) == ok


@pytest.mark.parametrize('name,ok', [
    ('nqn.2014-08.org.nvmexpress:uuid:2b1e9b0a-7c1f-4f5e-9a51-0c3d5e6f7a81', True),
    ('nqn.2016-06.io.spdk:cnode1', True),
    ('nqn.bad name', False),
    ('iqn.1994-05.com.example:x', False),
    ('nqn.2014-08.org.nvmexpress', False),
])
def test_nqn_check(name, ok):
    assert (targets.nqn_problem(name) is None) == ok


def test_chap_checks_never_show_the_value():
    p = targets.chap_problem('short', 'secret')
    assert 'at least 12' in p and 'short' not in p
    assert targets.chap_problem('Good-Secret-123', 'secret') is None
    assert 'blank' in targets.chap_problem('with blank secret', 'secret')
    assert targets.chap_problem('x' * 256, 'secret')
    g = targets.generate_secret(16)
    assert len(g) == 16 and g.isalnum() and targets.chap_problem(g, 'secret') is None


def config(**over):
    raw = dict(target_ip_address='192.0.2.10')
    raw.update(over)
    return resolve(raw, target_opts(), 'test')


def test_iscsi_connection_info_shape():
    helper = targets.load_target(config(target_secondary_ip_addresses=['192.0.2.11']),
                                 CommandRunner())
    exp = targets.Export('vol1', 'iqn.2010-10.org.openstack:vol1',
                         auth=targets.Chap('u' * 20, 'p' * 16))
    info = helper.initialize_connection(exp, {'initiator': 'iqn.1994-05.com.example:x'})
    assert info['driver_volume_type'] == 'iscsi'
    d = info['data']
    assert d['target_portals'] == ['192.0.2.10:3260', '192.0.2.11:3260']
    assert d['target_iqns'] == ['iqn.2010-10.org.openstack:vol1'] * 2
    assert d['target_luns'] == [1, 1] and d['target_lun'] == 1
    assert (d['auth_method'], d['auth_username'], d['auth_password']) == ('CHAP', 'u' * 20, 'p' * 16)
    assert d['discard'] is False and d['volume_id'] == 'vol1'


@pytest.mark.parametrize('version', [1, 2])
def test_nvme_connection_info_shapes(version):
    cfg = config(target_helper='nvmet', target_protocol='nvmet_tcp', target_port=4420,
                 target_prefix='nvme-subsystem-1', nvmeof_conn_info_version=version)
    helper = targets.load_target(cfg, CommandRunner())
    name = helper.target_name('vol1')
    assert name == 'nqn.nvme-subsystem-1-vol1' and helper.volume_of(name) == 'vol1'
    exp = targets.Export('vol1', name, lun=10)
    d = helper.initialize_connection(exp, {'nqn': 'nqn.2014-08.org.nvmexpress:uuid:x'})['data']
    if version == 1:
        assert d == dict(target_portal='192.0.2.10', target_port='4420', nqn=name,
                         transport_type='tcp', ns_id='10', discard=False, encrypted=False)
    else:
        assert d['target_nqn'] == name and d['portals'] == [['192.0.2.10', '4420', 'tcp']]
        assert d['ns_id'] == '10' and d['vol_uuid'] == targets._base.volume_uuid('vol1', name)


def test_helpers_declare_online_extend_honestly():
    reg = targets.registered_targets()
    assert reg['tgtadm'].online_extend is False
    assert reg['lioadm'].online_extend is True and reg['nvmet'].online_extend is True
    assert reg['tgtadm'].supports(reg['tgtadm'], 'mutual_chap')
    assert not reg['nvmet'].supports(reg['nvmet'], 'chap')


def test_read_only_luns_round_trip_through_show_and_include_files():
    t = _tgtadm.parse_show(SHOW.replace('            Backing store flags:\n    Account',
                                        '            Backing store flags:\n'
                                        '            Readonly: Yes\n    Account'))
    assert t['iqn.2010-10.org.openstack:vol1'].luns[1].readonly is True
    assert _tgtadm.parse_show(SHOW)['iqn.2010-10.org.openstack:vol1'].luns[1].readonly is False
    ro = targets.Backing('file', '/tmp/snap1', read_only=True)
    text = _tgtadm.IncludeFile.render('iqn.x:snap1', 'snap1', ro, 'iscsi', None,
                                      ['iqn.1994-05.com.example:good'], False, 'on', '', 'snap1')
    assert '    readonly 1' in text
    f = _tgtadm.IncludeFile.parse('/x/snap1', text)
    assert f.readonly is True and f.meta['read_only'] is True
    rw = _tgtadm.IncludeFile.render('iqn.x:v', 'v', targets.Backing('file', '/tmp/v'), 'iscsi',
                                    None, [], True, 'on', '', 'v')
    assert 'readonly' not in rw and not _tgtadm.IncludeFile.parse('/x/v', rw).readonly


def test_multiattach_is_declared_by_the_helpers_that_have_an_acl_per_initiator():
    reg = targets.registered_targets()
    for name in ('tgtadm', 'lioadm', 'nvmet'):
        assert 'multiattach' in reg[name].features, name
    assert 'multiattach' not in reg['native'].features
    assert 'snapshot_export' in reg['tgtadm'].features and 'snapshot_export' in reg['lioadm'].features
    # nvmet: only where configfs shows a read-only namespace attribute (none here)
    nv = reg['nvmet'](config(target_helper='nvmet', target_protocol='nvmet_tcp'), CommandRunner(),
                      root='/nonexistent')
    assert not nv.supports('snapshot_export') and 'read-only' in nv.read_only_unsupported()


def test_backend_multiattach_needs_the_driver_and_the_helper():
    from ansible_collections.cinderkit.storage.plugins.module_utils import drivers
    from ansible_collections.cinderkit.storage.plugins.module_utils._backend import Backend

    class Cfg(dict):
        def get(self, key, default=None):
            return dict.get(self, key, default)

    def pair(driver, helper):
        return Backend(drivers.get_driver_class(driver), Cfg(target_helper=helper), None).multiattach()
    assert pair('lvm', 'tgtadm') and pair('lvm', 'lioadm') and pair('lvm', 'nvmet')
    assert pair('file', 'tgtadm')
    assert not pair('rbd', None)          # native
    assert not pair('rbd', 'tgtadm')      # the RBD driver does not declare it
