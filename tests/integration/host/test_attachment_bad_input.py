# -*- coding: utf-8 -*-
"""Host tier: the attachment module's input checks, no-op detaches and missing dependencies.

Bad connection info is refused before os-brick is even loaded, with a message that names
the key; no secret shows in any result.  Detaching what is not attached changes nothing
(os-brick looks, finds nothing).  A missing initiator tool is reported with its package:
the tool is hidden in a private mount namespace, as on a host that never installed it.
The attach/detach paths themselves need kernel initiators: tests/integration/vm/test_attachment.py.
"""

import json
import os
import subprocess
import sys

import pytest

from support import ROOT, run_module, sh

SECRET = 'Never-show-me-123'
IQN = 'iqn.2010-10.org.openstack:volume-bad-input'
NQN = 'nqn.2014-08.org.nvmexpress:uuid:2b1e9b0a-7c1f-4f5e-9a51-0c3d5e6f7a81'


def iscsi(**over):
    data = dict(target_iqn=IQN, target_portal='127.0.0.1:3260', target_lun=1,
                auth_method='CHAP', auth_username='user1', auth_password=SECRET)
    data.update(over)
    return {'driver_volume_type': 'iscsi', 'data': dict((k, v) for k, v in data.items()
                                                        if v is not None)}


def nvme1(**over):
    data = dict(nqn=NQN, transport_type='tcp', target_portal='127.0.0.1', target_port='4420',
                ns_id='10')
    data.update(over)
    return {'driver_volume_type': 'nvmeof', 'data': dict((k, v) for k, v in data.items()
                                                         if v is not None)}


def nvme2(**over):
    data = dict(target_nqn=NQN, vol_uuid='7a6b2c1d-0000-4000-8000-000000000001',
                portals=[['127.0.0.1', '4420', 'tcp']])
    data.update(over)
    return {'driver_volume_type': 'nvmeof', 'data': data}


def rbd(**over):
    data = dict(name='volumes/vol1', hosts=['127.0.0.1'], ports=['6789'], auth_username='cinder',
                auth_enabled=True, cluster_name='ceph')
    data.update(over)
    return {'driver_volume_type': 'rbd', 'data': data}


def local(path):
    return {'driver_volume_type': 'local', 'data': {'device_path': path}}


