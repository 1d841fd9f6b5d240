# -*- coding: utf-8 -*-
"""Host tier: hostile values never reach tgt-admin's shell nor open a target to any initiator.

tgt's service restores exports with ``tgt-admin -e``, a Perl script that reads the include
files under volumes_dir (Config::General) and hands every line to ``/bin/sh``.  Each case
below runs the export module with a hostile value against an isolated tgtd, then runs tgt's
own restore on whatever the module wrote, and checks:

* the canary file that a ``$(touch ...)`` in the value would create does not exist;
* no restored target has an ``ALL`` (any address) ACL;
* when the module refuses the value (every case here): the message names the parameter,
  shows no secret, and nothing changed (no target, no include file, the same files).
"""

import hashlib
import os
import subprocess
import uuid

import pytest

from support import run_module
from export_support import EVIL_IQN, GOOD_IQN, backing_file, iscsi_login_ok

OK_PW = 'Long-enough-secret-1'


def canary():
    return '/tmp/ck-canary-%s' % uuid.uuid4().hex[:12]


def inject(path, relative=False):
    """A value that runs ``touch path`` when a shell sees it (no blank: one config token).

    ``relative``: name the canary relative to /tmp (tgt_restore runs there), for file names.
    """
    return 'Aa1$(touch${IFS}%s)' % (os.path.basename(path) if relative else path)


