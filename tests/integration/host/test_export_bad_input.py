# -*- coding: utf-8 -*-
"""Host tier: bad input to the export module is refused before any change, with a clear message.

Every case runs against a live, isolated tgtd and checks that nothing was created
(no target, no include file) and that no secret shows in the message.
"""

import os
import socket

import pytest

from support import run_module
from export_support import GOOD_IQN, free_port

GOOD_NQN = 'nqn.2014-08.org.nvmexpress:uuid:2b1e9b0a-7c1f-4f5e-9a51-0c3d5e6f7a81'
SHORT = 'short-pw'          # 8 characters
OK_PW = 'Long-enough-secret-1'

CASES = [
    # (id, args over the defaults, words the message must contain)
    ('malformed-iqn-in-initiators', dict(initiators=['iqn.2004-1.com.example:x'], connector=None),
     ['initiators[0]', 'iSCSI qualified name']),
    ('malformed-iqn-in-connector', dict(connector=dict(initiator='not-an-iqn')),
     ['connector.initiator', 'iSCSI qualified name']),
    ('upper-case-iqn', dict(connector=dict(initiator='iqn.1994-05.com.Example:host')),
     ['upper-case']),
    ('connector-without-initiator', dict(connector=dict(host='compute01', ip='10.0.0.5')),
     ['connector', 'no initiator']),
    ('malformed-nqn-for-nvmet', dict(target_helper='nvmet', connector=dict(nqn='nqn.bad name')),
     ['connector.nqn', 'NVMe qualified name']),
    ('iqn-given-to-nvmet', dict(target_helper='nvmet', connector=None, initiators=[GOOD_IQN]),
     ['initiators[0]', 'NVMe qualified name']),
    ('chap-secret-too-short', dict(auth=dict(username='alice', password=SHORT)),
     ['auth.password', 'at least 12']),
    ('mutual-secret-too-short', dict(auth=dict(username='alice', password=OK_PW,
                                               mutual_username='bob', mutual_password=SHORT)),
     ['auth.mutual_password', 'at least 12']),
    ('chap-user-with-blank', dict(auth=dict(username='al ice', password=OK_PW)),
     ['auth.username', 'blank']),
    ('password-without-username', dict(auth=dict(password=OK_PW)),
     ['auth.username', 'required']),
    ('same-secret-both-ways', dict(auth=dict(username='alice', password=OK_PW,
                                             mutual_username='bob', mutual_password=OK_PW)),
     ['auth.mutual_password', 'same']),
    ('method-none-with-credentials', dict(auth=dict(method='none', username='alice',
                                                    password=OK_PW)),
     ['method none conflicts']),
    ('chap-on-nvmet', dict(target_helper='nvmet', connector=dict(nqn=GOOD_NQN),
                           auth=dict(method='chap')),
     ['does not support CHAP']),
    ('unknown-target-helper-option', dict(target_helper='ietadm'), ['target_helper', 'ietadm']),
    ('unsupported-backend-target-helper', dict(backend_over=dict(target_helper='scstadmin')),
     ['unknown or unsupported target helper', 'scstadmin']),
    ('protocol-the-helper-does-not-serve', dict(backend_over=dict(target_protocol='nvmet_tcp')),
     ['tgtadm does not serve']),
    ('invalid-port', dict(backend_over=dict(target_port=70000)), ['target_port']),
    ('connector-and-initiators', dict(initiators=[GOOD_IQN]), ['mutually exclusive']),
    ('allow-any-host-and-initiators', dict(connector=None, initiators=[GOOD_IQN],
                                           allow_any_host=True),
     ['allow_any_host', 'conflicts with initiators']),
    ('ensure-all-and-volume', dict(ensure_all=True), ['ensure_all', 'conflicts with volume']),
    ('no-acl-at-all', dict(connector=None), ['initiators', 'nobody could log in']),
    ('missing-device-path', dict(device_path='/nonexistent/vol.img'), ['does not exist']),
    ('directory-as-device', dict(device_path='/tmp'), ['neither a block device nor a regular file']),
    ('volume-name-invalid-in-iqn', dict(volume='db_data'), ['target name', 'db_data']),
    # use_chap_auth alone generates per-export credentials (Cinder): test_export_chap.py
    ('use-chap-auth-without-password', dict(backend_over=dict(use_chap_auth=True,
                                                              chap_username='alice')),
     ['backend.chap_password', 'is empty']),
]


def run(env, args):
    args = dict(args)
    backend = dict(env.backend)
    backend.update(args.pop('backend_over', {}))
    full = dict(backend=backend, volume='vol1', device_path=env.file,
                connector=dict(initiator=GOOD_IQN))
    full.update(args)
    full = dict((k, v) for k, v in full.items() if v is not None)
    return run_module('export', full)


@pytest.mark.parametrize('case,args,words', CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_any_change(tgt_env, case, args, words):
    res = run(tgt_env, args)
    assert res.failed, '%s was accepted: %s' % (case, res)
    for w in words:
        assert w in res['msg'], (case, res['msg'])
    assert tgt_env.tgtd.targets() == {}, 'a target was created for bad input %s' % case
    assert not os.path.exists(os.path.join(tgt_env.volumes_dir, 'vol1'))
    for secret in (SHORT, OK_PW):
        assert secret not in res['msg']


def test_port_in_use_by_another_process(tgt_env):
    """target_port names a port tgtd does not serve, held by someone else."""
    busy = socket.socket()
    busy.bind(('127.0.0.1', 0))
    busy.listen(1)
    try:
        port = busy.getsockname()[1]
        res = run(tgt_env, dict(backend_over=dict(target_port=port)))
        assert res.failed, res
        assert 'does not listen on 127.0.0.1:%d' % port in res['msg']
        assert 'in use by another process' in res['msg']
    finally:
        busy.close()
    assert tgt_env.tgtd.targets() == {}


def test_port_tgtd_does_not_serve(tgt_env):
    res = run(tgt_env, dict(backend_over=dict(target_port=free_port())))
    assert res.failed and 'tgtd does not listen on' in res['msg'], res
    assert 'target_helper role' in res['msg']


def test_exporting_a_missing_volume(tgt_env, vg):
    """Without device_path the volume is resolved through the driver: a missing LV is an error."""
    backend = dict(tgt_env.backend)
    backend.update(vg.backend())
    res = run_module('export', dict(backend=backend, volume='no-such-volume',
                                    connector=dict(initiator=GOOD_IQN)))
    assert res.failed, res
    assert "volume 'no-such-volume' does not exist" in res['msg']
    assert tgt_env.tgtd.targets() == {}


def test_removing_an_export_that_does_not_exist_is_not_an_error(tgt_env):
    res = run(tgt_env, dict(volume='never-there', state='absent', device_path=None, connector=None))
    assert not res.failed and not res.changed, res


def test_tgtd_not_running(tgt_env):
    tgt_env.tgtd.stop()
    res = run(tgt_env, {})
    assert res.failed
    assert 'is tgtd running' in res['msg'], res['msg']