BAD = [
    # (id, module args, words the message must contain)
    ('no-connection-info', dict(), ['connection_info', 'required', 'state: connector']),
    ('no-driver-volume-type', dict(connection_info={'data': {}}), ['no driver_volume_type']),
    ('unknown-driver-volume-type', dict(connection_info={'driver_volume_type': 'fibre_channel',
                                                         'data': {}}),
     ["unknown type 'fibre_channel'", 'iscsi', 'nvmeof']),
    ('no-data', dict(connection_info={'driver_volume_type': 'iscsi'}), ['no data dict']),
    ('data-not-a-dict', dict(connection_info={'driver_volume_type': 'iscsi', 'data': 'x'}),
     ['no data dict']),
    ('iscsi-no-target-iqn', dict(connection_info=iscsi(target_iqn=None)), ['no target_iqn']),
    ('iscsi-no-target-portal', dict(connection_info=iscsi(target_portal=None)),
     ['no target_portal']),
    ('iscsi-no-target-lun', dict(connection_info=iscsi(target_lun=None)), ['no target_lun']),
    ('iscsi-lun-not-a-number', dict(connection_info=iscsi(target_lun='first')),
     ['data.target_lun', 'LUN number']),
    ('iscsi-port-out-of-range', dict(connection_info=iscsi(target_portal='127.0.0.1:99999')),
     ['data.target_portal', 'not a TCP port']),
    ('iscsi-portal-with-blank', dict(connection_info=iscsi(target_portal='127.0.0.1 3260')),
     ['data.target_portal']),
    ('iscsi-malformed-iqn', dict(connection_info=iscsi(target_iqn='iqn.2010-10.org bad')),
     ['data.target_iqn', 'iSCSI qualified name']),
    ('iscsi-chap-without-password', dict(connection_info=iscsi(auth_password=None)),
     ['no auth_password']),
    ('iscsi-unknown-auth-method', dict(connection_info=iscsi(auth_method='kerberos')),
     ["unknown method 'kerberos'"]),
    ('iscsi-plural-lists-differ', dict(connection_info=iscsi(
        target_iqns=[IQN, IQN], target_portals=['127.0.0.1:3260'], target_luns=[1, 1])),
     ['differ in length']),
    ('nvme-v1-no-transport', dict(connection_info=nvme1(transport_type=None)),
     ['no transport_type']),
    ('nvme-v1-unknown-transport', dict(connection_info=nvme1(transport_type='fc')),
     ["unknown transport 'fc'"]),
    ('nvme-v1-no-namespace', dict(connection_info=nvme1(ns_id=None)),
     ['neither ns_id nor volume_nguid']),
    ('nvme-ns-id-not-a-number', dict(connection_info=nvme1(ns_id='ten')),
     ['data.ns_id', 'namespace number']),
    ('nvme-nqn-with-blank', dict(connection_info=nvme1(nqn='nqn.2014-08.org bad')),
     ['data.nqn', 'NVMe qualified name']),
    ('nvme-v2-portal-not-a-triple', dict(connection_info=nvme2(portals=[['127.0.0.1', '4420']])),
     ['data.portals[0]', '[address, port, transport]']),
    ('nvme-v2-no-portals', dict(connection_info=nvme2(portals=[])), ['no portals']),
    ('nvme-replicated', dict(connection_info=nvme2(volume_replicas=[], replica_count=2)),
     ['volume_replicas', 'not supported']),
    ('rbd-name-without-pool', dict(connection_info=rbd(name='vol1')), ['"pool/image"']),
    ('rbd-ports-do-not-match-hosts', dict(connection_info=rbd(ports=['6789', '6790'])),
     ['one port per monitor']),
    ('local-path-outside-dev', dict(connection_info=local('/etc/passwd')),
     ["'/etc/passwd' is not a device under /dev"]),
    ('local-path-escaping-dev', dict(connection_info=local('/dev/../etc/passwd')),
     ['not a device under /dev']),
    ('local-relative-path', dict(connection_info=local('sda')), ['not a device under /dev']),
    ('local-device-missing', dict(connection_info=local('/dev/ck-no-such-device')),
     ['/dev/ck-no-such-device is not a block device']),
    ('local-not-a-block-device', dict(connection_info=local('/dev/null')),
     ['/dev/null is not a block device']),
    ('connection-info-with-state-connector', dict(state='connector', connection_info=iscsi()),
     ['connection_info', 'does not apply with state: connector']),
    ('keyring-for-iscsi', dict(connection_info=iscsi(), rbd_keyring_file='/etc/hostname'),
     ['rbd_keyring_file', 'only applies to rbd']),
    ('unreadable-keyring', dict(connection_info=rbd(), rbd_keyring_file='/nonexistent/keyring'),
     ['cannot read /nonexistent/keyring']),
    ('map-options-for-iscsi', dict(connection_info=iscsi(), rbd_map_options='ms_mode=secure'),
     ['rbd_map_options', 'only applies to rbd']),
    ('map-options-shell', dict(connection_info=rbd(), rbd_map_options='ms_mode=secure; reboot'),
     ['rbd_map_options', 'comma-separated krbd map options', 'ms_mode=secure']),
    ('no-scan-attempts', dict(connection_info=iscsi(), device_scan_attempts=0),
     ['device_scan_attempts']),
]


def _sessions():
    return sh(['iscsiadm', '-m', 'session'], check=False).stdout


