# -*- coding: utf-8 -*-
"""Host tier: roles/target_helper with tgt (no systemd here: files, facts and the ensure handler)."""

import os

from support import run_module
from export_support import GOOD_IQN, iscsi_login_ok


def role_task(env, **over):
    v = dict(target_helper_name='tgtadm', target_helper_ip_address='127.0.0.1',
             target_helper_port=env.tgtd.port, target_helper_volumes_dir=env.volumes_dir,
             target_helper_install_packages=False, target_helper_manage_service=False,
             target_helper_tgt_control_port=env.tgtd.control,
             target_helper_tgt_conf_dir=str(env.dir / 'conf.d'),
             target_helper_systemd_dir=str(env.dir / 'systemd'))
    v.update(over)
    return {'name': 'target_helper', 'ansible.builtin.include_role':
            {'name': 'cinderkit.storage.target_helper'}, 'vars': v}


def failures(results):
    out = []
    for r in results:
        items = [x for x in r.get('results', []) if isinstance(x, dict) and x.get('failed')]
        if r.get('failed') or r.get('_status') == 'failed' or items:
            out.append(items[0] if items else r)
    return out


def test_tgt_setup_and_the_handler_restores_lost_exports(tgt_env, play):
    env = tgt_env
    os.makedirs(str(env.dir / 'conf.d'))
    res = run_module('export', dict(backend=env.backend, volume='vol1', device_path=env.file,
                                    connector=dict(initiator=GOOD_IQN)))
    data = res['connection_info']['data']
    env.tgtd.restart()     # tgtd lost its targets
    results = play.run([role_task(env),
                        {'name': 'facts', 'ansible.builtin.debug': {'var': 'target_helper_backend'}}])
    assert not failures(results), failures(results)
    # the include line (Cinder's), the portal drop-in, the private volumes_dir
    conf = (env.dir / 'conf.d' / 'cinder.conf').read_text()
    assert 'include %s/*' % env.volumes_dir in conf
    dropin = (env.dir / 'systemd' / 'tgt.service.d' / 'cinderkit-portals.conf').read_text()
    assert '--iscsi portal=127.0.0.1:%d' % env.tgtd.port in dropin
    assert oct(os.stat(env.volumes_dir).st_mode & 0o777) == oct(0o700)
    backend = next(r for r in results if 'target_helper_backend' in r)['target_helper_backend']
    assert backend['target_helper'] == 'tgtadm' and backend['target_port'] == env.tgtd.port
    # the handler ran the ensure path: the export is back with its credentials and ACL
    assert iscsi_login_ok(env.tgtd.port, data['target_iqn'], data['auth_username'],
                          data['auth_password'])[0]
    again = play.run([role_task(env)])
    assert not failures(again) and not any(r.get('changed') for r in again)


def test_default_chap_is_published_and_used(tgt_env, play):
    env = tgt_env
    os.makedirs(str(env.dir / 'conf.d'))
    results = play.run([
        role_task(env, target_helper_default_chap=dict(username='storage-admin',
                                                       password='Default-Secret-42')),
        {'name': 'export with the role backend', 'cinderkit.storage.export': {
            'backend': '{{ target_helper_backend }}', 'volume': 'vol1', 'device_path': env.file,
            'connector': {'initiator': GOOD_IQN}}, 'register': 'r'},
        {'name': 'show', 'ansible.builtin.copy': {
            'dest': str(env.dir / 'r.txt'), 'mode': '0600',
            'content': '{{ r.connection_info.data.auth_username }} {{ r.connection_info.data.auth_password }}'},
         'no_log': True},
    ])
    assert not failures(results), failures(results)
    user, pw = (env.dir / 'r.txt').read_text().split()
    assert (user, pw) == ('storage-admin', 'Default-Secret-42')
    assert iscsi_login_ok(env.tgtd.port, 'iqn.2010-10.org.openstack:vol1', user, pw)[0]


def test_bad_role_input_is_refused(tgt_env, play):
    env = tgt_env
    cases = [
        (dict(target_helper_name='ietadm'), 'target_helper_name'),
        (dict(target_helper_discovery_chap=dict(username='d', password='Discovery-Secret-1')),
         'discovery CHAP is not supported by tgtadm'),
        (dict(target_helper_default_chap=dict(username='u', password='short')),
         'shorter than 12'),
        (dict(target_helper_protocol='nvmet_tcp'), 'not served by tgtadm'),
        (dict(target_helper_port='http'), 'target_helper_port'),
    ]
    for over, words in cases:
        results = play.run([role_task(env, **over)])
        f = failures(results)
        assert f, over
        assert words in f[0].get('msg', ''), (over, f[0].get('msg'))
        assert not any(r.get('changed') for r in results)
        assert 'Discovery-Secret-1' not in repr(results)
