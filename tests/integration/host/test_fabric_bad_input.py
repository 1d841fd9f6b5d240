# -*- coding: utf-8 -*-
"""Host tier: bad input to the fabric features (NVMe DH-HMAC-CHAP, RDMA and iSER, portals,
multipath, discovery CHAP) is refused before any change, with a message naming the parameter.

Every case runs against a live, isolated tgtd and checks that nothing was created there (no
target, no include file), that nvmet's saved configuration was not written, and that no
secret shows in the message.  The DH-HMAC-CHAP checks come before nvmet is read, so they
are proven here; the kernel's own refusals are proven in the VM tier (test_nvmet_auth.py).
"""

import base64
import os
import subprocess

import pytest

from support import run_module
from export_support import GOOD_IQN
from test_export_bad_input import run

GOOD_NQN = 'nqn.2014-08.org.nvmexpress:uuid:2b1e9b0a-7c1f-4f5e-9a51-0c3d5e6f7a81'


def gen_key():
    return subprocess.check_output(['nvme', 'gen-dhchap-key', '--key-length=32', '--hmac=0',
                                    '--nqn', GOOD_NQN]).decode().strip()


KEY = gen_key()
_RAW = bytearray(base64.b64decode(KEY.split(':')[2]))
_RAW[-1] ^= 0x40
BAD_CRC = 'DHHC-1:00:%s:' % base64.b64encode(bytes(_RAW)).decode()
NVMET = dict(target_helper='nvmet', connector=dict(nqn=GOOD_NQN))

CASES = [
    ('dhchap-malformed-secret', dict(NVMET, auth=dict(method='dhchap', dhchap_secret='DHHC-1:00:abc')),
     ['auth.dhchap_secret', 'not a DHHC-1 secret']),
    ('dhchap-wrong-crc', dict(NVMET, auth=dict(method='dhchap', dhchap_secret=BAD_CRC)),
     ['auth.dhchap_secret', 'wrong CRC-32']),
    ('dhchap-short-key', dict(NVMET, auth=dict(dhchap_secret='DHHC-1:00:%s:' % base64.b64encode(
        b'k' * 20).decode())), ['auth.dhchap_secret', '16-byte key']),
    ('dhchap-unsupported-hash', dict(NVMET, auth=dict(method='dhchap', dhchap_hash='hmac(md5)')),
     ['dhchap_hash', 'hmac(sha256)']),
    ('dhchap-unsupported-dhgroup', dict(NVMET, auth=dict(method='dhchap', dhchap_dhgroup='ffdhe1024')),
     ['dhchap_dhgroup', 'ffdhe2048']),
    ('dhchap-same-key-both-ways', dict(NVMET, auth=dict(dhchap_secret=KEY, dhchap_ctrl_secret=KEY)),
     ['auth.dhchap_ctrl_secret', 'same as']),
    ('dhchap-with-allow-any-host', dict(target_helper='nvmet', connector=None, allow_any_host=True,
                                        auth=dict(method='dhchap')),
     ['allow_any_host', 'conflicts with DH-HMAC-CHAP']),
    ('dhchap-on-tgtadm', dict(auth=dict(method='dhchap')), ['auth.method', 'no DH-HMAC-CHAP']),
    ('dhchap-with-chap-method', dict(NVMET, auth=dict(method='chap', dhchap_secret=KEY)),
     ['auth.method', 'conflicts']),
    ('dhchap-on-a-kernel-without-it', dict(NVMET, auth=dict(method='dhchap')),
     ['auth.method', 'cannot authenticate NVMe hosts', 'CONFIG_NVME_TARGET_AUTH']),
    ('iser-without-an-rdma-device', dict(backend_over=dict(target_protocol='iser')),
     ['backend.target_protocol', 'no RDMA device', 'rdma link add']),
    ('nvme-rdma-without-an-rdma-device', dict(NVMET, backend_over=dict(target_protocol='nvmet_rdma')),
     ['backend.target_protocol', 'no RDMA device']),
    ('iser-on-a-helper-without-it', dict(NVMET, backend_over=dict(target_protocol='iser')),
     ['backend.target_protocol', 'nvmet does not serve']),
    ('duplicate-portal', dict(backend_over=dict(target_secondary_ip_addresses=['127.0.0.1'])),
     ['target_secondary_ip_addresses[0]', 'listed twice']),
    ('invalid-portal', dict(backend_over=dict(target_secondary_ip_addresses=['10.0.0.300'])),
     ['target_secondary_ip_addresses[0]', 'not an IP address']),
    ('connectors-with-a-malformed-iqn', dict(connector=None, connectors=[
        dict(initiator=GOOD_IQN), dict(initiator='iqn.bad name')]),
     ['connectors[1]', 'iSCSI qualified name']),
]


@pytest.mark.parametrize('case,args,words', CASES, ids=[c[0] for c in CASES])
def test_fabric_bad_input_is_refused_before_any_change(tgt_env, case, args, words):
    saved = os.path.exists('/etc/nvmet/config.json') and open('/etc/nvmet/config.json').read()
    res = run(tgt_env, args)
    assert res.failed, '%s was accepted: %s' % (case, res)
    for w in words:
        assert w in res['msg'], (case, res['msg'])
    assert tgt_env.tgtd.targets() == {}, 'a target was created for bad input %s' % case
    assert not os.path.exists(os.path.join(tgt_env.volumes_dir, 'vol1'))
    assert (os.path.exists('/etc/nvmet/config.json') and open('/etc/nvmet/config.json').read()) == saved
    for secret in (KEY, KEY.split(':')[2], BAD_CRC):
        assert secret not in res['msg']


def test_multipath_enforced_with_one_portal_is_refused():
    info = {'driver_volume_type': 'iscsi', 'data': {
        'target_iqn': 'iqn.2010-10.org.openstack:vol1', 'target_portal': '127.0.0.1:3260',
        'target_lun': 1, 'target_discovered': False}}
    res = run_module('attachment', dict(connection_info=info, use_multipath=True,
                                        enforce_multipath=True))
    assert res.failed and 'enforce_multipath' in res['msg'] and 'one portal' in res['msg'], res
    assert 'attachment' not in res


@pytest.mark.parametrize('args,words', [
    (dict(auth=dict(username='discuser', password='short-pw')), ['auth.password', 'at least 12']),
    (dict(auth=dict(username='disc user', password='Long-enough-secret-1')), ['auth.username']),
    (dict(auth=dict(username='discuser')), ['auth.password', 'required']),
    (dict(state='absent', auth=dict(username='discuser', password='Long-enough-secret-1')),
     ['auth', 'takes no credentials']),
    (dict(target_helper='tgtadm'), ['target_helper', 'the tgtadm target helper has no discovery CHAP']),
    (dict(target_helper='nvmet'), ['target_helper', 'the nvmet target helper has no discovery CHAP']),
], ids=['secret-too-short', 'user-with-blank', 'user-without-secret', 'absent-with-credentials',
        'tgtadm', 'nvmet'])
def test_discovery_chap_bad_input(args, words):
    full = dict(backend=dict(target_helper='lioadm'))
    full.update(args)
    res = run_module('discovery_auth', full)
    assert res.failed, res
    for w in words:
        assert w in res['msg'], res['msg']
    assert 'short-pw' not in res['msg'] and 'Long-enough-secret-1' not in res['msg']
    assert not os.path.exists('/sys/kernel/config/target/iscsi')