@pytest.mark.parametrize('case,args,words', BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_refused_with_a_clear_message(need, case, args, words):
    need('iscsiadm', 'nvme')
    before = _sessions()
    r = run_module('attachment', args)
    assert r.failed, (case, r)
    for w in words:
        assert w in r['msg'], (case, w, r['msg'])
    assert not r.get('changed')
    assert SECRET not in json.dumps(r), case
    assert _sessions() == before


@pytest.mark.parametrize('info', [iscsi(), nvme1(), nvme2(), local('/dev/ck-no-such-device')],
                         ids=['iscsi', 'nvme-v1', 'nvme-v2', 'local'])
def test_detach_of_something_not_attached_is_a_no_op(need, info):
    need('iscsiadm', 'nvme')
    r = run_module('attachment', dict(connection_info=info, state='absent'), diff=True)
    assert not r.failed, r
    assert r['changed'] is False and r['attachment']['action'] == 'none'
    assert r['attachment']['attached'] is False and 'diff' not in r
    assert SECRET not in json.dumps(r)
    # the connector properties come back every time (the export module's input)
    assert r['connector']['initiator'].startswith('iqn.') and r['connector']['host']


@pytest.mark.parametrize('args,words', [
    (dict(connection_info=iscsi(), state='attached'), ['state', 'attached']),
    (dict(connection_info=iscsi(), colour='red'), ['colour']),
    (dict(connection_info=iscsi(target_lun='first')), ['data.target_lun']),
], ids=['unknown-state', 'unknown-option', 'bad-lun'])
def test_refused_arguments_never_echo_the_secret_through_ansible(ck, args, words):
    """Ansible refuses these before the module's code runs; the action plugin masks them."""
    r = ck('attachment', **args)
    assert r.get('failed'), r
    for w in words:
        assert w in r['msg'], (w, r['msg'])
    assert SECRET not in json.dumps(r)


def test_connector_properties_and_secret_masking_through_ansible(ck):
    r = ck('attachment', state='connector')
    assert not r.get('failed'), r
    con = r['connector']
    with open('/etc/iscsi/initiatorname.iscsi') as fh:
        assert 'InitiatorName=%s' % con['initiator'] in fh.read()
    assert con['ip'] and con['host'] and con['multipath'] is False
    r = ck('attachment', connection_info=iscsi(), state='absent')
    assert not r.get('failed') and r['changed'] is False, r
    text = json.dumps(r)
    assert SECRET not in text
    shown = r.get('invocation', {}).get('module_args', {}).get('connection_info', {})
    assert shown.get('data', {}).get('auth_password') != SECRET


def _run_isolated(args, hide=(), block_modules=()):
    """Run the module in a child process whose mount namespace hides ``hide`` (paths of
    commands, bind-mounted over by an empty non-executable file) and whose Python cannot
    import ``block_modules``."""
    empty = os.path.join(os.environ.get('CINDERKIT_TEST_WORKDIR', '/var/tmp/cinderkit-tests'),
                         'not-installed')
    os.makedirs(os.path.dirname(empty), exist_ok=True)
    with open(empty, 'w') as fh:
        fh.write('')
    os.chmod(empty, 0o644)
    code = ('import json, sys\n'
            'sys.path[:0] = [%r, %r]\n'
            'for m in %r: sys.modules[m] = None\n'
            'from support import run_module\n'
            'print("RESULT " + json.dumps(run_module("attachment", json.loads(sys.argv[1]))))\n'
            % (os.path.join(ROOT, 'tests', 'integration'),
               os.path.join(ROOT, '.build', 'collections'), list(block_modules)))
    script = ''.join('mount --bind %s %s && ' % (empty, h) for h in hide)
    script += 'exec "$0" -c "$1" "$2"'
    proc = subprocess.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script,
                           sys.executable, code, json.dumps(args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, check=False)
    line = [x for x in proc.stdout.splitlines() if x.startswith('RESULT ')]
    assert line, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return json.loads(line[-1][len('RESULT '):])


def _which(name):
    extra = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin']
    for d in os.environ.get('PATH', '').split(os.pathsep) + extra:
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            yield os.path.realpath(p)


@pytest.mark.parametrize('tool,package,args', [
    ('iscsiadm', 'open-iscsi', dict(connection_info=iscsi())),
    ('nvme', 'nvme-cli', dict(connection_info=nvme1())),
    ('rbd', 'ceph-common', dict(connection_info=rbd())),
    ('multipathd', 'multipath-tools', dict(connection_info=iscsi(), use_multipath=True)),
], ids=['iscsiadm', 'nvme', 'rbd', 'multipathd'])
def test_missing_initiator_tool_names_its_package(need, tool, package, args):
    need('unshare', tool)
    r = _run_isolated(args, hide=sorted(set(_which(tool))))
    assert r.get('failed'), r
    assert "the command '%s' is required but not available" % tool in r['msg'], r['msg']
    assert 'install %s' % package in r['msg']
    assert SECRET not in json.dumps(r)


def test_missing_os_brick_names_the_python_package(need):
    need('unshare')
    r = _run_isolated(dict(state='connector'), block_modules=['os_brick'])
    assert r.get('failed'), r
    assert 'os-brick' in r['msg'] and 'pip install os-brick' in r['msg'], r['msg']
