# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one-node Ceph cluster of the host tier, as pytest fixtures.

``ceph_cluster`` (session): starts tests/harness/ceph.sh once in its own data
directory on free ports, yields a ``Ceph`` helper and stops the cluster (and
removes its data) at the end, also when tests fail.  If the cluster cannot
start, every test that uses it fails with the harness output: never a skip.

``ceph`` (function): the same cluster, with the pool emptied after the test.

The fixtures are declared in tests/integration/host/conftest.py on top of
``cluster()`` and ``emptied()`` here.

``CINDERKIT_CEPH_REUSE=DIR`` reuses a cluster already started with
``CINDERKIT_CEPH_DIR=DIR tests/harness/ceph.sh start`` and leaves it running.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'harness'))
from free_ports import free_block  # noqa: E402  (tests/harness: vm-tier.sh calls it too)
HARNESS = os.path.join(ROOT, 'tests', 'harness', 'ceph.sh')
MiB = 1024 ** 2

try:
    import rados
    import rbd
except ImportError:  # reported by the fixture (fails, never skips)
    rados = rbd = None


class Ceph(object):
    """A running cluster: paths, a backend dict for the modules, librados helpers."""

    def __init__(self, data_dir, env, owned):
        self.dir = data_dir
        self.env = env
        self.owned = owned
        self.conf = env['CEPH_CONF']
        self.pool = env['CINDERKIT_CEPH_POOL']
        self.msgr = env['CINDERKIT_CEPH_MSGR']
        self.admin_keyring = env['CINDERKIT_CEPH_ADMIN_KEYRING']
        self.cinder_keyring = env['CINDERKIT_CEPH_CINDER_KEYRING']
        self.mon_v2 = env['CINDERKIT_CEPH_MON_V2']
        self._client = None

    # -- for the modules -------------------------------------------------------
    def backend(self, **over):
        b = dict(volume_driver='rbd', rbd_pool=self.pool, rbd_user='cinder',
                 rbd_ceph_conf=self.conf, rados_connect_timeout=60)
        b.update(over)
        return b

    # -- admin access from the test process -------------------------------------
    @property
    def client(self):
        if self._client is None:
            c = rados.Rados(rados_id='admin', clustername='ceph', conffile=self.conf)
            c.conf_set('err_to_stderr', 'false')
            c.connect(timeout=15)
            self._client = c
        return self._client

    @contextlib.contextmanager
    def ioctx(self):
        io = self.client.open_ioctx(self.pool)
        try:
            yield io
        finally:
            io.close()

    @contextlib.contextmanager
    def image(self, name, snapshot=None, read_only=False):
        with self.ioctx() as io:
            with rbd.Image(io, name, snapshot=snapshot, read_only=read_only) as im:
                yield im

    def images(self):
        with self.ioctx() as io:
            return sorted(rbd.RBD().list(io))

    def read(self, name, offset=0, length=None, snapshot=None):
        with self.image(name, snapshot=snapshot, read_only=True) as im:
            if length is None:
                length = im.size() - offset
            return im.read(offset, length)

    def write(self, name, data, offset=0):
        with self.image(name) as im:
            im.write(data, offset)
            im.flush()

    def size(self, name):
        with self.image(name, read_only=True) as im:
            return im.size()

    def meta(self, name):
        with self.image(name, read_only=True) as im:
            return dict(im.metadata_list())

    def snaps(self, name):
        with self.image(name, read_only=True) as im:
            return sorted(s['name'] for s in im.list_snaps())

    def parent(self, name):
        with self.image(name, read_only=True) as im:
            try:
                p = im.get_parent_image_spec()
            except rbd.ImageNotFound:
                return None
            return '%s/%s@%s' % (p['pool_name'], p['image_name'], p['snap_name'])

    def allocated(self, name):
        """Bytes librbd reports as allocated (diff against nothing)."""
        total = [0]

        def cb(offset, length, exists):
            if exists:
                total[0] += length
        with self.image(name, read_only=True) as im:
            im.diff_iterate(0, im.size(), None, cb)
        return total[0]

    def state(self):
        """{image: (size, sorted snaps, parent, ck.* metadata)}: to prove nothing changed."""
        out = {}
        for n in self.images():
            meta = dict((k, v) for k, v in self.meta(n).items() if k.startswith('ck.'))
            out[n] = (self.size(n), self.snaps(n), self.parent(n), meta)
        return out

    def mon(self, prefix, **args):
        cmd = dict(prefix=prefix, format='json', **args)
        ret, out, err = self.client.mon_command(json.dumps(cmd), b'')
        assert ret == 0, (cmd, ret, err)
        return json.loads(out) if out.strip() else None

    def cli(self, *argv):
        """The ceph CLI as admin (tests only; the driver never shells out)."""
        proc = subprocess.run(['ceph', '-c', self.conf, '--id', 'admin', '--connect-timeout', '15']
                              + list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=60,
                              check=False)
        assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
        return proc.stdout

    def daemon(self, name, *argv):
        """``ceph daemon <name> ...`` through the admin socket."""
        sock = os.path.join(self.dir, 'run', 'ceph-%s.asok' % name)
        proc = subprocess.run(['ceph', '--admin-daemon', sock] + list(argv), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=60,
                              check=False)
        assert proc.returncode == 0, (argv, proc.stdout, proc.stderr)
        return proc.stdout

    def log(self, name):
        return os.path.join(self.dir, 'log', 'ceph-%s.log' % name)

    # -- cleanup -------------------------------------------------------------
    def empty_pool(self):
        """Remove every group (with its group snapshots), the groups' and the volumes'
        records, then every image: flatten clones, unprotect and remove snapshots."""
        with self.ioctx() as io:
            r = rbd.RBD()
            for g in list(r.group_list(io)):
                r.group_remove(io, g)
            for record in ('cinderkit.groups', 'cinderkit.volumes'):
                try:
                    io.remove_object(record)
                except rados.ObjectNotFound:
                    pass
            for dummy in range(5):
                names = list(r.list(io))
                if not names:
                    return
                for n in names:
                    try:
                        with rbd.Image(io, n) as im:
                            try:
                                im.get_parent_image_spec()
                                im.flatten()
                            except rbd.ImageNotFound:
                                pass
                    except rbd.ImageNotFound:
                        continue
                for n in names:
                    try:
                        with rbd.Image(io, n) as im:
                            for s in list(im.list_snaps()):
                                if im.is_protected_snap(s['name']):
                                    im.unprotect_snap(s['name'])
                                im.remove_snap(s['name'])
                        r.remove(io, n)
                    except rbd.Error:
                        pass
        assert not self.images(), 'could not empty pool %s: %s' % (self.pool, self.images())

    def close(self):
        if self._client is not None:
            self._client.shutdown()
            self._client = None


