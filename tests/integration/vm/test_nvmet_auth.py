# -*- coding: utf-8 -*-
"""VM tier, on a kernel with NVME_TARGET_AUTH (Debian 6.12; vm-tier.sh boots it for this file):
nvmet exports with DH-HMAC-CHAP, attached through the attachment module.

The attachment module hands the keys to the kernel's /dev/nvme-fabrics (os-brick 7.1.1 has
no DH-HMAC-CHAP), so no secret is on a command line.  Refusals come from the real kernel:
a wrong host key, a host NQN outside the allowed list, a controller that fails
bidirectional authentication.
"""

import hashlib
import json
import os

import pytest

from support import LoopVG, Play, pattern, run_module, sh
from test_attachment import OFFSETS, PIECE, ok, read_pattern

MiB = 1024 ** 2
SIZE = 64 * MiB
OTHER_UUID = '0f0f0f0f-1111-2222-3333-444444444444'
OTHER_NQN = 'nqn.2014-08.org.nvmexpress:uuid:' + OTHER_UUID


@pytest.fixture(scope='module')
def authenv(kernel_targets):
    for m in ('nvmet', 'nvmet-tcp', 'nvme-tcp', 'nvme-fabrics'):
        sh(['modprobe', m])
    from ansible_collections.cinderkit.storage.plugins.module_utils._dhchap import kernel_support
    ok, how = kernel_support()
    if not ok:
        pytest.fail('kernel %s cannot authenticate NVMe hosts (%s): run this file on a kernel '
                    'with NVME_TARGET_AUTH (tests/harness/vm-tier.sh boots VM_AUTH_KERNEL=6.12)'
                    % (os.uname()[2], how))
    vg = LoopVG(size_gb=1, activation=True)
    yield vg
    vg.close()


def gen_key(nqn):
    return sh(['nvme', 'gen-dhchap-key', '--key-length=32', '--hmac=0', '--nqn', nqn]).stdout.strip()


def volume(vg, backend, name, seed):
    path = ok('volume', backend=backend, name=name, size='64M')['volume']['path']
    data = pattern(seed, 3 * 16 * MiB)
    fd = os.open(path, os.O_WRONLY)
    try:
        for i, off in enumerate(OFFSETS):
            os.pwrite(fd, data[i * PIECE:(i + 1) * PIECE], off)
        os.fsync(fd)
    finally:
        os.close(fd)
    return data


def backend_of(vg, port_id):
    return vg.backend(target_helper='nvmet', target_protocol='nvmet_tcp',
                      target_ip_address='127.0.0.1', target_port=4420 + port_id,
                      nvmet_port_id=30 + port_id, target_prefix='nvme-auth',
                      nvmeof_conn_info_version=2)


def fabrics_connect(data, hostnqn, hostid, secret=None):
    """A raw connect through /dev/nvme-fabrics (the errno tells the refusal); instance or errno."""
    opts = 'transport=tcp,traddr=127.0.0.1,trsvcid=%s,nqn=%s,hostnqn=%s,hostid=%s' % (
        data['portals'][0][1], data['target_nqn'], hostnqn, hostid)
    if secret:
        opts += ',dhchap_secret=%s' % secret
    fd = os.open('/dev/nvme-fabrics', os.O_RDWR)
    try:
        os.write(fd, opts.encode())
        return int(os.read(fd, 256).decode().split(',')[0].split('=')[1])
    except OSError as exc:
        return -exc.errno
    finally:
        os.close(fd)


