# -*- coding: utf-8 -*-
"""Host tier: no module shows a secret, at -vvv with --diff and in ANSIBLE_LOG_PATH.

One ansible-playbook run (so through each module's action plugin) with every module of
the collection, in tasks that succeed and in tasks that fail early: a bad size and a bad
option combination (before the backend is loaded), an argument-spec error (an unknown
option), an unknown secret-looking backend option, a module_defaults backend, and a
config_file with a secret on a malformed line.  The secrets: a backend ``chap_password``,
a Ceph-key-like value (an unknown ``*_key`` backend option and a keyring inside
connection_info), S3-style ``*_secret_key``, export and attachment CHAP secrets.

The search is shown to work: a debug task prints a control string, which must be found
in the output and the log; the config file written by this test holds its secret.
"""

import os

BACKEND_PW = 'Bk-Chap-Secret-7301'
CEPH_KEY = 'AQBckKeyMaterial0000000000000000000000=='
S3_SECRET = 'S3-Secret-Access-Key-9942'
AUTH_PW = 'Auth-Chap-Secret-5518'
CONN_PW = 'Conn-Info-Secret-2267'
FILE_SECRET = 'File-Line-Secret-8830'
FILE_PW = 'File-Chap-Secret-4419'
VAR_PW = 'Var-Chap-Secret-3392'
CONTROL = 'Control-Visible-String-6604'
SECRETS = (BACKEND_PW, CEPH_KEY, S3_SECRET, AUTH_PW, CONN_PW, FILE_SECRET, FILE_PW, VAR_PW)


def _tasks(vg, bad_conf, good_conf):
    b = vg.backend(chap_password=BACKEND_PW, chap_username='ckuser')
    failing = dict(ignore_errors=True)
    iscsi = {'driver_volume_type': 'iscsi', 'data': {
        'target_iqn': 'iqn.2010-10.org.openstack:volume-x', 'target_portal': '127.0.0.1:3260',
        'target_lun': 1, 'auth_method': 'CHAP', 'auth_username': 'u1', 'auth_password': CONN_PW}}
    rbd = {'driver_volume_type': 'rbd', 'data': {
        'name': 'volumes/v1', 'hosts': ['127.0.0.1'], 'ports': ['6789'],
        'keyring': '[client.cinder]\n\tkey = %s\n' % CEPH_KEY}}
    return [
        {'name': 'control: the search finds what is printed', 'ansible.builtin.debug':
            {'msg': CONTROL}},
        # -- volume
        {'name': 'volume ok', 'cinderkit.storage.volume': dict(backend=b, name='s1', size='8M')},
        dict(failing, name='volume bad size', **{'cinderkit.storage.volume':
             dict(backend=b, name='s2', size='NaN')}),
        dict(failing, name='volume bad combination', **{'cinderkit.storage.volume':
             dict(backend=b, name='s2', volumes=[{'name': 's3', 'size': 1}])}),
        dict(failing, name='volume unknown option', **{'cinderkit.storage.volume':
             dict(backend=b, name='s2', size=1, colour='red')}),
        dict(failing, name='volume unknown secret options', **{'cinderkit.storage.volume':
             dict(backend=dict(b, rbd_client_key=CEPH_KEY, s3_secret_key=S3_SECRET),
                  name='s2', size=1)}),
        dict(failing, name='volume config_file with a secret on a bad line',
             **{'cinderkit.storage.volume': dict(config_file=bad_conf, backend_name='lvm-1',
                                                 name='s2', size=1)}),
        {'name': 'volume from config_file', 'cinderkit.storage.volume':
            dict(config_file=good_conf, backend_name='lvm-1', name='s4', size='8M')},
        # -- snapshot
        # (no device-mapper on the host tier: LVM snapshots are planned in check mode only)
        {'name': 'snapshot ok', 'check_mode': True, 'cinderkit.storage.snapshot':
            dict(backend=b, volume='s1', name='s1-snap', cow_size='8M')},
        dict(failing, name='snapshot bad cow_size', **{'cinderkit.storage.snapshot':
             dict(backend=b, volume='s1', name='s1-snap2', cow_size=float('inf'))}),
        dict(failing, name='snapshot bad state', **{'cinderkit.storage.snapshot':
             dict(backend=b, volume='s1', name='s1-snap2', state='frozen')}),
        # -- extend
        {'name': 'extend ok', 'cinderkit.storage.extend': dict(backend=b, name='s1', size='16M')},
        dict(failing, name='extend bad size', **{'cinderkit.storage.extend':
             dict(backend=b, name='s1', size=[1])}),
        dict(failing, name='extend missing size', **{'cinderkit.storage.extend':
             dict(backend=b, name='s1')}),
        # -- manage_existing
        {'name': 'manage_existing listed', 'cinderkit.storage.manage_existing':
            dict(backend=b, state='listed')},
        dict(failing, name='manage_existing bad combination', **{'cinderkit.storage.manage_existing':
             dict(backend=b, name='m1', source_name='x', reference={'source-name': 'x'})}),
        dict(failing, name='manage_existing unknown option', **{'cinderkit.storage.manage_existing':
             dict(backend=b, name='m1', colour='red')}),
        # -- backend_facts
        {'name': 'backend_facts ok', 'cinderkit.storage.backend_facts': dict(backend=b)},
        {'name': 'backend_facts from config_file', 'cinderkit.storage.backend_facts':
            dict(config_file=good_conf, backend_name='lvm-1')},
        dict(failing, name='backend_facts both backend and config_file',
             **{'cinderkit.storage.backend_facts': dict(backend=b, config_file=good_conf,
                                                        backend_name='lvm-1')}),
        dict(failing, name='backend_facts unknown secret option', **{'cinderkit.storage.backend_facts':
             dict(backend=dict(b, s3_secret_key=S3_SECRET))}),
        # -- export (its failures here come before any target is touched)
        dict(failing, name='export bad combination', **{'cinderkit.storage.export':
             dict(backend=b, volume='s1', volumes=[{'volume': 's1'}],
                  auth=dict(username='alice', password=AUTH_PW))}),
        dict(failing, name='export unknown option', **{'cinderkit.storage.export':
             dict(backend=b, volume='s1', colour='red',
                  auth=dict(username='alice', password=AUTH_PW))}),
        # -- attachment
        dict(failing, name='attachment unknown option', **{'cinderkit.storage.attachment':
             dict(connection_info=iscsi, colour='red')}),
        dict(failing, name='attachment bad connection_info', **{'cinderkit.storage.attachment':
             dict(connection_info=dict(rbd, data=dict(rbd['data'], name='no-pool')))}),
        dict(failing, name='attachment keyring with a bad state', **{'cinderkit.storage.attachment':
             dict(connection_info=rbd, state='attached')}),
        dict(failing, name='volume unknown option, async (its result comes from the job file)',
             **{'cinderkit.storage.volume': dict(backend=b, name='s2', size=1, colour='blue'),
                'async': 60, 'poll': 1}),
        dict(failing, name='volume bad size, the secret from a variable', **{'cinderkit.storage.volume':
             dict(backend=dict(b, chap_password='{{ var_pw }}'), name='s2', size='1.5.5G')}),
        # -- the backend from module_defaults (the action group): masked the same way
        {'name': 'module_defaults', 'module_defaults': {'group/cinderkit.storage.backend': {'backend': b}},
         'block': [
             {'name': 'backend_facts from module_defaults', 'cinderkit.storage.backend_facts': {},
              'register': 'facts_from_defaults'},
             dict(failing, name='volume bad size from module_defaults',
                  **{'cinderkit.storage.volume': dict(name='s5', size=float('-inf'))}),
             {'name': 'the group default reached the module', 'ansible.builtin.assert': {
                 'that': ['facts_from_defaults.ansible_facts.cinderkit_backends | length == 1']}}]},
        # -- clean up
        {'name': 'volume delete', 'cinderkit.storage.volume':
            dict(backend=b, volumes=[{'name': 's1', 'state': 'absent'},
                                     {'name': 's4', 'state': 'absent'}])},
    ]