def _run(argv, env, timeout=180):
    return subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout, check=False)


def _env_of(harness_env):
    out = {}
    for line in harness_env.splitlines():
        if line.startswith('export ') and '=' in line:
            k, v = line[len('export '):].split('=', 1)
            out[k] = v
    return out


def cluster(base='/var/tmp', wait=None):
    """Start the cluster (or reuse one), yield a ``Ceph``, stop it.  Fails, never skips.

    ``base``: where its data directory goes (the VM tier gives its ext4 scratch disk:
    bluestore needs O_DIRECT, which the guest's RAM overlays lack).  ``wait``: seconds for
    HEALTH_OK (ceph.sh's default is 120; under TCG on a shared host the mgr alone can take
    longer to load its Python modules, and the mon reports MGR_DOWN until it has)."""
    if rados is None:
        pytest.fail('python3-rados/python3-rbd are not importable from %s (make setup links them '
                    'into the venv)' % os.environ.get('VIRTUAL_ENV', 'this interpreter'))
    missing = [t for t in ('ceph-mon', 'ceph-osd', 'ceph-mgr', 'ceph') if shutil.which(
        t, path=os.environ.get('PATH', '') + ':/usr/bin:/usr/sbin') is None]
    if missing:
        pytest.fail('Ceph test cluster needs %s (make deps)' % ', '.join(missing))
    reuse = os.environ.get('CINDERKIT_CEPH_REUSE')
    env = dict(os.environ)
    if reuse:
        env['CINDERKIT_CEPH_DIR'] = reuse
        data_dir, owned = reuse, False
    else:
        os.makedirs(base, exist_ok=True)
        data_dir = tempfile.mkdtemp(prefix='cinderkit-ceph-', dir=base)
        v2 = free_block(13300, 1)
        osd = free_block(16800, 200)
        env.update(CINDERKIT_CEPH_DIR=data_dir, CINDERKIT_CEPH_V2_PORT=str(v2),
                   CINDERKIT_CEPH_V1_PORT=str(free_block(v2 + 1, 1)),
                   CINDERKIT_CEPH_OSD_PORTS='%d %d' % (osd, osd + 199))
        owned = True
        if wait:
            env['CINDERKIT_CEPH_WAIT'] = str(int(wait))
        t0 = time.time()
        proc = _run([HARNESS, 'start'], env, timeout=int(wait or 120) + 120)
        if proc.returncode != 0:
            _run([HARNESS, 'stop'], env)
            shutil.rmtree(data_dir, ignore_errors=True)
            pytest.fail('the one-node Ceph cluster did not start (tests/harness/ceph.sh start, rc %d):\n%s'
                        % (proc.returncode, proc.stdout[-4000:]))
        print('\n[ceph] cluster ready in %.1f s (%s)' % (time.time() - t0, data_dir))
    cenv = _env_of(_run([HARNESS, 'env'], env).stdout)
    cluster = Ceph(data_dir, cenv, owned)
    try:
        yield cluster
    finally:
        cluster.close()
        if owned:
            proc = _run([HARNESS, 'stop'], env)
            shutil.rmtree(data_dir, ignore_errors=True)
            if proc.returncode != 0:
                print('[ceph] stop failed: %s' % proc.stdout[-2000:])


def emptied(ceph_cluster):
    """Yield the cluster; empty its pool afterwards."""
    try:
        yield ceph_cluster
    finally:
        ceph_cluster.empty_pool()
