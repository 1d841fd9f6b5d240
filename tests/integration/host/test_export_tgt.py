# -*- coding: utf-8 -*-
"""Host tier: the export module with tgtd and real libiscsi/qemu-img initiators.

tgtd runs on this host with its own control port and portal (export_support.TgtDaemon);
LUNs are backed by files (an LV has no device node here: no device-mapper).
"""

import os
import stat

import pytest

from support import run_module, sh
from export_support import (EVIL_IQN, GOOD_IQN, OTHER_IQN, backing_file, iscsi_login_ok,
                            iscsi_read)

MiB = 1024 ** 2


@pytest.fixture
def env(tgt_env):
    return tgt_env


def export(env, volume='vol1', device_path=None, **kw):
    args = dict(backend=env.backend, volume=volume, device_path=device_path or env.file)
    if 'connector' not in kw and 'initiators' not in kw and 'allow_any_host' not in kw \
            and kw.get('state') != 'absent':
        kw['connector'] = dict(initiator=GOOD_IQN, host='compute01', ip='127.0.0.1',
                               multipath=False)
    args.update(kw)
    return run_module('export', args)


def creds(res):
    d = res['connection_info']['data']
    return d['auth_username'], d['auth_password']


def test_export_with_generated_chap_reads_the_volume_bytes(env):
    res = export(env)
    assert not res.failed, res
    assert res.changed and res['export']['action'] == 'create'
    info = res['connection_info']
    assert info['driver_volume_type'] == 'iscsi'
    data = info['data']
    assert data['target_iqn'] == 'iqn.2010-10.org.openstack:vol1'
    assert data['target_portal'] == '127.0.0.1:%d' % env.tgtd.port
    assert data['target_lun'] == 1
    assert data['volume_id'] == 'vol1'
    assert data['discard'] is False and data['target_discovered'] is False
    assert data['auth_method'] == 'CHAP'
    user, password = creds(res)
    assert len(user) == 20 and len(password) == 16
    assert res['export']['generated_credentials'] is True
    # the secret never shows in the command history
    assert password not in ' '.join(res['commands'])
    assert any('--password <redacted>' in c for c in res['commands'])
    # the right CHAP logs in and reads the bytes written to the volume
    got = iscsi_read(env.tgtd.port, data['target_iqn'], user, password, len(env.data))
    assert got == env.data
    ok, size = iscsi_login_ok(env.tgtd.port, data['target_iqn'], user, password)
    assert ok and size == 32 * MiB


def test_wrong_secret_and_unknown_initiator_are_refused(env):
    res = export(env)
    user, password = creds(res)
    iqn = res['connection_info']['data']['target_iqn']
    ok, why = iscsi_login_ok(env.tgtd.port, iqn, user, password[:-1] + ('x' if password[-1] != 'x' else 'y'))
    assert not ok, 'a wrong CHAP secret logged in'
    ok, why = iscsi_login_ok(env.tgtd.port, iqn)
    assert not ok, 'a login without CHAP succeeded'
    ok, why = iscsi_login_ok(env.tgtd.port, iqn, user, password, initiator=EVIL_IQN)
    assert not ok, 'an initiator outside the ACL logged in'
    ok = iscsi_login_ok(env.tgtd.port, iqn, user, password, initiator=GOOD_IQN)[0]
    assert ok


def test_second_run_changes_nothing_and_keeps_the_credentials(env):
    first = export(env)
    second = export(env)
    assert not second.failed, second
    assert not second.changed and second['export']['action'] == 'none'
    assert second['connection_info'] == first['connection_info']
    assert second['export']['generated_credentials'] is False
    # one query of the target state, nothing else
    assert second['commands'] == ['/usr/sbin/tgtadm -C %d --lld iscsi --op show --mode target'
                                  % env.tgtd.control]


def test_include_file_is_private_and_tgt_admin_restores_the_acl(env):
    res = export(env)
    user, password = creds(res)
    path = os.path.join(env.volumes_dir, 'vol1')
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    text = open(path).read()
    assert 'incominguser %s %s' % (user, password) in text
    assert 'initiator-name %s' % GOOD_IQN in text
    # tgt's own service start path (tgt-admin -e over an include line) restores it with its ACL
    env.tgtd.restart()
    conf = env.dir / 'targets.conf'
    conf.write_text('include %s/*\n' % env.volumes_dir)
    sh(['tgt-admin', '-C', str(env.tgtd.control), '-e', '-c', str(conf)])
    iqn = res['connection_info']['data']['target_iqn']
    assert iscsi_login_ok(env.tgtd.port, iqn, user, password)[0]
    assert not iscsi_login_ok(env.tgtd.port, iqn, user, password, initiator=EVIL_IQN)[0]
    again = export(env)
    assert not again.changed, again['commands']