def test_dhchap_host_key_connects_wrong_key_and_other_hosts_are_refused(authenv):
    b = backend_of(authenv, 1)
    data = volume(authenv, b, 'auth1', 51)
    con = ok('attachment', state='connector')['connector']
    info = None
    try:
        preview = ok('export', backend=b, volume='auth1', connector=con,
                     auth=dict(method='dhchap'), _check=True, _diff=True)
        assert preview.changed and not os.listdir('/sys/kernel/config/nvmet/subsystems')
        exp = ok('export', backend=b, volume='auth1', connector=con, auth=dict(method='dhchap'),
                 _diff=True)
        info = exp['connection_info']
        d = info['data']
        key = d['dhchap_secret']
        assert key.startswith('DHHC-1:00:') and 'dhchap_ctrl_secret' not in d
        assert exp['export']['generated_credentials'] is True
        assert exp['export']['auth']['hosts'][con['nqn']]['host_key'] == '<redacted>'
        assert key not in json.dumps(exp['diff']) and key not in ' '.join(exp['commands'])
        hpath = '/sys/kernel/config/nvmet/hosts/%s' % con['nqn']
        assert open(hpath + '/dhchap_key').read().strip() == key
        assert open('/sys/kernel/config/nvmet/subsystems/%s/attr_allow_any_host'
                    % d['target_nqn']).read().strip() == '0'
        saved = open('/etc/nvmet/config.json').read()
        assert key in saved and oct(os.stat('/etc/nvmet/config.json').st_mode & 0o777) == '0o600'
        # a re-run changes nothing and returns the same key
        again = ok('export', backend=b, volume='auth1', connector=con, auth=dict(method='dhchap'))
        assert not again.changed and again['connection_info'] == info
        assert not ok('export', backend=b, volume='auth1', connector=con).changed

        # the right key: attach, read the pattern, detach
        att = ok('attachment', connection_info=info)
        assert att.changed and read_pattern(att['attachment']['path']) == data
        assert key not in json.dumps(att) and key not in ' '.join(att['commands'])
        assert ok('attachment', connection_info=info, state='absent').changed

        # a wrong key is refused by the target
        bad = dict(info, data=dict(d, dhchap_secret=gen_key(con['nqn'])))
        r = run_module('attachment', dict(connection_info=bad))
        assert r.failed and 'rejected' in r['msg'], r
        # no key at all
        nokey = dict(info, data=dict((k, v) for k, v in d.items() if k != 'dhchap_secret'))
        r = run_module('attachment', dict(connection_info=nokey, device_scan_attempts=1))
        assert r.failed, r
        # a host NQN that is not allowed, even with the right key
        assert fabrics_connect(d, OTHER_NQN, OTHER_UUID, key) < 0
        assert not [c for c in os.listdir('/sys/class/nvme')
                    if open('/sys/class/nvme/%s/subsysnqn' % c).read().strip() == d['target_nqn']]
    finally:
        if info is not None:
            run_module('attachment', dict(connection_info=info, state='absent', force=True))
        run_module('export', dict(backend=b, volume='auth1', state='absent'))
        run_module('volume', dict(backend=b, name='auth1', state='absent'))


def test_dhchap_bidirectional_wrong_controller_key_is_refused_by_the_host(authenv):
    b = backend_of(authenv, 2)
    data = volume(authenv, b, 'auth2', 52)
    con = ok('attachment', state='connector')['connector']
    info = None
    try:
        host_key = gen_key(con['nqn'])
        exp = ok('export', backend=b, volume='auth2', connector=con,
                 auth=dict(method='dhchap', dhchap_secret=host_key, bidirectional=True,
                           dhchap_hash='hmac(sha512)', dhchap_dhgroup='ffdhe2048'))
        info = exp['connection_info']
        d = info['data']
        assert d['dhchap_secret'] == host_key and d['dhchap_ctrl_secret'].startswith('DHHC-1:')
        hpath = '/sys/kernel/config/nvmet/hosts/%s' % con['nqn']
        assert open(hpath + '/dhchap_hash').read().strip() == 'hmac(sha512)'
        assert open(hpath + '/dhchap_dhgroup').read().strip() == 'ffdhe2048'
        wrong = dict(info, data=dict(d, dhchap_ctrl_secret=gen_key(d['target_nqn'])))
        r = run_module('attachment', dict(connection_info=wrong))
        assert r.failed and 'rejected' in r['msg'], r
        att = ok('attachment', connection_info=info)
        assert read_pattern(att['attachment']['path']) == data
        assert ok('attachment', connection_info=info, state='absent').changed
        assert not ok('export', backend=b, volume='auth2', connector=con,
                      auth=dict(method='dhchap', bidirectional=True)).changed
    finally:
        if info is not None:
            run_module('attachment', dict(connection_info=info, state='absent', force=True))
        run_module('export', dict(backend=b, volume='auth2', state='absent'))
        run_module('volume', dict(backend=b, name='auth2', state='absent'))


