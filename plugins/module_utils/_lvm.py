# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LVM command layer: typed records from ``--reportformat json`` and argv
builders, all run through the one CommandRunner.

Queries are whole-VG: one ``vgs`` and one ``lvs`` call describe every LV a
task needs, whatever the LV count.  A task's single commands go one at a time
to one running ``lvm`` shell, each with its own exit code (``_lvm_shell.py``).
Many writes at once can go to one ``lvm`` process fed on stdin, or independent
ones to two such processes at once; callers verify the outcome with one query
afterwards, because a script fed on stdin has one exit code for all its lines.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import threading
import time

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, CommandFailed, InvalidParameter, NotFound)
from ansible_collections.cinderkit.storage.plugins.module_utils._lvm_shell import (
    LvmShell, SAFE_TOKEN_RE)

LV_FIELDS = ('lv_name', 'vg_name', 'lv_size', 'lv_attr', 'origin', 'origin_size', 'pool_lv',
             'lv_tags', 'data_percent', 'snap_percent', 'lv_uuid', 'lv_path', 'segtype',
             'lv_active', 'lv_device_open', 'lv_skip_activation', 'lv_time')
VG_FIELDS = ('vg_name', 'vg_size', 'vg_free', 'vg_extent_size', 'vg_extent_count',
             'vg_free_count', 'lv_count', 'snap_count', 'vg_uuid', 'pv_count', 'vg_attr', 'vg_tags')

# LVM refuses LV names with these prefixes or parts (lvm(8), "VALID NAMES").
RESERVED_PREFIXES = ('snapshot', 'pvmove')
RESERVED_PARTS = ('_cdata', '_cmeta', '_corig', '_mlog', '_mimage', '_pmspare', '_rimage',
                  '_rmeta', '_tdata', '_tmeta', '_vorigin', '_vdata', '_wcorig')
NAME_RE = re.compile(r'^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$')
TAG_RE = re.compile(r'^[A-Za-z0-9_+.\-/=!:&]+$')
MAX_NAME = 127

PACKAGES = {'lvm': 'lvm2', 'lvs': 'lvm2', 'vgs': 'lvm2', 'lvcreate': 'lvm2', 'lvremove': 'lvm2',
            'lvextend': 'lvm2', 'lvchange': 'lvm2', 'lvrename': 'lvm2', 'lvconvert': 'lvm2',
            'lvmconfig': 'lvm2', 'thin_check': 'thin-provisioning-tools',
            'blkdiscard': 'util-linux', 'dmsetup': 'dmsetup', 'vgchange': 'lvm2', 'dd': 'coreutils', 'ionice': 'util-linux'}


def name_problem(name):
    """Why ``name`` cannot be an LV name, or None."""
    if not isinstance(name, str) or not name:
        return 'must be a non-empty string'
    if len(name) > MAX_NAME:
        return 'is %d characters long; the limit is %d' % (len(name), MAX_NAME)
    if name in ('.', '..'):
        return "'.' and '..' are not names"
    if name.startswith('-'):
        return 'must not start with "-"'
    if not NAME_RE.match(name):
        bad = sorted(set(c for c in name if not re.match(r'[A-Za-z0-9+_.-]', c)))
        return 'contains %s; use only letters, digits and + _ . -' % ', '.join(repr(c) for c in bad)
    for p in RESERVED_PREFIXES:
        if name.startswith(p):
            return 'must not start with %r (reserved by LVM)' % p
    for part in RESERVED_PARTS:
        if part in name:
            return 'must not contain %r (reserved by LVM)' % part
    return None


class VG(object):
    __slots__ = ('name', 'size', 'free', 'extent_size', 'extent_count', 'free_count',
                 'lv_count', 'snap_count', 'uuid', 'pv_count', 'attr', 'tags')

    def __init__(self, row):
        self.name = row['vg_name']
        self.size = int(row['vg_size'])
        self.free = int(row['vg_free'])
        self.extent_size = int(row['vg_extent_size'])
        self.extent_count = int(row['vg_extent_count'])
        self.free_count = int(row['vg_free_count'])
        self.lv_count = int(row['lv_count'])
        self.snap_count = int(row['snap_count'])
        self.uuid = row['vg_uuid']
        self.pv_count = int(row['pv_count'])
        self.attr = row['vg_attr']
        self.tags = [t for t in (row.get('vg_tags') or '').split(',') if t]


def _int(v):
    return int(v) if v not in ('', None) else None


def _lv_time(v):
    """lv_time as LVM's default report shows it; the shell's profile reports epoch seconds."""
    if v and v.isdigit():
        return time.strftime('%Y-%m-%d %H:%M:%S %z', time.localtime(int(v)))
    return v or None


def _float(v):
    return float(v) if v not in ('', None) else None