def test_restart_of_tgtd_then_the_ensure_path_brings_the_export_back(env):
    res = export(env)
    user, password = creds(res)
    iqn = res['connection_info']['data']['target_iqn']
    env.tgtd.restart()
    assert env.tgtd.targets() == {}
    assert not iscsi_login_ok(env.tgtd.port, iqn, user, password)[0]
    again = export(env)
    assert not again.failed, again
    assert again.changed and again['export']['action'] == 'restore'
    assert again['connection_info'] == res['connection_info']
    assert iscsi_read(env.tgtd.port, iqn, user, password, len(env.data)) == env.data
    assert not iscsi_login_ok(env.tgtd.port, iqn, user, password, initiator=EVIL_IQN)[0]
    assert not export(env).changed


def test_ensure_all_restores_every_saved_export(env):
    other = backing_file(str(env.dir / 'vol2.img'), 16 * MiB)
    a = export(env)
    b = export(env, volume='vol2', device_path=other, initiators=[OTHER_IQN])
    env.tgtd.restart()
    res = run_module('export', dict(backend=env.backend, ensure_all=True))
    assert not res.failed, res
    assert res.changed
    assert sorted(e['volume'] for e in res['exports']) == ['vol1', 'vol2']
    assert all(e['action'] == 'restore' for e in res['exports'])
    for r, ini in ((a, GOOD_IQN), (b, OTHER_IQN)):
        u, p = creds(r)
        assert iscsi_login_ok(env.tgtd.port, r['connection_info']['data']['target_iqn'], u, p,
                              initiator=ini)[0]
    res = run_module('export', dict(backend=env.backend, ensure_all=True))
    assert not res.changed and res['exports'] == []


def test_absent_removes_exactly_that_export(env):
    other = backing_file(str(env.dir / 'vol2.img'), 16 * MiB)
    a = export(env)
    b = export(env, volume='vol2', device_path=other)
    assert sorted(env.tgtd.targets()) == ['iqn.2010-10.org.openstack:vol1',
                                          'iqn.2010-10.org.openstack:vol2']
    res = export(env, state='absent')
    assert not res.failed, res
    assert res.changed and res['export']['action'] == 'delete'
    assert list(env.tgtd.targets()) == ['iqn.2010-10.org.openstack:vol2']
    assert creds(a)[0] not in env.tgtd.accounts()
    assert creds(b)[0] in env.tgtd.accounts()
    assert not os.path.exists(os.path.join(env.volumes_dir, 'vol1'))
    assert os.path.exists(os.path.join(env.volumes_dir, 'vol2'))
    u, p = creds(b)
    assert iscsi_login_ok(env.tgtd.port, 'iqn.2010-10.org.openstack:vol2', u, p)[0]
    again = export(env, state='absent')
    assert not again.failed and not again.changed


def test_absent_of_an_export_that_does_not_exist_is_a_no_op(env):
    res = export(env, volume='never-exported', state='absent')
    assert not res.failed, res
    assert not res.changed and res['export']['action'] == 'none'


def test_initiators_is_the_exact_acl_and_connector_adds(env):
    res = export(env, initiators=[GOOD_IQN, OTHER_IQN])
    assert res['export']['initiators'] == sorted([GOOD_IQN, OTHER_IQN])
    u, p = creds(res)
    iqn = res['connection_info']['data']['target_iqn']
    assert iscsi_login_ok(env.tgtd.port, iqn, u, p, initiator=OTHER_IQN)[0]
    res = export(env, initiators=[GOOD_IQN])
    assert res.changed and res['export']['action'] == 'update'
    assert not iscsi_login_ok(env.tgtd.port, iqn, u, p, initiator=OTHER_IQN)[0]
    assert creds(res) == (u, p)
    res = export(env, connector=dict(initiator=OTHER_IQN, multipath=True))
    assert res['export']['initiators'] == sorted([GOOD_IQN, OTHER_IQN])
    data = res['connection_info']['data']
    assert data['target_portals'] == [data['target_portal']]
    assert data['target_iqns'] == [iqn] and data['target_luns'] == [1]
    assert iscsi_login_ok(env.tgtd.port, iqn, u, p, initiator=OTHER_IQN)[0]


