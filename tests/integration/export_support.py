# -*- coding: utf-8 -*-
"""Helpers for the export tests: an isolated tgtd, and libiscsi/qemu-img initiators.

* ``TgtDaemon``: tgtd with its own control port and iSCSI portal on
  127.0.0.1, so tests never touch a system tgtd.  tgtd ignores SIGTERM:
  ``stop()`` deletes every target and account, then the system
  (``tgtadm --mode sys --op delete``), then kills what is left.
* ``iscsi_login_ok``: a real login (``iscsi-readcapacity16``) with CHAP
  given through libiscsi's environment variables, never argv.
* ``iscsi_read``: the LUN's bytes through ``qemu-img convert`` with
  ``--image-opts`` and a secret object read from a 0600 file.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from support import WORKDIR, pattern, sh

MiB = 1024 ** 2

GOOD_IQN = 'iqn.1994-05.com.example:good-host'
OTHER_IQN = 'iqn.1994-05.com.example:other-host'
EVIL_IQN = 'iqn.1994-05.com.example:evil-host'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class TgtDaemon(object):
    """tgtd on 127.0.0.1:<port> with control port <control>."""

    def __init__(self, control=None, port=None):
        self.control = control or (20000 + os.getpid() % 12000)   # tgtd: -C <= 32767
        self.port = port or free_port()
        self.proc = None
        self.log = tempfile.NamedTemporaryFile(prefix='tgtd-', suffix='.log', delete=False,
                                               dir=_workdir())
        self.start()

    def tgtadm(self, *args, check=True):
        return sh(['tgtadm', '-C', str(self.control), '--lld', 'iscsi'] + list(args), check=check)

    def start(self):
        self._remove_socket()
        self.proc = subprocess.Popen(
            ['tgtd', '-f', '-C', str(self.control), '--iscsi', 'portal=127.0.0.1:%d' % self.port],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.tgtadm('--mode', 'sys', '--op', 'show', check=False).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError('tgtd did not start (control %s, port %s): %s'
                             % (self.control, self.port, open(self.log.name).read()[-2000:]))

    def targets(self):
        out = self.tgtadm('--op', 'show', '--mode', 'target').stdout
        return dict((m.group(2), int(m.group(1)))
                    for m in re.finditer(r'^Target (\d+): (\S+)$', out, re.M))

    def accounts(self):
        out = self.tgtadm('--op', 'show', '--mode', 'account').stdout
        return [u.strip() for u in out.splitlines()[1:] if u.strip()]

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            for tid in self.targets().values():
                self.tgtadm('--op', 'delete', '--mode', 'target', '--force', '--tid', str(tid),
                            check=False)
            for user in self.accounts():
                self.tgtadm('--mode', 'account', '--op', 'delete', '--user', user, check=False)
            sh(['tgtadm', '-C', str(self.control), '--mode', 'sys', '--op', 'delete'], check=False)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        self._remove_socket()

    def restart(self):
        """What a crash or service restart leaves: a tgtd without any target."""
        self.stop()
        self.start()

    def kill_hard(self):
        """A crash: SIGKILL (no target or account is deleted first), then a fresh tgtd."""
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None
        self.start()

    def close(self):
        self.stop()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass

    def _remove_socket(self):
        for suffix in ('', '.lock'):
            try:
                os.unlink('/var/run/tgtd/socket.%d%s' % (self.control, suffix))
            except OSError:
                pass


def _workdir():
    os.makedirs(WORKDIR, exist_ok=True)
    return WORKDIR


def iscsi_url(port, iqn, lun=1):
    return 'iscsi://127.0.0.1:%d/%s/%d' % (port, iqn, lun)


def iscsi_login_ok(port, iqn, user=None, password=None, initiator=GOOD_IQN, lun=1,
                   target_user=None, target_password=None):
    """(ok, size_bytes or stderr): a full login + READ CAPACITY(16) with libiscsi."""
    env = {}
    if user:
        env.update(LIBISCSI_CHAP_USERNAME=user, LIBISCSI_CHAP_PASSWORD=password)
    if target_user:
        env.update(LIBISCSI_CHAP_TARGET_USERNAME=target_user,
                   LIBISCSI_CHAP_TARGET_PASSWORD=target_password)
    p = sh(['iscsi-readcapacity16', '-i', initiator, iscsi_url(port, iqn, lun)], check=False,
           env=env, timeout=60)
    if p.returncode != 0:
        return False, p.stderr + p.stdout
    m = re.search(r'Total size:(\d+)', p.stdout)
    return True, int(m.group(1)) if m else None


def iscsi_read(port, iqn, user, password, size, initiator=GOOD_IQN, lun=1):
    """The first ``size`` bytes of the LUN, read with qemu-img (secret from a 0600 file)."""
    d = tempfile.mkdtemp(prefix='ckread-', dir=_workdir())
    try:
        secret = os.path.join(d, 'secret')
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, password.encode())
        os.close(fd)
        out = os.path.join(d, 'out.raw')
        opts = ('driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:%d,'
                'file.target=%s,file.lun=%d,file.user=%s,file.password-secret=sec0,'
                'file.initiator-name=%s' % (port, iqn, lun, user, initiator))
        sh(['qemu-img', 'convert', '--object', 'secret,id=sec0,file=%s' % secret,
            '--image-opts', opts, '-O', 'raw', out], timeout=120)
        with open(out, 'rb') as fh:
            return fh.read(size)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def backing_file(path, size, data=None):
    with open(path, 'wb') as fh:
        fh.truncate(size)
        if data:
            fh.write(data)
    return path


# ------------------------------------------------- module runs in child processes
_CHILD = r'''
import json, sys
sys.path[:0] = [%(integration)r, %(collections)r]
from support import run_module
module, args = json.loads(sys.stdin.readline())
sys.stdin.readline()                                  # the start signal: all go together
res = run_module(module, args)
sys.stdout.write('\nRESULT ' + json.dumps(res) + '\n')
'''


def module_child(module, args):
    """A process that imports the collection, runs ``module`` once ``go`` is called."""
    import json
    import sys
    from support import ROOT
    code = _CHILD % dict(integration=os.path.join(ROOT, 'tests', 'integration'),
                         collections=os.path.join(ROOT, '.build', 'collections'))
    p = subprocess.Popen([sys.executable, '-c', code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    p.stdin.write(json.dumps([module, args]) + '\n')
    p.stdin.flush()
    return p


def go(*procs):
    """Let every started child run its module now (their imports are done or under way)."""
    for p in procs:
        p.stdin.write('go\n')
        p.stdin.flush()


def child_result(p, timeout=400):
    import json
    out, err = p.communicate(timeout=timeout)
    line = [x for x in out.splitlines() if x.startswith('RESULT ')]
    assert line, (out[-2000:], err[-2000:])
    return json.loads(line[-1][len('RESULT '):])


# ------------------------------------------------------------------- fixtures
# import them into a test module: ``from export_support import tgtd, tgt_env``
@pytest.fixture
def tgtd(need):
    need('tgtd', 'tgtadm', 'tgt-admin', 'iscsi-readcapacity16', 'qemu-img')
    d = TgtDaemon()
    yield d
    d.close()


class TgtEnv(object):
    """An isolated tgtd, a backend dict pointing at it, and a 32 MiB file LUN with data."""

    def __init__(self, tgtd, tmp_path):
        self.tgtd = tgtd
        self.dir = tmp_path
        self.volumes_dir = str(tmp_path / 'volumes')
        self.backend = dict(tgt_control_port=tgtd.control, target_port=tgtd.port,
                            target_ip_address='127.0.0.1', volumes_dir=self.volumes_dir)
        self.data = pattern(7, 2 * MiB)
        self.file = backing_file(str(tmp_path / 'vol1.img'), 32 * MiB, self.data)


@pytest.fixture
def tgt_env(tgtd, tmp_path):
    return TgtEnv(tgtd, tmp_path)