class LV(object):
    __slots__ = ('name', 'vg', 'size', 'attr', 'origin', 'origin_size', 'pool', 'tags',
                 'data_percent', 'snap_percent', 'uuid', 'path', 'segtype', 'active', 'open',
                 'skip_activation', 'time')

    def __init__(self, row):
        self.name = row['lv_name']
        self.vg = row['vg_name']
        self.size = int(row['lv_size'])
        self.attr = row['lv_attr']
        self.origin = row['origin'] or None
        self.origin_size = _int(row['origin_size'])
        self.pool = row['pool_lv'] or None
        self.tags = [t for t in row['lv_tags'].split(',') if t]
        self.data_percent = _float(row['data_percent'])
        self.snap_percent = _float(row['snap_percent'])
        self.uuid = row['lv_uuid']
        self.path = row['lv_path'] or None
        self.segtype = row['segtype']
        # --binary: 1/0, or -1 / "unknown" when activation is disabled
        self.active = row['lv_active'] in ('1', 'active')
        self.open = row['lv_device_open'] in ('1', 'open')
        self.skip_activation = row['lv_skip_activation'] in ('1', 'skip activation')
        self.time = _lv_time(row.get('lv_time'))

    # classification, from lv_attr[0] and segtype (lvs(8))
    @property
    def is_thin_pool(self):
        return self.segtype == 'thin-pool'

    @property
    def is_thin(self):
        return self.segtype == 'thin'

    @property
    def is_cow_snapshot(self):
        return self.attr[:1] in ('s', 'S')

    @property
    def is_origin(self):
        return self.attr[:1] in ('o', 'O')

    @property
    def is_merging(self):
        return self.attr[:1] in ('O', 'S')

    @property
    def is_internal(self):
        return self.name.startswith('[') or self.attr[:1] in ('t', 'T', 'e', 'i', 'I', 'l', 'p', 'C', 'd', 'D', 'v')

    def tag_value(self, key):
        prefix = key + '='
        for t in self.tags:
            if t.startswith(prefix):
                return t[len(prefix):]
        return None


def dm_available():
    """True when the running kernel has device-mapper (a /dev/mapper/control
    node alone proves nothing: LVM creates it even where the kernel lacks dm)."""
    try:
        with open('/proc/misc') as fh:
            return any(line.split()[-1] == 'device-mapper' for line in fh if line.split())
    except (IOError, OSError):
        return False


def dm_path(vg, lv):
    return '/dev/mapper/%s-%s' % (vg.replace('-', '--'), lv.replace('-', '--'))