def test_given_and_mutual_chap(env):
    res = export(env, auth=dict(username='alice', password='Sup3r-Secret-12',
                                mutual_username='target-bob', mutual_password='An0ther-Secret-34'))
    assert not res.failed, res
    data = res['connection_info']['data']
    assert (data['auth_username'], data['auth_password']) == ('alice', 'Sup3r-Secret-12')
    assert (data['auth_username_in'], data['auth_password_in']) == ('target-bob', 'An0ther-Secret-34')
    iqn = data['target_iqn']
    assert iscsi_login_ok(env.tgtd.port, iqn, 'alice', 'Sup3r-Secret-12', target_user='target-bob',
                          target_password='An0ther-Secret-34')[0]
    assert not iscsi_login_ok(env.tgtd.port, iqn, 'alice', 'Sup3r-Secret-12',
                              target_user='target-bob', target_password='wrong-secret-999')[0]
    # changing the secret in place
    res = export(env, auth=dict(username='alice', password='Changed-Secret-56'))
    assert res.changed and res['export']['action'] == 'update'
    assert iscsi_login_ok(env.tgtd.port, iqn, 'alice', 'Changed-Secret-56')[0]
    assert not iscsi_login_ok(env.tgtd.port, iqn, 'alice', 'Sup3r-Secret-12')[0]
    assert not export(env, auth=dict(username='alice', password='Changed-Secret-56')).changed


def test_allow_any_host_still_needs_chap(env):
    res = export(env, allow_any_host=True)
    u, p = creds(res)
    iqn = res['connection_info']['data']['target_iqn']
    assert iscsi_login_ok(env.tgtd.port, iqn, u, p, initiator=EVIL_IQN)[0]
    assert not iscsi_login_ok(env.tgtd.port, iqn, initiator=EVIL_IQN)[0]


def test_check_mode_changes_nothing(env):
    res = run_module('export', dict(backend=env.backend, volume='vol1', device_path=env.file,
                                    connector=dict(initiator=GOOD_IQN)), check=True, diff=True)
    assert not res.failed, res
    assert res.changed and res['export']['action'] == 'create'
    assert env.tgtd.targets() == {}
    assert not os.path.exists(os.path.join(env.volumes_dir, 'vol1'))
    assert 'auth_password' in res['connection_info']['data']
    diff = repr(res['diff'])
    assert res['connection_info']['data']['auth_password'] not in diff
    assert '<redacted>' in diff


def test_extend_shows_the_new_size_to_the_initiator(env):
    """tgt has no resize: refresh_export re-creates LUN 1 (the extend module's hook)."""
    from ansible_collections.cinderkit.storage.plugins.module_utils import targets
    from ansible_collections.cinderkit.storage.plugins.module_utils._options import resolve
    from ansible_collections.cinderkit.storage.plugins.module_utils._options import target_opts
    from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
    res = export(env)
    u, p = creds(res)
    iqn = res['connection_info']['data']['target_iqn']
    assert iscsi_login_ok(env.tgtd.port, iqn, u, p)[1] == 32 * MiB
    with open(env.file, 'r+b') as fh:
        fh.truncate(64 * MiB)
    from ansible_collections.cinderkit.storage.plugins.module_utils._backend import Backend
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import get_driver_class
    backend = Backend(get_driver_class('lvm'), resolve(env.backend, target_opts(), 'test'),
                      CommandRunner())
    exports = backend.target().list_exports()
    assert exports['vol1'].live and 'vol-other' not in exports
    assert backend.refresh_export('vol1', env.file)
    assert iscsi_login_ok(env.tgtd.port, iqn, u, p)[1] == 64 * MiB
    assert iscsi_read(env.tgtd.port, iqn, u, p, len(env.data)) == env.data
    assert not backend.refresh_export('vol-other', env.file)
    assert targets.registered_targets()['tgtadm'].online_extend is False
    assert not export(env).changed
