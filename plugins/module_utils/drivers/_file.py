# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``file`` driver: volumes are sparse files in one directory (Cinder's NFS driver,
without NFS).

Layout under ``file_volume_dir``:

* ``<name>``: a volume, a sparse file of the volume's size (``file_sparsed_volumes:
  false`` allocates it whole);
* ``.snapshots/<volume>/<snapshot>``: a snapshot, a reflink copy of the volume when the file
  system shares extents (XFS with reflink, btrfs), else a sparse copy of its data;
* ``.cinderkit.json``: the ownership record (0600): every volume and snapshot this driver
  made or adopted, with the inode it has.  A file is ours only when the record names it
  with its inode, so a file someone else put in its place is never changed or removed.
  It is also the groups' manifest: ``groups`` (name -> member volumes) and
  ``group_snapshots`` (name -> group and member snapshots).

Group snapshots (capability ``groups``): the writes to a file cannot be suspended the way
a device-mapper device's can, so the driver keeps writers out instead.  It takes a read
lease (``F_SETLEASE``/``F_RDLCK``) on every member, in sorted order: the kernel refuses it
while any process has the file open for writing (the task then fails naming the holders,
as it does for an exported member), and while it is held an ``open()`` for writing by
anyone blocks until the lease is released (up to ``/proc/sys/fs/lease-break-time``, 45 s
by default; the reflinks take milliseconds).  With every lease held, each member is
reflinked, then the leases go.  Guaranteed: the member snapshots hold the files as they
were at one instant, with no write between the first and the last reflink.  Not
guaranteed: writes through a file mapped before (``mmap`` of a file counts as open for
writing, so that is refused too) or by a kernel target that does not open the file
itself (an export: refused by its record).

One task reads the directory, the snapshot directories and the record once (``get_inventory``).
Clones and volumes from snapshots are reflinks too (instant, no data moved); where reflink is
missing, only the allocated ranges are copied (``SEEK_DATA``/``SEEK_HOLE``).  Deleted files
need no wipe: the file system hands their blocks to a new file as zeros.

Volumes are exported as files: tgt's ``rdwr`` backing store, LIO ``fileio``, an nvmet file
namespace.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import hashlib
import math
import os
import signal
import socket
import stat

from ansible_collections.cinderkit.storage.plugins.module_utils import _copy
from ansible_collections.cinderkit.storage.plugins.module_utils import _inuse
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    Conflict, InvalidParameter, NotFound)
from ansible_collections.cinderkit.storage.plugins.module_utils._locks import host_lock
from ansible_collections.cinderkit.storage.plugins.module_utils._options import (
    cfg, common_opts, require_oslo, target_opts)
from ansible_collections.cinderkit.storage.plugins.module_utils._record import OwnerRecord
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import GiB, gb, human
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._base import (
    KIND_SNAPSHOT, KIND_VOLUME, Group, GroupSnapshot, Inventory, Snapshot, Volume, VolumeDriver,
    note_half_made, register, source_from_tag, source_tag)

FICLONE = 0x40049409            # ioctl(dst, FICLONE, src): share every extent of src
RECORD = '.cinderkit.json'
SNAP_DIR = '.snapshots'
TMP_PREFIX = '.ck-tmp-'
MAX_NAME = 200                  # leaves room for the temporary names in a 255-byte file name
GROUPS = 'groups'
GROUP_SNAPSHOTS = 'group_snapshots'


def file_opts():
    require_oslo()
    return [
        cfg.StrOpt('file_volume_dir', default='$state_path/file-volumes',
                   help='Directory that holds the volume files (cinderkit).'),
        cfg.BoolOpt('file_sparsed_volumes', default=True,
                    help='Create volumes as sparse files; false allocates them whole '
                         "(Cinder's nfs_sparsed_volumes)."),
    ]


def reflink(src_fd, dst_fd):
    """Share every extent of ``src_fd`` with ``dst_fd``; False where the file system cannot."""
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
        return True
    except (IOError, OSError) as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL,
                         errno.ENOSYS, errno.EPERM):
            return False
        raise


def data_ranges(fd, size):
    """[(offset, length)] of the allocated ranges of ``fd`` (SEEK_DATA/SEEK_HOLE)."""
    out, pos = [], 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:        # no data past pos
                break
            return [(0, size)]                  # no SEEK_DATA here: all of it
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        out.append((start, end - start))
        pos = end
    return out