class LVMClient(object):
    """LVM commands for one VG, through one CommandRunner."""

    def __init__(self, runner, vg, lvm_conf_file=None):
        self.runner = runner
        self.vg = vg
        self.env = {'LVM_SUPPRESS_FD_WARNINGS': '1'}
        # Cinder semantics: use the file's directory as LVM_SYSTEM_DIR when
        # the file exists; 'None' (any case) means do not use one.
        if lvm_conf_file and lvm_conf_file.lower() != 'none' and os.path.isfile(lvm_conf_file):
            self.env['LVM_SYSTEM_DIR'] = os.path.dirname(os.path.abspath(lvm_conf_file))
        self.runner.packages.update(PACKAGES)
        self.shell = LvmShell()

    def run(self, argv, write=False, check=True, stdin=None, ok_codes=(0,), timeout=None):
        """One LVM command with this VG's environment, in the task's ``lvm`` shell when it
        takes the command (one line, no stdin), else as its own process."""
        return self.runner.run(argv, write=write, check=check, stdin=stdin, env=self.env,
                               ok_codes=ok_codes, timeout=timeout, via=self.shell)

    def close(self):
        """End the task's ``lvm`` shell."""
        self.shell.close()

    @staticmethod
    def _report(stdout, key):
        try:
            data = json.loads(stdout)
        except ValueError:
            raise CinderkitError('cannot parse LVM JSON report: %r' % stdout[:200])
        rows = []
        for rep in data.get('report', []):
            rows.extend(rep.get(key, []))
        return rows

    # -- queries (one each per task) ----------------------------------------
    def get_vg(self):
        res = self.run(['vgs', '--reportformat', 'json', '--units', 'b', '--nosuffix',
                        '-o', ','.join(VG_FIELDS), '--', self.vg], check=False)
        if res.rc != 0:
            if 'not found' in res.stderr or 'No such' in res.stderr:
                return None
            raise CommandFailed(res.cmd, res.rc, res.stdout, res.stderr)
        rows = self._report(res.stdout, 'vg')
        return VG(rows[0]) if rows else None

    def require_vg(self, param='backend.volume_group'):
        vg = self.get_vg()
        if vg is None:
            raise NotFound("parameter '%s': volume group %r does not exist on this host; create it "
                           "first (cinderkit.storage.lvm_backend role) or fix the name" % (param, self.vg))
        return vg

    def list_lvs(self):
        return self.report()[1]

    def report(self):
        """(VG or None, [LV]) from ONE ``lvs`` call that also carries the VG's fields.

        The VG record comes from the LV rows; with no LV in the VG it is None
        (ask ``get_vg``).  A missing VG raises NotFound.
        """
        fields = LV_FIELDS + tuple(f for f in VG_FIELDS if f != 'vg_name')
        res = self.run(['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '--binary',
                        '-o', ','.join(fields), '--', self.vg], check=False)
        if res.rc != 0:
            if 'not found' in res.stderr or 'No such' in res.stderr:
                self.require_vg()
            raise CommandFailed(res.cmd, res.rc, res.stdout, res.stderr)
        rows = self._report(res.stdout, 'lv')
        return (VG(rows[0]) if rows else None), [LV(r) for r in rows]

    def activation_enabled(self):
        res = self.run(['lvmconfig', '--typeconfig', 'full', 'global/activation'], check=False)
        return res.rc == 0 and res.stdout.strip().endswith('=1')

    # -- writes -----------------------------------------------------------------
    def lvcreate_argv(self, name, size_bytes=None, thin_pool=None, tags=(), extents=None,
                      snapshot_of=None, extra=()):
        argv = ['lvcreate', '--yes', '--name', name]
        if snapshot_of:
            argv += ['--snapshot', '%s/%s' % (self.vg, snapshot_of)]
            if size_bytes:
                argv += ['--size', '%db' % size_bytes]
        elif thin_pool:
            argv += ['--thin', '--virtualsize', '%db' % size_bytes, '%s/%s' % (self.vg, thin_pool)]
        elif extents:
            argv += ['--extents', extents]
        else:
            argv += ['--size', '%db' % size_bytes]
        for t in tags:
            argv += ['--addtag', t]
        argv += list(extra)
        if not snapshot_of and not thin_pool:
            argv.append(self.vg)
        return argv

    def run_batch(self, commands, workers=1):
        """Run LVM commands; more than one go to ``lvm`` processes (LVM's
        command interpreter, fed on stdin).

        ``workers`` > 1 is for INDEPENDENT commands only (e.g. lvcreates of
        different LVs): they are split in order into that many parts, each fed
        to its own ``lvm`` process, all running at once (at least two
        commands per process).  LVM's VG lock serialises the metadata update
        of every command; the rest of each command (device scan, metadata
        parsing, teardown) overlaps.  Measured on 2 cores with 400 and 1,000
        lvcreates: two processes take 0.5-0.65x the time of one
        (bench/batch_experiment.py, bench/README.md).

        Returns stderr text.  Does not raise on per-command failures in the
        batch: the caller verifies the result with one query.
        """
        if not commands:
            return ''
        if len(commands) == 1:
            res = self.run(commands[0], write=True, check=False)
            return res.stderr if res.rc else ''
        for argv in commands:
            for tok in argv:
                if not SAFE_TOKEN_RE.match(str(tok)):
                    raise InvalidParameter('name', 'unsafe token %r for the LVM command interpreter' % tok,
                                           'use only letters, digits and + _ . -')
        workers = max(1, min(int(workers), len(commands) // 2))
        step = -(-len(commands) // workers)
        scripts = [''.join(' '.join(argv) + '\n' for argv in commands[i:i + step])
                   for i in range(0, len(commands), step)]
        if len(scripts) == 1:
            return self.run(['lvm'], write=True, check=False, stdin=scripts[0]).stderr
        out = [None] * len(scripts)

        def feed(i):
            try:
                out[i] = self.run(['lvm'], write=True, check=False, stdin=scripts[i]).stderr
            except BaseException as exc:  # re-raised below, in the caller's thread
                out[i] = exc
        threads = [threading.Thread(target=feed, args=(i,)) for i in range(len(scripts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in out:
            if isinstance(r, BaseException):
                raise r
        return ''.join(out)

    def lvremove(self, names):
        if not names:
            return None
        return self.run(['lvremove', '--yes', '--force', '--'] + ['%s/%s' % (self.vg, n) for n in names],
                        write=True)

    def lvextend(self, name, size_bytes):
        return self.run(['lvextend', '--size', '%db' % size_bytes, '--', '%s/%s' % (self.vg, name)],
                        write=True)

    def lvrename(self, old, new):
        return self.run(['lvrename', '--', self.vg, old, new], write=True)

    def lvchange(self, name, *args):
        return self.run(['lvchange'] + list(args) + ['--', '%s/%s' % (self.vg, name)], write=True)

    def addtags(self, name, add=(), delete=()):
        argv = ['lvchange']
        for t in add:
            argv += ['--addtag', t]
        for t in delete:
            argv += ['--deltag', t]
        argv += ['--', '%s/%s' % (self.vg, name)]
        return self.run(argv, write=True)

    def vg_tags(self, add=(), delete=()):
        """Add/delete tags of the VG itself (metadata only)."""
        argv = ['vgchange']
        for t in add:
            argv += ['--addtag', t]
        for t in delete:
            argv += ['--deltag', t]
        return self.run(argv + ['--', self.vg], write=True)

    def lvconvert_merge(self, snapshot_lv):
        # --interval 1: LVM checks whether the merge of an active origin has finished once per
        # interval (default 15 s), so a small merge returned only after ~15 s (16.1 s against
        # 2.3 s for a 64 MiB snapshot with 16 MiB changed, TCG guest)
        return self.run(['lvconvert', '--merge', '--yes', '--interval', '1', '--',
                         '%s/%s' % (self.vg, snapshot_lv)], write=True)
