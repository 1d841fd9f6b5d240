# -*- coding: utf-8 -*-
"""VM tier: mutual CHAP and discovery CHAP on LIO, proven by open-iscsi logins and discoveries.

Discovery CHAP is set by the discovery_auth module through rtslib (no command line carries a
secret); iscsiadm discovers with no, wrong and right credentials, and with mutual CHAP the
initiator refuses a target that answers with the wrong secret.
"""

import json
import os
import stat

from support import run_module
from test_export_lio import PORTAL, Vol, _save_file, initiator_name, iscsiadm, logout, read, session_device
# the fixtures of test_export_lio (a module-scoped VG with LIO and iscsid)
from test_export_lio import lio, need_tools  # noqa: F401 pylint: disable=unused-import


def discover(auth=None, mutual=None):
    """iscsiadm SendTargets discovery with these credentials: (rc, output)."""
    iscsiadm('-m', 'discoverydb', '-t', 'sendtargets', '-p', PORTAL, '-o', 'delete', check=False)
    iscsiadm('-m', 'discoverydb', '-t', 'sendtargets', '-p', PORTAL, '-o', 'new')
    settings = [('discovery.sendtargets.timeo.login_timeout', '10'),
                ('discovery.sendtargets.reopen_max', '0')]
    if auth:
        settings += [('discovery.sendtargets.auth.authmethod', 'CHAP'),
                     ('discovery.sendtargets.auth.username', auth[0]),
                     ('discovery.sendtargets.auth.password', auth[1])]
    if mutual:
        settings += [('discovery.sendtargets.auth.username_in', mutual[0]),
                     ('discovery.sendtargets.auth.password_in', mutual[1])]
    for key, value in settings:
        iscsiadm('-m', 'discoverydb', '-t', 'sendtargets', '-p', PORTAL, '-o', 'update',
                 '-n', key, '-v', value)
    r = iscsiadm('-m', 'discoverydb', '-t', 'sendtargets', '-p', PORTAL, '--discover',
                 check=False)
    iscsiadm('-m', 'discoverydb', '-t', 'sendtargets', '-p', PORTAL, '-o', 'delete', check=False)
    return r.returncode, r.stdout + r.stderr


def disc(vol, **kw):
    args = dict(backend=vol.backend)
    args.update(kw)
    return run_module('discovery_auth', args)


def wrong(secret):
    return secret[:-1] + ('x' if secret[-1] != 'x' else 'y')


def test_discovery_chap_through_rtslib_refuses_wrong_and_missing_credentials(lio):
    vol = Vol(lio, 'discvol')
    iqn = 'iqn.2010-10.org.openstack:discvol'
    try:
        assert not vol.export(connector=dict(initiator=initiator_name())).failed
        # open discovery lists the target (the baseline: the check below can fail)
        rc, out = discover()
        assert rc == 0 and iqn in out, out
        before = open(_save_file()).read()
        preview = run_module('discovery_auth', dict(backend=vol.backend), check=True, diff=True)
        assert preview.changed and not preview.failed, preview
        assert 'password' not in json.dumps(preview['diff'])
        assert open(_save_file()).read() == before, 'check mode wrote the saved configuration'
        assert discover()[0] == 0, 'check mode enforced discovery CHAP'

        res = disc(vol)
        assert not res.failed and res.changed, res
        d = res['discovery_auth']
        assert d['enabled'] and d['generated_credentials'] and len(d['password']) == 16
        again = disc(vol)
        assert not again.changed and again['discovery_auth']['password'] == d['password']
        saved = json.load(open(_save_file()))
        iscsi = [f for f in saved.get('fabric_modules', []) if f['name'] == 'iscsi']
        assert iscsi and iscsi[0]['discovery_userid'] == d['username']
        assert stat.S_IMODE(os.stat(_save_file()).st_mode) == 0o600

        rc, out = discover()
        assert rc != 0 and iqn not in out, 'discovery without credentials listed the targets'
        rc, out = discover((d['username'], wrong(d['password'])))
        assert rc != 0 and iqn not in out, 'discovery with a wrong secret listed the targets'
        rc, out = discover((d['username'], d['password']))
        assert rc == 0 and iqn in out, out

        # mutual: the initiator checks the target's answer
        mut = disc(vol, auth=dict(mutual=True))
        assert mut.changed, mut
        m = mut['discovery_auth']
        assert m['password'] == d['password'] and m['mutual_password']
        rc, out = discover((m['username'], m['password']), (m['mutual_username'], m['mutual_password']))
        assert rc == 0 and iqn in out, out
        rc, out = discover((m['username'], m['password']),
                           (m['mutual_username'], wrong(m['mutual_password'])))
        assert rc != 0 and iqn not in out, 'the initiator accepted a wrong target secret'

        # bad input changes nothing
        bad = disc(vol, auth=dict(username='discuser', password='short'))
        assert bad.failed and 'auth.password' in bad['msg'] and 'at least 12' in bad['msg']
        assert 'short' not in bad['msg']
        tgt = run_module('discovery_auth', dict(backend=vol.backend, target_helper='tgtadm'))
        assert tgt.failed and 'target_helper' in tgt['msg'] and 'tgtadm' in tgt['msg'], tgt
        assert not disc(vol, auth=dict(mutual=True)).changed

        off = disc(vol, state='absent')
        assert off.changed and not off['discovery_auth']['enabled']
        assert discover()[0] == 0
        assert not disc(vol, state='absent').changed
    finally:
        disc(vol, state='absent')
        vol.close()


def test_mutual_chap_login_refuses_a_target_with_the_wrong_secret(lio):
    vol = Vol(lio, 'mutvol')
    iqn = None
    try:
        res = vol.export(connector=dict(initiator=initiator_name()), auth=dict(mutual=True))
        assert not res.failed, res
        data = res['connection_info']['data']
        iqn = data['target_iqn']
        assert data['auth_username_in'] and data['auth_password_in']

        def mutual_login(password_in):
            # login() makes a fresh node record (-o new resets it): the mutual settings go last
            iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-o', 'new', check=False)
            for key, value in (('node.session.auth.authmethod', 'CHAP'),
                               ('node.session.auth.username', data['auth_username']),
                               ('node.session.auth.password', data['auth_password']),
                               ('node.session.auth.username_in', data['auth_username_in']),
                               ('node.session.auth.password_in', password_in),
                               ('node.session.initial_login_retry_max', '1'),
                               ('node.conn[0].timeo.login_timeout', '10')):
                iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '-o', 'update', '-n', key,
                         '-v', value)
            shown = iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL).stdout
            assert 'node.session.auth.username_in = %s' % data['auth_username_in'] in shown
            return iscsiadm('-m', 'node', '-T', iqn, '-p', PORTAL, '--login', check=False)

        bad = mutual_login(wrong(data['auth_password_in']))
        logout(iqn)
        assert bad.returncode != 0, 'the initiator accepted a target with a wrong mutual secret'
        good = mutual_login(data['auth_password_in'])
        assert good.returncode == 0, good.stderr
        assert read(session_device(iqn), len(vol.data)) == vol.data
        logout(iqn)
    finally:
        if iqn:
            logout(iqn)
        vol.close()
