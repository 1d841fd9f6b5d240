# -*- coding: utf-8 -*-
"""Helpers shared by the integration tiers (host and VM).

* ``LoopVG``: a sparse file -> loop device -> PV -> VG, with its own LVM
  config directory (activation off on hosts without device-mapper), removed
  again on close.
* ``run_module``: run a collection module in this Python process with the
  given args, check mode and diff mode, and return its JSON result.  The VM
  tier uses it because starting Python there costs seconds per process; the
  host tier mostly goes through Ansible (pytest-ansible) instead.
* ``Play``: run a list of tasks with ansible-playbook (for check/diff mode and
  -vvv output checks) and return per-task results.
"""

import contextlib
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
WORKDIR = os.environ.get('CINDERKIT_TEST_WORKDIR', '/var/tmp/cinderkit-tests')


def _has_dm():
    try:
        with open('/proc/misc') as fh:
            return any(line.split()[-1:] == ['device-mapper'] for line in fh)
    except OSError:
        return False


HAS_DM = _has_dm()
IN_VM = os.environ.get('CINDERKIT_IN_VM') == '1'


def sh(argv, check=True, env=None, input=None, timeout=None):
    """Run argv (no shell); return CompletedProcess with text output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault('LVM_SUPPRESS_FD_WARNINGS', '1')
    proc = subprocess.run(argv, input=input, env=full_env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (%d): %s %s' % (' '.join(argv), proc.returncode,
                                                        proc.stdout, proc.stderr))
    return proc


def tool_missing(*tools):
    return [t for t in tools if shutil.which(t, path=os.environ.get('PATH', '') + ':/usr/sbin:/sbin') is None]


class LoopVG(object):
    """A volume group on a loop device over a sparse file.

    ``activation``: None = on when this host has device-mapper, else off.
    """

    def __init__(self, size_gb=20, name=None, activation=None, metadatasize='16m', pvs=1,
                 shell_profile=True):
        self.shell_profile = shell_profile
        self.name = name or 'ckt%s' % uuid.uuid4().hex[:8]
        self.dir = tempfile.mkdtemp(prefix='%s-' % self.name, dir=_workdir())
        self.activation = HAS_DM if activation is None else activation
        self.conf_dir = os.path.join(self.dir, 'lvm')
        os.makedirs(self.conf_dir)
        self.lvm_conf = os.path.join(self.conf_dir, 'lvm.conf')
        self.files, self.loops = [], []
        self._write_conf()
        try:
            for i in range(pvs):
                f = os.path.join(self.dir, 'pv%d.img' % i)
                with open(f, 'wb') as fh:
                    fh.truncate(int(size_gb * 1024 ** 3))
                self.files.append(f)
                self.loops.append(sh(['losetup', '--find', '--show', f]).stdout.strip())
            self._limit_scan()
            self.lvm(['pvcreate', '--yes', '--metadatasize', metadatasize] + self.loops)
            self.lvm(['vgcreate', '--yes', self.name] + self.loops)
        except BaseException:
            self.close()
            raise

    def _write_conf(self):
        base = '/etc/lvm/lvm.conf'
        text = open(base).read() if os.path.exists(base) else ''
        text += '\n# cinderkit test overrides\n'
        text += 'global { activation = %d }\n' % (1 if self.activation else 0)
        # LVM creates the /dev nodes itself instead of waiting for udev (slow under TCG)
        text += 'activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }\n'
        text += 'devices { obtain_device_list_from_udev = 0 }\n'
        text += 'backup { backup = 0 archive = 0 }\n'
        with open(self.lvm_conf, 'w') as fh:
            fh.write(text)
        # LVM's command profiles, as /etc/lvm has them: the modules' lvm shell needs lvmdbusd's
        # (plugins/module_utils/_lvm_shell.py); without it every LVM command is a process
        if os.path.isdir('/etc/lvm/profile') and self.shell_profile:
            shutil.copytree('/etc/lvm/profile', os.path.join(self.conf_dir, 'profile'))

    def _limit_scan(self):
        """Scan only this VG's loop devices (the conf file is per VG)."""
        accept = ''.join('"a|^%s$|", ' % loop for loop in self.loops)
        with open(self.lvm_conf, 'a') as fh:
            fh.write('devices { global_filter = [ %s"r|.*|" ] }\n' % accept)

    @property
    def env(self):
        return {'LVM_SYSTEM_DIR': self.conf_dir, 'LVM_SUPPRESS_FD_WARNINGS': '1'}

    def lvm(self, argv, check=True):
        return sh(argv, check=check, env=self.env)

    def backend(self, **over):
        b = dict(volume_driver='lvm', volume_group=self.name, lvm_type='default',
                 lvm_conf_file=self.lvm_conf, volume_clear='none' if not self.activation else 'zero')
        b.update(over)
        return b

    def lvs(self):
        """{name: row} from lvs JSON (sizes in bytes)."""
        out = self.lvm(['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-a',
                        '-o', 'lv_name,lv_size,lv_attr,origin,pool_lv,lv_tags,segtype,data_percent',
                        self.name]).stdout
        rows = json.loads(out)['report'][0]['lv']
        return dict((r['lv_name'], r) for r in rows)

    def vg(self):
        out = self.lvm(['vgs', '--reportformat', 'json', '--units', 'b', '--nosuffix',
                        '-o', 'vg_name,vg_size,vg_free,lv_count,vg_extent_size', self.name]).stdout
        return json.loads(out)['report'][0]['vg'][0]

    def close(self):
        if self.loops:
            self.lvm(['vgremove', '--yes', '--force', self.name], check=False)
            for loop in self.loops:
                self.lvm(['pvremove', '--yes', '--force', loop], check=False)
                sh(['losetup', '--detach', loop], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.loops = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _workdir():
    os.makedirs(WORKDIR, exist_ok=True)
    return WORKDIR


class ModuleResult(dict):
    @property
    def failed(self):
        return bool(self.get('failed'))

    @property
    def changed(self):
        return bool(self.get('changed'))


def run_module(module, args, check=False, diff=False):
    """Run plugins/modules/<module>.py main() in-process; return its result."""
    from ansible.module_utils import basic
    mod = importlib.import_module('ansible_collections.cinderkit.storage.plugins.modules.%s' % module)
    payload = dict(args)
    payload.update(_ansible_check_mode=check, _ansible_diff=diff, _ansible_verbosity=0,
                   _ansible_remote_tmp=tempfile.gettempdir(), _ansible_keep_remote_files=False,
                   _ansible_tmpdir=tempfile.mkdtemp(prefix='ckmod-'))
    try:
        from ansible.module_utils.testing import patch_module_args
        ctx = patch_module_args(payload)
    except ImportError:  # ansible-core < 2.19
        basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode()
        ctx = contextlib.nullcontext()
    out = io.StringIO()
    with ctx, contextlib.redirect_stdout(out):
        try:
            mod.main()
        except SystemExit:
            pass
    text = out.getvalue()
    try:
        return ModuleResult(json.loads(text[text.index('{'):]))
    except ValueError:
        raise AssertionError('module %s printed no JSON: %r' % (module, text[-2000:]))


class Play(object):
    """Run tasks with ansible-playbook against localhost; JSON results per task."""

    def __init__(self, tmpdir=None):
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix='ckplay-', dir=_workdir())

    def run(self, tasks, check=False, diff=False, verbosity=0, extra_env=None, vars=None,
            expect_rc=None):
        import yaml
        play = [dict(hosts='localhost', gather_facts=False, vars=vars or {}, tasks=tasks)]
        path = os.path.join(self.tmpdir, 'play-%s.yml' % uuid.uuid4().hex[:6])
        with open(path, 'w') as fh:
            yaml.safe_dump(play, fh)
        argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), path,
                '-i', 'localhost,', '-c', 'local',
                '-e', 'ansible_python_interpreter=%s' % sys.executable]
        if check:
            argv.append('--check')
        if diff:
            argv.append('--diff')
        if verbosity:
            argv.append('-' + 'v' * verbosity)
        results_file = os.path.join(self.tmpdir, 'results-%s.jsonl' % uuid.uuid4().hex[:6])
        env = dict(os.environ)
        env.update(ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_NOCOLOR='1',
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'),
                   ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, 'tests', 'integration', 'callback_plugins'),
                   ANSIBLE_CALLBACKS_ENABLED='ck_results', CK_RESULTS_FILE=results_file)
        env.update(extra_env or {})
        proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, check=False)
        self.last = proc
        if expect_rc is not None:
            assert proc.returncode == expect_rc, (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
        if verbosity:
            return proc
        if not os.path.exists(results_file):
            raise AssertionError('ansible-playbook produced no results: %s %s'
                                 % (proc.stdout[-3000:], proc.stderr[-3000:]))
        with open(results_file) as fh:
            return [json.loads(line) for line in fh if line.strip()]


def block_device_ready(dev):
    """True once ``dev`` has a size and opens: a SCSI disk shows in sysfs and /dev before
    its first revalidation ends, and opening it then fails with ENXIO."""
    name = os.path.basename(os.path.realpath(dev))
    try:
        with open('/sys/class/block/%s/size' % name) as fh:
            if int(fh.read().strip() or 0) <= 0:
                return False
        os.close(os.open(dev, os.O_RDONLY))
    except (OSError, ValueError):
        return False
    return True


def pattern(seed, size):
    """Deterministic pseudo-random bytes for data checks.

    One seeded random MiB, then every further MiB is that block rotated by its
    index and a seed-derived step: every MiB differs, so a misplaced or stale
    block is caught, and it is cheap where Python is slow (the VM tier).
    """
    import random
    rnd = random.Random(seed)
    block = rnd.randbytes(1024 * 1024)
    step = rnd.randrange(1, 4096)
    out = bytearray()
    i = 0
    while len(out) < size:
        k = (i * step) % len(block)
        out += block[k:] + block[:k]
        i += 1
    return bytes(out[:size])


class RangeHTTPServer(object):
    """Serve one directory over http://127.0.0.1:PORT/ with HEAD and Range support
    (qemu-img's curl driver needs both).  Use as a context manager.

    ``stall_from``: the server sends the bytes before this offset, then nothing more until
    it stops (a server that hangs mid-copy)."""

    def __init__(self, directory, stall_from=None):
        import http.server
        import threading
        root = directory
        self.stopping = stopping = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                return None

            def _file(self):
                path = os.path.join(root, os.path.basename(self.path.split('?')[0]))
                return path if os.path.isfile(path) else None

            def do_HEAD(self):
                path = self._file()
                if path is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header('Content-Length', str(os.path.getsize(path)))
                self.send_header('Accept-Ranges', 'bytes')
                self.end_headers()

            def do_GET(self):
                path = self._file()
                if path is None:
                    self.send_error(404)
                    return
                size = os.path.getsize(path)
                start, end = 0, size - 1
                rng = self.headers.get('Range')
                if rng and rng.startswith('bytes='):
                    a, b = rng[6:].split('-', 1)
                    start = int(a) if a else 0
                    end = min(int(b), size - 1) if b else size - 1
                    self.send_response(206)
                    self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end, size))
                else:
                    self.send_response(200)
                self.send_header('Content-Length', str(end - start + 1))
                self.send_header('Accept-Ranges', 'bytes')
                self.end_headers()
                with open(path, 'rb') as fh:
                    fh.seek(start)
                    if stall_from is not None and end >= stall_from:
                        self.wfile.write(fh.read(max(0, stall_from - start)))
                        self.wfile.flush()
                        stopping.wait(600)
                        return
                    self.wfile.write(fh.read(end - start + 1))

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name):
        return 'http://127.0.0.1:%d/%s' % (self.port, name)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