def test_no_module_shows_a_secret_at_vvv_diff_or_in_the_log(play, vg, tmp_path):
    bad_conf = tmp_path / 'bad.conf'
    bad_conf.write_text('[lvm-1]\nvolume_driver = lvm\nvolume_group = %s\n%s\n'
                        'chap_password = %s\n' % (vg.name, FILE_SECRET, FILE_PW))
    good_conf = tmp_path / 'good.conf'
    good_conf.write_text('[lvm-1]\nvolume_driver = lvm\nvolume_group = %s\nlvm_type = default\n'
                         'lvm_conf_file = %s\nvolume_clear = none\nchap_username = fileuser\n'
                         'chap_password = %s\n' % (vg.name, vg.lvm_conf, FILE_PW))
    # the files really hold the secrets the modules must not show
    assert FILE_SECRET in bad_conf.read_text() and FILE_PW in good_conf.read_text()
    log = tmp_path / 'ansible.log'
    tasks = _tasks(vg, str(bad_conf), str(good_conf))
    proc = play.run(tasks, verbosity=3, diff=True, extra_env={'ANSIBLE_LOG_PATH': str(log)},
                    vars={'var_pw': VAR_PW})
    logged = log.read_text()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # negative control: the search does find what is printed
    assert CONTROL in proc.stdout and CONTROL in logged
    for secret in SECRETS:
        assert secret not in proc.stdout, 'a secret shows on stdout'
        assert secret not in proc.stderr, 'a secret shows on stderr'
        assert secret not in logged, 'a secret shows in ANSIBLE_LOG_PATH'
    # every failing task failed, for the reason it was written for, readable
    text = out.replace('\\n', '\n')
    for words in (["parameter 'size'", 'not a finite number'],
                  ['mutually exclusive', 'name|volumes'],
                  ['Unsupported parameters', 'colour'],
                  ['Unsupported parameters', 'colour', 'ansible_job_id'],
                  ["unknown options 'rbd_client_key', 's3_secret_key'"],
                  ["parameter 'config_file'", 'line 4', 'not shown'],
                  ["parameter 'cow_size'"],
                  ['value of state must be one of'],
                  ["parameter 'size'", 'not a list'],
                  ['missing required arguments: size'],
                  ['source_name|reference'],
                  ['backend|config_file'],
                  ["connection_info.data.name", 'pool/image']):
        assert all(w in text for w in words), (words, out[-3000:])
    assert text.count('...ignoring') == 21, text.count('...ignoring')
    # the masks are there, where the arguments were echoed
    assert '"chap_password": "********"' in text
    assert os.stat(str(log)).st_size > 0
