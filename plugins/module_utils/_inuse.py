# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who holds a block device or a volume file: the names a refusal gives ("in use by ...").

Read-only probes of the running kernel, for any driver whose volumes are
block devices or regular files on this host:

* processes with the device open (``/proc/PID/fd``);
* mounts of it (``/proc/self/mountinfo``);
* stacked devices on top of it (``/sys/dev/block/MAJ:MIN/holders``, e.g. a
  device-mapper snapshot, multipath or a partition mapping);
* an exclusive opener the above cannot name (a kernel target such as LIO's
  iblock, or swap): found by an ``O_EXCL`` open that the kernel refuses;
* for a file: processes with it open, and loop devices backed by it
  (``/sys/block/loop*/loop/backing_file``).  A kernel target that opened the
  file itself (LIO fileio, nvmet) shows in no such list: its export does.

``exclusive(path)`` keeps an ``O_EXCL`` handle while a wipe runs, so no
mount and no kernel target can take the device in between.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import glob
import os
import stat

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import Conflict


def _rdev(path):
    """What an open of ``path`` is known by: a block device's rdev, a file's (dev, inode)."""
    try:
        return _key_of(os.stat(path))
    except OSError:
        return None


def _key_of(st):
    if stat.S_ISBLK(st.st_mode):
        return st.st_rdev
    if stat.S_ISREG(st.st_mode):
        return ('file', st.st_dev, st.st_ino)
    return None


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except (IOError, OSError):
        return ''


def _process_holders(rdevs):
    """{rdev: ['process PID (comm)']} for every process with one of ``rdevs`` open."""
    found = dict((r, []) for r in rdevs)
    me = os.getpid()
    for fd_dir in glob.glob('/proc/[0-9]*/fd'):
        pid = int(fd_dir.split('/')[2])
        if pid == me:
            continue
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        hit = set()
        for fd in fds:
            try:
                st = os.stat(os.path.join(fd_dir, fd))
            except OSError:
                continue
            key = _key_of(st)
            if key is not None and key in found:
                hit.add(key)
        if hit:
            comm = _read('/proc/%d/comm' % pid) or '?'
            for r in hit:
                found[r].append('process %d (%s)' % (pid, comm))
    return found


def _loops(path):
    """Loop devices backed by the file ``path``."""
    real = os.path.realpath(path)
    out = []
    for f in sorted(glob.glob('/sys/block/loop*/loop/backing_file')):
        if _read(f) == real:
            out.append('the loop device /dev/%s' % f.split('/')[3])
    return out


def _mounts(rdevs):
    rdevs = [r for r in rdevs if not isinstance(r, tuple)]
    found = dict((r, []) for r in rdevs)
    by_num = dict(('%d:%d' % (os.major(r), os.minor(r)), r) for r in rdevs)
    for line in _read('/proc/self/mountinfo').splitlines():
        parts = line.split()
        if len(parts) > 4 and parts[2] in by_num:
            found[by_num[parts[2]]].append('a mount at %s' % parts[4])
    return found


def _stacked(rdev):
    out = []
    for h in sorted(glob.glob('/sys/dev/block/%d:%d/holders/*' % (os.major(rdev), os.minor(rdev)))):
        base = os.path.basename(h)
        name = _read('/sys/block/%s/dm/name' % base)
        out.append('the device %s%s stacked on it' % (base, ' (%s)' % name if name else ''))
    return out


def _exclusively_held(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_EXCL)
    except OSError as exc:
        return exc.errno == errno.EBUSY
    os.close(fd)
    return False


def holders(paths):
    """{path: [holder, ...]} for the block devices and files among ``paths`` (others: [])."""
    rdevs = dict((p, _rdev(p)) for p in paths)
    live = set(r for r in rdevs.values() if r is not None)
    procs = _process_holders(live) if live else {}
    mounts = _mounts(live) if live else {}
    out = {}
    for p, r in rdevs.items():
        if r is None:
            out[p] = []
            continue
        if isinstance(r, tuple):
            out[p] = procs.get(r, []) + _loops(p)
            continue
        h = procs.get(r, []) + mounts.get(r, []) + _stacked(r)
        if not h and _exclusively_held(p):
            h = ['an exclusive kernel holder (a kernel target such as LIO, swap, or a file system)']
        out[p] = h
    return out


def describe(path, found=None):
    """'process 12 (sleep), a mount at /mnt' or a neutral phrase when nothing is named."""
    found = holders([path]).get(path, []) if found is None else found
    return ', '.join(found) if found else 'a holder the kernel counts but does not name'


@contextlib.contextmanager
def exclusive(path, what):
    """Hold ``path`` with O_EXCL (no mount, no kernel target can take it meanwhile)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_EXCL)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise Conflict('%s is in use (held by %s); nothing was wiped' % (what, describe(path)))
        raise
    try:
        yield
    finally:
        os.close(fd)
