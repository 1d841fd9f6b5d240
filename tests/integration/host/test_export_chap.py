# -*- coding: utf-8 -*-
"""Host tier: one CHAP credential on many tgt targets, and accounts cinderkit did not make.

tgt keeps one secret per account and can bind an account to any number of targets.  A bulk
export with explicit ``auth``, and backend ``chap_username``/``chap_password`` (Cinder's
meaning: one credential for every target), bind the same account to every target; every
target is proven with real libiscsi logins: the right secret logs in, a wrong or missing one
is refused, on EVERY target.
"""

import os

from support import run_module
from export_support import GOOD_IQN, backing_file, iscsi_login_ok

SECRET = 'Shared-secret-12'
WRONG = 'Shared-secret-13'


def files(env, n, prefix='bulk'):
    return [dict(volume='%s%d' % (prefix, i),
                 device_path=backing_file(str(env.dir / ('%s%d.img' % (prefix, i))), 1024 ** 2))
            for i in range(n)]


def assert_only_the_secret_logs_in(env, iqns, user, secret):
    for iqn in iqns:
        assert iscsi_login_ok(env.tgtd.port, iqn, user, secret)[0], iqn
        assert not iscsi_login_ok(env.tgtd.port, iqn, user, WRONG)[0], 'wrong secret on %s' % iqn
        assert not iscsi_login_ok(env.tgtd.port, iqn)[0], 'no CHAP on %s' % iqn


def test_bulk_export_with_explicit_auth_binds_it_to_every_target(tgt_env):
    env = tgt_env
    vols = files(env, 3)
    args = dict(backend=env.backend, volumes=vols, connector=dict(initiator=GOOD_IQN),
                auth=dict(username='shared1', password=SECRET))
    res = run_module('export', args)
    assert not res.failed, res.get('msg')
    iqns = [e['connection_info']['data']['target_iqn'] for e in res['exports']]
    assert len(set(iqns)) == 3
    assert env.tgtd.accounts() == ['shared1']
    assert_only_the_secret_logs_in(env, iqns, 'shared1', SECRET)
    for v in vols:
        text = open(os.path.join(env.volumes_dir, v['volume'])).read()
        assert 'incominguser shared1 %s' % SECRET in text
    again = run_module('export', args)
    assert not again.failed, again.get('msg')
    assert not again.changed, [e['action'] for e in again['exports']]
    # one of the targets goes: the account stays for the others
    gone = run_module('export', dict(backend=env.backend, volume='bulk0', state='absent'))
    assert not gone.failed and gone.changed
    assert env.tgtd.accounts() == ['shared1']
    assert_only_the_secret_logs_in(env, iqns[1:], 'shared1', SECRET)


def test_backend_credentials_serve_every_export(tgt_env):
    """Cinder's use_chap_auth with chap_username/chap_password: one credential, many targets."""
    env = tgt_env
    backend = dict(env.backend, use_chap_auth=True, chap_username='cinder-chap',
                   chap_password=SECRET)
    iqns = []
    for v in files(env, 2, prefix='fixed'):
        res = run_module('export', dict(backend=backend, volume=v['volume'],
                                        device_path=v['device_path'],
                                        connector=dict(initiator=GOOD_IQN)))
        assert not res.failed, res.get('msg')
        data = res['connection_info']['data']
        assert (data['auth_username'], data['auth_password']) == ('cinder-chap', SECRET)
        assert res['export']['generated_credentials'] is False
        iqns.append(data['target_iqn'])
    assert_only_the_secret_logs_in(env, iqns, 'cinder-chap', SECRET)
    # another secret for the same user name cannot be given to a third export
    other = files(env, 1, prefix='other')[0]
    res = run_module('export', dict(backend=dict(backend, chap_password=WRONG),
                                    volume=other['volume'], device_path=other['device_path'],
                                    connector=dict(initiator=GOOD_IQN)))
    assert res.failed and 'cinder-chap' in res['msg'] and 'different secret' in res['msg'], res
    assert WRONG not in res['msg'] and SECRET not in res['msg']
    assert sorted(env.tgtd.targets()) == sorted(iqns)
    assert_only_the_secret_logs_in(env, iqns, 'cinder-chap', SECRET)


def test_use_chap_auth_without_credentials_generates_them_per_export(tgt_env):
    env = tgt_env
    backend = dict(env.backend, use_chap_auth=True)
    seen = []
    for v in files(env, 2, prefix='gen'):
        res = run_module('export', dict(backend=backend, volume=v['volume'],
                                        device_path=v['device_path'],
                                        connector=dict(initiator=GOOD_IQN)))
        assert not res.failed, res.get('msg')
        data = res['connection_info']['data']
        assert res['export']['generated_credentials'] is True
        assert iscsi_login_ok(env.tgtd.port, data['target_iqn'], data['auth_username'],
                              data['auth_password'])[0]
        assert not iscsi_login_ok(env.tgtd.port, data['target_iqn'])[0]
        seen.append((data['auth_username'], data['auth_password']))
    assert seen[0] != seen[1]


def test_an_unbound_account_cinderkit_did_not_make_is_left_alone(tgt_env):
    env = tgt_env
    env.tgtd.tgtadm('--mode', 'account', '--op', 'new', '--user', 'shared1',
                    '--password', 'Theirs-secret-99')
    res = run_module('export', dict(backend=env.backend, volume='vol1', device_path=env.file,
                                    connector=dict(initiator=GOOD_IQN),
                                    auth=dict(username='shared1', password=SECRET)))
    assert res.failed, res
    assert "tgt account 'shared1' exists" in res['msg'] and 'left alone' in res['msg'], res['msg']
    assert SECRET not in res['msg']
    assert env.tgtd.targets() == {}
    assert not os.path.exists(os.path.join(env.volumes_dir, 'vol1'))
    # the account still has ITS secret: bind it to a target by hand and log in with it
    iqn = 'iqn.2010-10.org.openstack:theirs'
    env.tgtd.tgtadm('--op', 'new', '--mode', 'target', '--tid', '9', '-T', iqn)
    env.tgtd.tgtadm('--op', 'new', '--mode', 'logicalunit', '--tid', '9', '--lun', '1',
                    '--backing-store', env.file)
    env.tgtd.tgtadm('--op', 'bind', '--mode', 'target', '--tid', '9', '-I', 'ALL')
    env.tgtd.tgtadm('--mode', 'account', '--op', 'bind', '--tid', '9', '--user', 'shared1')
    assert iscsi_login_ok(env.tgtd.port, iqn, 'shared1', 'Theirs-secret-99')[0]
    # and an export may not share an account bound to a target it did not save
    res = run_module('export', dict(backend=env.backend, volume='vol1', device_path=env.file,
                                    connector=dict(initiator=GOOD_IQN),
                                    auth=dict(username='shared1', password='Theirs-secret-99')))
    assert res.failed and 'did not save' in res['msg'] and iqn in res['msg'], res['msg']
    assert list(env.tgtd.targets()) == [iqn]
