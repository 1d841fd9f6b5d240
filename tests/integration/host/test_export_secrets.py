# -*- coding: utf-8 -*-
"""Host tier: a whole play at -vvv never shows a CHAP secret, given or generated.

Through ansible-playbook (so through the export action plugin): the registered
variable keeps connection_info with the secret; the output is censored; a
failing task stays readable with its secrets masked.
"""

import json
import os

from export_support import GOOD_IQN, backing_file, iscsi_login_ok

GIVEN = 'Given-Secret-0451'
GIVEN_MUTUAL = 'Mutual-Secret-7788'
BACKEND_PW = 'Backend-Secret-99'


def test_vvv_output_of_a_whole_play_holds_no_secret(tgt_env, play):
    env = tgt_env
    vol2 = backing_file(str(env.dir / 'vol2.img'), 16 * 1024 ** 2)
    dump = str(env.dir / 'registered.json')
    base = dict(backend=env.backend, connector=dict(initiator=GOOD_IQN, host='compute01'))
    tasks = [
        {'name': 'generated CHAP', 'cinderkit.storage.export':
            dict(base, volume='vol1', device_path=env.file), 'register': 'r1'},
        {'name': 'second run', 'cinderkit.storage.export':
            dict(base, volume='vol1', device_path=env.file), 'register': 'r2'},
        {'name': 'given and mutual CHAP', 'cinderkit.storage.export':
            dict(base, volume='vol2', device_path=vol2,
                 auth=dict(username='alice', password=GIVEN, mutual_username='target-bob',
                           mutual_password=GIVEN_MUTUAL)), 'register': 'r3'},
        {'name': 'backend CHAP (use_chap_auth)', 'cinderkit.storage.export':
            dict(base, backend=dict(env.backend, use_chap_auth=True, chap_username='carol',
                                    chap_password=BACKEND_PW),
                 volume='vol3', device_path=vol2), 'register': 'r5'},
        {'name': 'a failure with a given secret', 'cinderkit.storage.export':
            dict(base, volume='vol4', device_path='/nonexistent/disk.img',
                 auth=dict(username='dave', password=GIVEN + 'x')),
         'register': 'r4', 'ignore_errors': True},
        {'name': 'keep what was registered', 'no_log': True, 'ansible.builtin.copy':
            dict(dest=dump, mode='0600',
                 content="{{ {'r1': r1, 'r2': r2, 'r3': r3, 'r4': r4, 'r5': r5} | to_json }}")},
        {'name': 'remove', 'cinderkit.storage.export':
            dict(base, volume='vol1', state='absent')},
    ]
    proc = play.run(tasks, verbosity=3, diff=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    reg = json.load(open(dump))
    generated = reg['r1']['connection_info']['data']['auth_password']
    assert len(generated) == 16
    assert reg['r2']['connection_info']['data']['auth_password'] == generated
    assert not reg['r2']['changed']
    assert reg['r3']['connection_info']['data']['auth_password'] == GIVEN
    assert reg['r3']['connection_info']['data']['auth_password_in'] == GIVEN_MUTUAL
    assert reg['r5']['connection_info']['data']['auth_password'] == BACKEND_PW
    for secret in (generated, GIVEN, GIVEN_MUTUAL, BACKEND_PW, GIVEN + 'x'):
        assert secret not in out, 'a secret shows in the -vvv output'
    assert 'the output has been hidden' in out
    # the failure is readable, with its secret masked
    assert reg['r4']['failed']
    assert 'does not exist' in reg['r4']['msg']
    assert '/nonexistent/disk.img' in out
    assert GIVEN + 'x' not in json.dumps(reg['r4'])
    assert stat_mode(dump) == 0o600
    # and the registered credentials are the ones the target takes
    d = reg['r1']['connection_info']['data']
    assert not iscsi_login_ok(env.tgtd.port, d['target_iqn'], d['auth_username'], generated)[0], \
        'vol1 was removed by the last task'
    d = reg['r3']['connection_info']['data']
    assert iscsi_login_ok(env.tgtd.port, d['target_iqn'], 'alice', GIVEN, target_user='target-bob',
                          target_password=GIVEN_MUTUAL)[0]


def stat_mode(path):
    return os.stat(path).st_mode & 0o777