def sparse_copy(src_fd, dst_fd, size):
    """Copy only the allocated ranges; the destination's holes stay holes.  Bytes copied."""
    copied = 0
    for offset, length in data_ranges(src_fd, size):
        done = 0
        while done < length:
            n = os.copy_file_range(src_fd, dst_fd, length - done, offset + done, offset + done) \
                if hasattr(os, 'copy_file_range') else _pread_copy(src_fd, dst_fd, offset + done,
                                                                   length - done)
            if n == 0:
                break
            done += n
        copied += done
    return copied


def _pread_copy(src_fd, dst_fd, offset, length):
    chunk = os.pread(src_fd, min(length, 4 * 1024 * 1024), offset)
    if chunk:
        os.pwrite(dst_fd, chunk, offset)
    return len(chunk)


@register('file', aliases=('cinderkit.file',))
class FileDriver(VolumeDriver):
    """Volumes are sparse files of one directory; snapshots and clones are reflinks."""

    VERSION = '1.0.0'
    default_backend_name = 'FILE'
    capabilities = frozenset(('image', 'manage', 'revert', 'multiattach', 'groups'))
    object_noun = 'file'

    @classmethod
    def get_driver_options(cls):
        return file_opts() + common_opts() + target_opts()

    def __init__(self, config, runner):
        super(FileDriver, self).__init__(config, runner)
        self.dir = os.path.normpath(config.file_volume_dir)
        self._inv = None
        self._record = None

    # -- names and places ---------------------------------------------------------
    def validate_name(self, name, param='name'):
        problem = None
        if not isinstance(name, str) or not name:
            problem = 'must be a non-empty string'
        elif len(name.encode('utf-8')) > MAX_NAME:
            problem = 'is longer than %d bytes' % MAX_NAME
        elif name.startswith('.') or '/' in name or not name.isprintable() or name != name.strip():
            problem = ("may not start with '.', hold '/', blanks at either end or control "
                       "characters (it is a file name)")
        if problem:
            raise InvalidParameter(param, '%r %s' % (name, problem) if isinstance(name, str)
                                   and name.isprintable() else 'the value %s' % problem)

    def local_path(self, name):
        inv = self._inv
        if inv is not None and name in inv.snapshots:
            return inv.snapshots[name].path
        return os.path.join(self.dir, name)

    def _snap_path(self, volume, name):
        return os.path.join(self.dir, SNAP_DIR, volume, name)

    def lock(self):
        """The host lock of this directory: every change to it and to its record."""
        return host_lock('file-%s' % hashlib.sha1(self.dir.encode('utf-8')).hexdigest()[:16])

    @property
    def record(self):
        if self._record is None:
            self._record = OwnerRecord(os.path.join(self.dir, RECORD), (KIND_VOLUME + 's',
                                                                        KIND_SNAPSHOT + 's',
                                                                        GROUPS, GROUP_SNAPSHOTS),
                                       self)
        return self._record

    # -- setup --------------------------------------------------------------------
    def check_for_setup_error(self):
        d = self.dir
        if not os.path.isabs(d):
            raise InvalidParameter('backend.file_volume_dir', 'the path %s is not absolute' % d)
        if os.path.lexists(d) and not os.path.isdir(d):
            raise InvalidParameter('backend.file_volume_dir', '%s is not a directory' % d)
        if not os.path.isdir(d) and not self.runner.check_mode:
            os.makedirs(d, 0o700)

    # -- the one query -----------------------------------------------------------------
    def refresh(self):
        self._inv = None
        self._record = None

    def get_inventory(self, refresh=False):
        if self._inv is not None and not refresh:
            return self._inv
        self._record = None
        vols_rec = self.record.section(KIND_VOLUME + 's')
        snaps_rec = self.record.section(KIND_SNAPSHOT + 's')
        files = {}
        for entry in _scandir(self.dir):
            if entry.name.startswith('.'):
                continue
            st = _lstat(entry.path)
            if st is not None and stat.S_ISREG(st.st_mode):
                files[entry.name] = (entry.path, st)
        snap_files = {}
        for vdir in _scandir(os.path.join(self.dir, SNAP_DIR)):
            for entry in _scandir(vdir.path):
                st = _lstat(entry.path)
                if st is not None and stat.S_ISREG(st.st_mode) and not entry.name.startswith('.'):
                    snap_files[(vdir.name, entry.name)] = (entry.path, st)
        holders = _inuse.holders([p for p, dummy in files.values()])
        inv = Inventory(space=self._space)
        for name, (path, st) in sorted(files.items()):
            rec = vols_rec.get(name)
            ours = isinstance(rec, dict) and rec.get('ino') == st.st_ino
            vol = Volume(name, st.st_size, thin=st.st_blocks * 512 < st.st_size, path=path,
                         provider_location=path,
                         source=source_from_tag(rec.get('src')) if ours else None,
                         managed=ours, in_use=bool(holders.get(path)),
                         extra=dict(allocated_bytes=st.st_blocks * 512))
            (inv.volumes if ours else inv.unmanaged)[name] = vol
        for (volume, name), (path, st) in sorted(snap_files.items()):
            rec = snaps_rec.get(name)
            ours = (isinstance(rec, dict) and rec.get('ino') == st.st_ino
                    and rec.get('volume') == volume and volume in inv.volumes)
            snap = Snapshot(name, volume, st.st_size, thin=True, path=path, managed=ours,
                            extra=dict(allocated_bytes=st.st_blocks * 512))
            if ours:
                inv.snapshots[name] = snap
                inv.volumes[volume].snapshots.append(name)
            else:
                inv.unmanaged['%s@%s' % (volume, name)] = snap
        for name, rec in sorted(self.record.section(GROUPS).items()):
            members = rec.get('volumes') if isinstance(rec, dict) else None
            inv.groups[name] = Group(name, [v for v in members or () if v in inv.volumes])
        for name, rec in sorted(self.record.section(GROUP_SNAPSHOTS).items()):
            if not isinstance(rec, dict) or not isinstance(rec.get('snapshots'), dict):
                continue
            snaps = dict((v, s) for v, s in rec['snapshots'].items()
                         if s in inv.snapshots and inv.snapshots[s].volume == v)
            inv.group_snapshots[name] = GroupSnapshot(name, rec.get('group'), snaps)
            for snap_name in snaps.values():
                inv.snapshots[snap_name].extra['group_snapshot'] = name
        self._inv = inv
        return inv

    def _space(self):
        try:
            sv = os.statvfs(self.dir)
        except OSError:
            return dict(total=0, free=0)
        return dict(total=sv.f_blocks * sv.f_frsize, free=sv.f_bavail * sv.f_frsize)

    # -- checks before any change -----------------------------------------------------
    def check_space(self, specs, kind='default', extra_thick_bytes=0, freed_bytes=0):
        if self.config.file_sparsed_volumes:
            return
        need = sum(s.size_bytes for s in specs) + extra_thick_bytes
        free = self.get_inventory().space['free'] + freed_bytes
        if need > free:
            raise Conflict('%s has %s free; %s needed for %d volume(s). Nothing was changed'
                           % (self.dir, human(free), human(need), len(specs)))

    def check_delete(self, vol):
        found = _inuse.holders([vol.path]).get(vol.path)
        if found:
            raise Conflict('volume %s is in use (%s); close it first: nothing was changed'
                           % (vol.name, ', '.join(found)))

    # -- writes ---------------------------------------------------------------------------
    def _own(self, kind, name, path, **extra):
        entry = dict(extra, ino=os.stat(path).st_ino)
        self.record.set(kind + 's', name, entry)

    def _new_file(self, path, size_bytes):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, size_bytes)
            if not self.config.file_sparsed_volumes:
                os.posix_fallocate(fd, 0, size_bytes)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)
        self.runner.note_write('created %s' % path)

    def create_volume(self, spec):
        self.create_volumes([spec])

    def create_volumes(self, specs):
        with self.lock():
            for spec in specs:
                path = self.local_path(spec.name)
                self._refuse_taken(path)
                self._new_file(path, spec.size_bytes)
                src = source_tag(spec.source)
                self._own(KIND_VOLUME, spec.name, path,
                          src=src.split('=', 1)[1] if src else None)
        self.refresh()

    def _refuse_taken(self, path):
        if os.path.lexists(path):
            raise Conflict('%s exists already and is not a volume of this backend; nothing was '
                           'changed for it' % path)

    def delete_volume(self, name):
        inv = self.get_inventory()
        vol = inv.volumes.get(name)
        if vol is None:
            return
        with self.lock():
            self.check_delete(vol)
            os.unlink(vol.path)
            self.runner.note_write('removed %s' % vol.path)
            self.record.forget(KIND_VOLUME + 's', name)
            try:
                os.rmdir(os.path.join(self.dir, SNAP_DIR, name))
            except OSError:
                pass
        self.refresh()

    def delete_volumes(self, names):
        for name in names:
            self.delete_volume(name)

    def _copy_into(self, src_path, dst_path, size_bytes):
        """A new file at ``dst_path`` with ``src_path``'s bytes, grown to ``size_bytes``:
        reflinked where the file system can, else a sparse copy of the allocated data.
        Made under a temporary name and renamed, so no half-made file carries the name."""
        tmp = os.path.join(os.path.dirname(dst_path), TMP_PREFIX + os.path.basename(dst_path))
        sfd = os.open(src_path, os.O_RDONLY)
        try:
            src_size = os.fstat(sfd).st_size
            dfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                how = 'reflink'
                if not reflink(sfd, dfd):
                    how = 'sparse copy'
                    os.ftruncate(dfd, src_size)
                    sparse_copy(sfd, dfd, src_size)
                if size_bytes > src_size:
                    os.ftruncate(dfd, size_bytes)
                os.fsync(dfd)
            finally:
                os.close(dfd)
            os.rename(tmp, dst_path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        finally:
            os.close(sfd)
        self.runner.note_write('%s of %s to %s' % (how, src_path, dst_path))
        return how

    def _clone(self, spec, src_path):
        path = self.local_path(spec.name)
        with self.lock():
            self._refuse_taken(path)
            how = self._copy_into(src_path, path, spec.size_bytes)
            src = source_tag(spec.source)
            self._own(KIND_VOLUME, spec.name, path, src=src.split('=', 1)[1] if src else None)
        self.refresh()
        return how

    def create_cloned_volume(self, spec, src_volume_name):
        return self._clone(spec, self.get_inventory().volumes[src_volume_name].path)

    def create_volume_from_snapshot(self, spec, snapshot_name):
        return self._clone(spec, self.get_inventory().snapshots[snapshot_name].path)

    def create_snapshot(self, name, volume_name):
        vol = self.get_inventory().volumes[volume_name]
        path = self._snap_path(volume_name, name)
        with self.lock():
            d = os.path.dirname(path)
            if not os.path.isdir(d):
                os.makedirs(d, 0o700)
            self._refuse_taken(path)
            self._copy_into(vol.path, path, 0)
            self._own(KIND_SNAPSHOT, name, path, volume=volume_name)
        self.refresh()

    def snapshot_backing(self, name):
        """The snapshot's own reflink file, exported read-only."""
        from ansible_collections.cinderkit.storage.plugins.module_utils._backing import Backing
        return Backing.from_path(self.get_inventory().snapshots[name].path, read_only=True)

    def delete_snapshot(self, name):
        snap = self.get_inventory().snapshots.get(name)
        if snap is None:
            return
        with self.lock():
            os.unlink(snap.path)
            self.runner.note_write('removed %s' % snap.path)
            self.record.forget(KIND_SNAPSHOT + 's', name)
        self.refresh()

    def revert_to_snapshot(self, volume_name, snapshot_name):
        """The volume gets the snapshot's bytes and keeps its own size (never shrunk)."""
        inv = self.get_inventory()
        vol, snap = inv.volumes[volume_name], inv.snapshots[snapshot_name]
        with self.lock():
            self.check_delete(vol)          # nothing may hold the file that is replaced
            self._copy_into(snap.path, vol.path, max(vol.size_bytes, snap.size_bytes))
            rec = self.record.get(KIND_VOLUME + 's', volume_name) or {}
            self._own(KIND_VOLUME, volume_name, vol.path, src=rec.get('src'))
        self.refresh()

    # -- groups (capability 'groups') ------------------------------------------------------
    def create_group(self, name, volumes=()):
        with self.lock():
            self.record.set(GROUPS, name, dict(volumes=sorted(volumes)))
            self.runner.note_write('recorded group %s' % name)
        self.refresh()

    def delete_group(self, name):
        with self.lock():
            self.record.forget(GROUPS, name)
            self.runner.note_write('forgot group %s' % name)
        self.refresh()

    def _set_members(self, name, change):
        with self.lock():
            rec = self.record.get(GROUPS, name) or {}
            members = change(set(rec.get('volumes') or ()))
            self.record.set(GROUPS, name, dict(rec, volumes=sorted(members)))
            self.runner.note_write('group %s has %s' % (name, ', '.join(sorted(members)) or 'no volume'))
        self.refresh()

    def add_group_members(self, name, volumes):
        self._set_members(name, lambda cur: cur | set(volumes))

    def remove_group_members(self, name, volumes):
        self._set_members(name, lambda cur: cur - set(volumes))

    def check_group_snapshot(self, group, members, export_holder=None):
        """Refuse (Conflict, naming the holder) while a member is exported or open for
        writing: the leases could not keep such a writer out."""
        inv = self.get_inventory()
        problems = []
        for vol in sorted(members):
            holder = export_holder(vol) if export_holder is not None else None
            if holder:
                problems.append('member volume %s is exported (%s)' % (vol, holder))
                continue
            path = inv.volumes[vol].path
            with _leases([path]) as refused:
                if refused:
                    problems.append('member volume %s is open for writing (%s)'
                                    % (vol, _inuse.describe(path)))
        if problems:
            raise Conflict('%s; its writes cannot be kept out of a consistent group snapshot: stop '
                           'the writer or remove the export first; nothing was changed'
                           % ' | '.join(problems))

    def create_group_snapshot(self, name, group, members):
        inv = self.get_inventory()
        made = []
        with self.lock():
            paths = [inv.volumes[v].path for v in sorted(members)]
            with _leases(paths) as refused:
                if refused:
                    raise Conflict('member %s is open for writing (%s); nothing was changed'
                                   % (refused, _inuse.describe(refused)))
                try:
                    for vol in sorted(members):
                        snap = members[vol]
                        path = self._snap_path(vol, snap)
                        if not os.path.isdir(os.path.dirname(path)):
                            os.makedirs(os.path.dirname(path), 0o700)
                        self._refuse_taken(path)
                        self._copy_into(inv.volumes[vol].path, path, 0)
                        made.append((snap, path))
                        self._own(KIND_SNAPSHOT, snap, path, volume=vol)
                except BaseException as exc:
                    failures = []
                    for snap, path in made:
                        try:
                            os.unlink(path)
                            self.record.forget(KIND_SNAPSHOT + 's', snap)
                        except OSError as err:
                            failures.append('%s (%s)' % (path, err.strerror))
                    self.refresh()
                    if hasattr(exc, 'msg'):
                        exc.msg = '%s; the %d member snapshot(s) made before were %s' % (
                            exc.msg, len(made), 'removed' if not failures else
                            'not all removed: %s is left' % ', '.join(failures))
                    raise
            self.record.set(GROUP_SNAPSHOTS, name, dict(group=group, snapshots=dict(members)))
        self.refresh()

    def delete_group_snapshot(self, name):
        gs = self.get_inventory().group_snapshots.get(name)
        if gs is None:
            return
        for snap in sorted(gs.snapshots.values()):
            self.delete_snapshot(snap)
        with self.lock():
            self.record.forget(GROUP_SNAPSHOTS, name)
        self.refresh()

    def revert_group_snapshot(self, name):
        inv = self.get_inventory()
        gs = inv.group_snapshots[name]
        for vol in sorted(gs.snapshots):       # every member checked before the first revert
            self.check_delete(inv.volumes[vol])
        done = []
        try:
            for vol, snap in sorted(gs.snapshots.items()):
                self.revert_to_snapshot(vol, snap)
                done.append(vol)
        except Conflict as exc:
            if done:
                exc.msg = '%s; reverted before the failure: %s' % (exc.msg, ', '.join(done))
                exc.result['changed'] = True
            raise

    def extend_volume(self, name, new_size_bytes):
        vol = self.get_inventory().volumes[name]
        if new_size_bytes > vol.size_bytes:
            os.truncate(vol.path, new_size_bytes)
            self.runner.note_write('grew %s to %d bytes' % (vol.path, new_size_bytes))
        self.refresh()
        return True

    # -- images ---------------------------------------------------------------------------
    def copy_image_to_volume(self, spec, image):
        self.check_space([spec])
        self.create_volumes([spec])
        try:
            _copy.image_to_device(self.runner, image, self.local_path(spec.name),
                                  target_is_zero=True, timeout=self.copy_timeout)
        except BaseException as exc:
            failure = None
            try:
                with self.lock():
                    os.unlink(self.local_path(spec.name))
                    self.record.forget(KIND_VOLUME + 's', spec.name)
            except OSError as err:
                failure = err.strerror
            self.refresh()
            note_half_made(exc, spec.name, failure)
            raise
        self.refresh()

    def copy_volume_to_image(self, name, image):
        return _copy.device_to_image(self.runner, self.local_path(name), image,
                                     timeout=self.copy_timeout)

    # -- manage -----------------------------------------------------------------------------
    def _ref(self, existing_ref, snapshot=False):
        if isinstance(existing_ref, dict):
            existing_ref = existing_ref.get('source-name')
        if not isinstance(existing_ref, str) or not existing_ref:
            raise InvalidParameter('source_name', 'reference must name a file of %s' % self.dir,
                                   "use {'source-name': %s}" % ('VOLUME@FILE' if snapshot
                                                                else 'FILE'))
        inv = self.get_inventory()
        rec = inv.unmanaged.get(existing_ref)
        if rec is None:
            owned = inv.snapshots if snapshot else inv.volumes
            if existing_ref in owned or existing_ref.split('@')[-1] in owned:
                raise Conflict('%s is already managed' % existing_ref)
            raise NotFound("parameter 'source_name': %s has no file %r%s" % (
                self.dir, existing_ref, ' (snapshots are VOLUME@FILE, in %s/VOLUME/)' % SNAP_DIR
                if snapshot else ''))
        if snapshot != isinstance(rec, Snapshot):
            raise InvalidParameter('kind', '%s is %s' % (existing_ref, 'a snapshot file' if
                                                         isinstance(rec, Snapshot) else 'not a '
                                                         'snapshot file'),
                                   'adopt it as kind %s' % ('snapshot' if isinstance(rec, Snapshot)
                                                            else 'volume'))
        return rec

    def manage_existing_get_size(self, existing_ref):
        return int(math.ceil(self._ref(existing_ref).size_bytes / float(GiB)))

    def manage_existing_snapshot_get_size(self, existing_ref):
        return int(math.ceil(self._ref(existing_ref, True).size_bytes / float(GiB)))

    def manage_existing(self, name, existing_ref, rename=True):
        rec = self._ref(existing_ref)
        with self.lock():
            path = rec.path
            if rename and name != rec.name:
                path = self.local_path(name)
                self._refuse_taken(path)
                os.rename(rec.path, path)
                self.runner.note_write('renamed %s to %s' % (rec.path, path))
            self._own(KIND_VOLUME, name if rename else rec.name, path, src=None)
        self.refresh()

    def manage_existing_snapshot(self, name, existing_ref, rename=True):
        rec = self._ref(existing_ref, True)
        with self.lock():
            path = rec.path
            final = name if rename else os.path.basename(rec.path)
            if final != os.path.basename(rec.path):
                path = self._snap_path(rec.volume, final)
                self._refuse_taken(path)
                os.rename(rec.path, path)
                self.runner.note_write('renamed %s to %s' % (rec.path, path))
            self._own(KIND_SNAPSHOT, final, path, volume=rec.volume)
        self.refresh()

    def unmanage(self, name):
        with self.lock():
            self.record.forget(KIND_VOLUME + 's', name)
        self.refresh()

    def unmanage_snapshot(self, name):
        with self.lock():
            self.record.forget(KIND_SNAPSHOT + 's', name)
        self.refresh()

    def manageable_entries(self, want_snapshots, exported=()):
        inv = self.get_inventory()
        entries = []
        groups = [(n, r, True) for n, r in inv.unmanaged.items()
                  if isinstance(r, Snapshot) == want_snapshots]
        managed = inv.snapshots if want_snapshots else inv.volumes
        groups += [(n, r, False) for n, r in managed.items()]
        for ref, rec, free in sorted(groups, key=lambda g: g[0]):
            if not free:
                reason = 'already managed'
            elif rec.name in exported or ref in exported:
                reason = 'exported'
            elif getattr(rec, 'in_use', False):
                reason = '%s in use' % ('snapshot' if want_snapshots else 'volume')
            else:
                reason = None
            entry = {'reference': {'source-name': ref if free or not want_snapshots
                                   else '%s@%s' % (rec.volume, rec.name)},
                     'size': int(math.ceil(rec.size_bytes / float(GiB))),
                     'safe_to_manage': reason is None, 'reason_not_safe': reason,
                     'cinder_id': None if free else rec.name,
                     'extra_info': 'allocated=%d' % rec.extra.get('allocated_bytes', 0)}
            if want_snapshots:
                entry['source_reference'] = {'source-name': rec.volume}
            entries.append(entry)
        return entries

    # -- stats ---------------------------------------------------------------------------------
    def get_volume_stats(self, refresh=False):
        inv = self.get_inventory(refresh)
        space = inv.space
        thin = bool(self.config.file_sparsed_volumes)
        provisioned = gb(sum(v.size_bytes for v in inv.volumes.values()))
        pool = dict(pool_name=self.backend_name, total_capacity_gb=gb(space['total']),
                    free_capacity_gb=gb(space['free']), reserved_percentage=self.config.reserved_percentage,
                    location_info='FileDriver:%s:%s' % (socket.gethostname(), self.dir),
                    QoS_support=False, provisioned_capacity_gb=provisioned,
                    max_over_subscription_ratio=self.config.max_over_subscription_ratio,
                    thin_provisioning_support=thin, thick_provisioning_support=not thin,
                    total_volumes=len(inv.volumes), filter_function=self.config.filter_function,
                    goodness_function=self.config.goodness_function, multiattach=True,
                    backend_state='up' if os.path.isdir(self.dir) else 'down')
        return dict(volume_backend_name=self.backend_name, vendor_name=self.vendor_name,
                    driver_version=self.VERSION, pools=[pool], sparse_copy_volume=True,
                    total_capacity_gb=pool['total_capacity_gb'],
                    free_capacity_gb=pool['free_capacity_gb'],
                    reserved_percentage=self.config.reserved_percentage,
                    file_volume_dir=self.dir, reflink=self.reflink_supported())

    def reflink_supported(self):
        """Whether this directory's file system shares extents (one probe, two small files)."""
        if not os.path.isdir(self.dir) or self.runner.check_mode:
            return None
        a = os.path.join(self.dir, '%sprobe-%d-a' % (TMP_PREFIX, os.getpid()))
        b = a[:-1] + 'b'
        try:
            with open(a, 'w+b') as fa, open(b, 'wb') as fb:
                fa.write(b'\0' * 4096)
                fa.flush()
                return reflink(fa.fileno(), fb.fileno())
        except OSError:
            return None
        finally:
            for p in (a, b):
                if os.path.exists(p):
                    os.unlink(p)


F_RDLCK, F_UNLCK = 0, 2     # fcntl(2) lease types (the fcntl module has F_SETLEASE only)


@contextlib.contextmanager
def _leases(paths):
    """Hold a read lease on every file of ``paths`` (in that order): yields None, or the
    first path the kernel refused one for (it is open for writing).  Released on exit."""
    fds = []
    refused = None
    # a lease break (a writer's open) is signalled with SIGIO, whose default kills this
    # process: ignore it while the leases are held (the writer waits for the release)
    try:
        old_handler = signal.signal(signal.SIGIO, signal.SIG_IGN)
    except ValueError:          # not the main thread: the handler cannot be changed
        old_handler = None
    try:
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            fds.append(fd)
            try:
                fcntl.fcntl(fd, fcntl.F_SETLEASE, F_RDLCK)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EBUSY):
                    raise
                refused = path
                break
        yield refused
    finally:
        for fd in fds:
            try:
                fcntl.fcntl(fd, fcntl.F_SETLEASE, F_UNLCK)
            except OSError:
                pass
            os.close(fd)
        if old_handler is not None:
            signal.signal(signal.SIGIO, old_handler)


def _scandir(path):
    try:
        return sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return []


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None