def files_of(d):
    out = {}
    for root, dirs, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            with open(p, 'rb') as fh:
                out[os.path.relpath(p, d)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def tgt_restore(env):
    """tgt's service start: an empty tgtd, then ``tgt-admin -e`` over ``include volumes_dir/*``."""
    env.tgtd.restart()
    conf = env.dir / 'targets.conf'
    conf.write_text('include %s/*\n' % env.volumes_dir)
    return subprocess.run(['tgt-admin', '-C', str(env.tgtd.control), '-e', '-c', str(conf)],
                          cwd='/tmp', stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120, check=False)


def acls(env):
    out = env.tgtd.tgtadm('--op', 'show', '--mode', 'target').stdout
    section, found = None, []
    for line in out.splitlines():
        if line.startswith('    ') and not line.startswith('        '):
            section = line.strip()
        elif section == 'ACL information:' and line.strip():
            found.append(line.strip())
    return found


def run(env, backend=None, **args):
    b = dict(env.backend)
    b.update(backend or {})
    full = dict(backend=b, volume='vol1', device_path=env.file,
                connector=dict(initiator=GOOD_IQN))
    full.update(args)
    return run_module('export', dict((k, v) for k, v in full.items() if v is not None))


def esc(value):
    """A literal value through oslo.config ('$' interpolates; '$$' is a literal '$')."""
    return value.replace('$', '$$')


def hostile_cases(tmp):
    """(id, args for run(), parameter the message names, canary path or None)."""
    c = dict((k, canary()) for k in ('user', 'pw', 'muser', 'mpw', 'buser', 'bpw', 'dev', 'flags'))
    newline_dev = backing_file(os.path.join(tmp, 'vol\n    initiator-address ALL'), 1024 ** 2)
    shell_dev = backing_file(os.path.join(tmp, 'v%s.img' % inject(c['dev'], relative=True)), 1024 ** 2)
    return [
        ('auth-username', dict(auth=dict(username=inject(c['user']), password=OK_PW)),
         'auth.username', c['user']),
        ('auth-password', dict(auth=dict(username='alice', password=inject(c['pw']))),
         'auth.password', c['pw']),
        ('auth-mutual-username', dict(auth=dict(username='alice', password=OK_PW,
                                                mutual_username=inject(c['muser']),
                                                mutual_password='Other-secret-22')),
         'auth.mutual_username', c['muser']),
        ('auth-mutual-password', dict(auth=dict(username='alice', password=OK_PW,
                                                mutual_username='bob',
                                                mutual_password=inject(c['mpw']))),
         'auth.mutual_password', c['mpw']),
        ('backend-chap-username', dict(backend=dict(use_chap_auth=True, chap_password=OK_PW,
                                                    chap_username=esc(inject(c['buser'])))),
         'backend.chap_username', c['buser']),
        ('backend-chap-password', dict(backend=dict(use_chap_auth=True, chap_username='alice',
                                                    chap_password=esc(inject(c['bpw'])))),
         'backend.chap_password', c['bpw']),
        ('newline-in-password', dict(auth=dict(username='alice',
                                               password='Aa1-secret-x\n    initiator-address ALL')),
         'auth.password', None),
        ('newline-in-device-path', dict(device_path=newline_dev), 'device_path', None),
        ('shell-in-device-path', dict(device_path=shell_dev), 'device_path', c['dev']),
        ('newline-in-target-flags',
         dict(backend=dict(iscsi_target_flags='direct\n    initiator-address ALL')),
         'backend.iscsi_target_flags', None),
        ('shell-in-target-flags', dict(backend=dict(iscsi_target_flags=esc(inject(c['flags'])))),
         'backend.iscsi_target_flags', c['flags']),
        ('nul-in-device-path', dict(device_path=os.path.join(tmp, 'vol1.img') + '\x00x'), 'device_path', None),
        ('relative-device-path', dict(device_path='vol1.img'), 'device_path', None),
        ('unnormalised-device-path', dict(device_path=os.path.join(tmp, '..', os.path.basename(tmp),
                                                                   'vol1.img')),
         'device_path', None),
        ('nul-in-volumes-dir', dict(backend=dict(volumes_dir='/var/lib/x\x00y')),
         'backend.volumes_dir', None),
        ('relative-volumes-dir', dict(backend=dict(volumes_dir='volumes')),
         'backend.volumes_dir', None),
        ('nul-in-target-ip', dict(backend=dict(target_ip_address='127.0.0.1\x00')),
         'backend.target_ip_address', None),
        ('shell-in-target-ip', dict(backend=dict(target_ip_address='127.0.0.1;true')),
         'backend.target_ip_address', None),
    ]


CASE_IDS = ['auth-username', 'auth-password', 'auth-mutual-username', 'auth-mutual-password',
            'backend-chap-username', 'backend-chap-password', 'newline-in-password',
            'newline-in-device-path', 'shell-in-device-path', 'newline-in-target-flags',
            'shell-in-target-flags', 'nul-in-device-path', 'relative-device-path',
            'unnormalised-device-path', 'nul-in-volumes-dir', 'relative-volumes-dir',
            'nul-in-target-ip', 'shell-in-target-ip']


@pytest.mark.parametrize('case', CASE_IDS)
def test_hostile_value_is_refused_and_tgt_restore_runs_nothing(tgt_env, case):
    env = tgt_env
    cases = dict((c[0], c[1:]) for c in hostile_cases(str(env.dir)))
    args, param, can = cases[case]
    before = files_of(env.volumes_dir) if os.path.isdir(env.volumes_dir) else {}
    res = run(env, **args)
    assert res.failed, '%s was accepted: %s' % (case, res.get('export'))
    assert "parameter '%s'" % param in res['msg'], (case, res['msg'])
    assert 'internal error' not in res['msg'], res['msg']
    assert OK_PW not in res['msg']
    if 'password' in param:
        assert 'touch' not in res['msg'] and 'initiator-address' not in res['msg'], res['msg']
    assert env.tgtd.targets() == {}, 'a target was made for %s' % case
    after = files_of(env.volumes_dir) if os.path.isdir(env.volumes_dir) else {}
    assert after == before, 'files under volumes_dir changed for %s' % case
    tgt_restore(env)
    if can:
        assert not os.path.exists(can), 'tgt-admin ran an injected command (%s)' % case
    assert 'ALL' not in acls(env)


def test_hostile_secret_in_an_update_leaves_the_saved_export_alone(tgt_env):
    env = tgt_env
    first = run(env, auth=dict(username='alice', password=OK_PW))
    assert not first.failed, first['msg'] if first.failed else None
    before = files_of(env.volumes_dir)
    can = canary()
    res = run(env, auth=dict(username='alice', password=inject(can)))
    assert res.failed and "parameter 'auth.password'" in res['msg'], res
    assert files_of(env.volumes_dir) == before
    tgt_restore(env)
    assert not os.path.exists(can)
    iqn = 'iqn.2010-10.org.openstack:vol1'
    assert list(env.tgtd.targets()) == [iqn]
    assert iscsi_login_ok(env.tgtd.port, iqn, 'alice', OK_PW)[0]
    assert not iscsi_login_ok(env.tgtd.port, iqn, 'alice', OK_PW, initiator=EVIL_IQN)[0]
    assert 'ALL' not in acls(env)


def test_the_allowed_punctuation_survives_tgt_restore_and_logs_in(tgt_env):
    """Positive control: the whole allowed set goes through tgt-admin's shell unchanged."""
    env = tgt_env
    user, pw = 'ck.user:a@b_c-1', 'Aa1._~+=-secret'
    res = run(env, auth=dict(username=user, password=pw))
    assert not res.failed, res['msg'] if res.failed else None
    iqn = res['connection_info']['data']['target_iqn']
    proc = tgt_restore(env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert iscsi_login_ok(env.tgtd.port, iqn, user, pw)[0]
    assert not iscsi_login_ok(env.tgtd.port, iqn, user, pw[:-1] + 'x')[0]
    assert not run(env, auth=dict(username=user, password=pw)).changed


def test_a_saved_secret_outside_the_set_is_refused_before_a_restore(tgt_env):
    """An include file edited by hand (or saved by an older version) is checked like input."""
    env = tgt_env
    first = run(env, auth=dict(username='alice', password=OK_PW))
    assert not first.failed
    path = os.path.join(env.volumes_dir, 'vol1')
    can = canary()
    text = open(path).read().replace('incominguser alice %s' % OK_PW,
                                     'incominguser alice %s' % inject(can))
    with open(path, 'w') as fh:
        fh.write(text)
    env.tgtd.restart()
    res = run_module('export', dict(backend=env.backend, ensure_all=True))
    assert res.failed and "parameter 'auth.password'" in res['msg'], res
    assert 'touch' not in res['msg'] and not res.changed
    assert env.tgtd.targets() == {} and not os.path.exists(can)
    assert open(path).read() == text