def test_dhchap_bad_input_changes_nothing(authenv):
    b = backend_of(authenv, 3)
    volume(authenv, b, 'auth3', 53)
    con = ok('attachment', state='connector')['connector']
    key = gen_key(con['nqn'])
    raw = key.split(':')[2]
    try:
        cases = [
            (dict(method='dhchap', dhchap_secret='DHHC-1:00:nope:'), 'auth.dhchap_secret',
             '32, 48 or 64 bytes'),
            (dict(method='dhchap', dhchap_secret='DHHC-1:07:%s:' % raw), 'auth.dhchap_secret',
             'not a DHHC-1 secret'),
            (dict(method='dhchap', dhchap_secret='DHHC-1:00:%s:' % (raw[:-2] + ('AA' if raw[-2:] != 'AA' else 'BB'))),
             'auth.dhchap_secret', 'CRC'),
            (dict(method='dhchap', dhchap_secret=key, dhchap_ctrl_secret=key),
             'auth.dhchap_ctrl_secret', 'same as'),
            (dict(method='chap', dhchap_secret=key), 'auth.method', 'conflicts'),
            (dict(method='none', bidirectional=True), 'auth', 'conflicts'),
        ]
        for auth, param, words in cases:
            r = run_module('export', dict(backend=b, volume='auth3', connector=con, auth=auth))
            assert r.failed and param in r['msg'] and words in r['msg'], (auth, r['msg'])
            assert key not in r['msg']
        r = run_module('export', dict(backend=b, volume='auth3', allow_any_host=True,
                                      auth=dict(method='dhchap')))
        assert r.failed and 'allow_any_host' in r['msg'], r
        assert not [s for s in os.listdir('/sys/kernel/config/nvmet/subsystems') if 'auth3' in s]
        assert not os.path.isdir('/sys/kernel/config/nvmet/ports/33')
    finally:
        run_module('volume', dict(backend=b, name='auth3', state='absent'))


def test_dhchap_keys_never_appear_at_vvv(authenv):
    b = backend_of(authenv, 4)
    volume(authenv, b, 'auth4', 54)
    con = ok('attachment', state='connector')['connector']
    key = gen_key(con['nqn'])
    ctrl = gen_key('nqn.2010-10.org.cinderkit:ctrl')
    play = Play()
    try:
        proc = play.run([
            dict(name='export', register='exp', **{'cinderkit.storage.export': dict(
                backend=b, volume='auth4', connector=con,
                auth=dict(method='dhchap', dhchap_secret=key, dhchap_ctrl_secret=ctrl))}),
            dict(name='attach', register='att', **{'cinderkit.storage.attachment': dict(
                connection_info='{{ exp.connection_info }}')}),
            # the registered result keeps the key: checked on the controller (assert is an
            # action plugin, no module run; every module task costs a minute in this guest),
            # against its hash, so the key itself is never in the play
            dict(name='keep', **{'ansible.builtin.assert': dict(
                that=["exp.connection_info.data.dhchap_secret | hash('sha256') == key_sha"],
                quiet=True)}),
        ], verbosity=3, vars=dict(key_sha=hashlib.sha256(key.encode()).hexdigest()))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-4000:]
        assert 'attach' in out and 'keep' in out
        for secret in (key, ctrl, key.split(':')[2], ctrl.split(':')[2]):
            assert secret not in out, 'a DH-HMAC-CHAP key is in the -vvv output'
        # the detach runs in-process, from the export's connection info (a re-run: no change)
        again = ok('export', backend=b, volume='auth4', connector=con,
                   auth=dict(method='dhchap', dhchap_secret=key, dhchap_ctrl_secret=ctrl))
        assert not again.changed
        info = again['connection_info']
        assert info['data']['dhchap_secret'] == key
        assert ok('attachment', connection_info=info, state='absent').changed
    finally:
        run_module('export', dict(backend=b, volume='auth4', state='absent'))
        run_module('volume', dict(backend=b, name='auth4', state='absent'))
