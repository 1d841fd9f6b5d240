# -*- coding: utf-8 -*-
"""Rigs: one backend of each registered driver, as the contract scenarios drive it.

A rig gives the backend dict, and, where this host can read a volume's bytes, ``read`` and
``write``; ``foreign(name, size)`` makes an object of the backend's own kind that this
collection did not make (the manage scenarios adopt it); ``objects()`` lists what the backend
holds, for "nothing changed" checks.
"""

import os
import subprocess

from support import HAS_DM, sh

MiB = 1024 ** 2
# the rigs of the host tier (tests/integration/vm/test_contract_lvm.py runs LVM's bytes)
HOST_RIGS = ('file-reflink', 'file-copy', 'rbd', 'lvm-metadata')


class Rig(object):
    driver = None
    data = True             # the bytes of a volume can be read here

    def __init__(self, name):
        self.name = name

    def read(self, volume, offset, length):
        with open(self.path(volume), 'rb') as fh:
            fh.seek(offset)
            return fh.read(length)

    def write(self, volume, offset, data):
        fd = os.open(self.path(volume), os.O_WRONLY)
        try:
            os.pwrite(fd, data, offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def path(self, volume):
        raise NotImplementedError


class FileRig(Rig):
    """The file driver in a directory (XFS with reflink on a loop device, or a plain one)."""

    driver = 'file'

    def __init__(self, name, directory):
        super(FileRig, self).__init__(name)
        self.dir = directory

    def backend(self, **over):
        return dict(dict(volume_driver='file', file_volume_dir=self.dir), **over)

    def path(self, volume):
        return os.path.join(self.dir, volume)

    def foreign(self, name, size):
        if not os.path.isdir(self.dir):
            os.makedirs(self.dir)
        with open(self.path(name), 'wb') as fh:
            fh.truncate(size)
        return name

    def objects(self):
        """Every file (name, size, inode), and the record's entries (an empty record is none)."""
        import json
        out = []
        for top, dirs, files in os.walk(self.dir):
            for f in files:
                p = os.path.join(top, f)
                if f == '.cinderkit.json':
                    rec = json.load(open(p))
                    out += sorted(('record', k, n, repr(v)) for k in ('volumes', 'snapshots')
                                  for n, v in (rec.get(k) or {}).items())
                    continue
                st = os.stat(p)
                out.append((os.path.relpath(p, self.dir), st.st_size, st.st_ino))
        return sorted(out, key=repr)


class XfsDir(object):
    """An XFS file system with reflink on a loop device, mounted for one test."""

    def __init__(self, tmp_path):
        self.img = str(tmp_path / 'xfs.img')
        self.mnt = str(tmp_path / 'mnt')
        os.mkdir(self.mnt)
        with open(self.img, 'wb') as fh:
            fh.truncate(1024 * MiB)
        self.loop = sh(['losetup', '--find', '--show', self.img]).stdout.strip()
        try:
            sh(['mkfs.xfs', '-q', '-m', 'reflink=1', self.loop])
            sh(['mount', self.loop, self.mnt])
        except Exception:
            sh(['losetup', '--detach', self.loop], check=False)
            raise

    def close(self):
        sh(['umount', self.mnt], check=False)
        sh(['losetup', '--detach', self.loop], check=False)


class RbdRig(Rig):
    driver = 'rbd'

    def __init__(self, ceph):
        super(RbdRig, self).__init__('rbd')
        self.ceph = ceph

    def backend(self, **over):
        return self.ceph.backend(**over)

    def read(self, volume, offset, length):
        return self.ceph.read(volume, offset, length)

    def write(self, volume, offset, data):
        self.ceph.write(volume, data, offset)

    def foreign(self, name, size):
        import rbd
        with self.ceph.ioctx() as io:
            rbd.RBD().create(io, name, size, old_format=False)
        return name

    def objects(self):
        return self.ceph.state() if hasattr(self.ceph, 'state') else sorted(self.ceph.images())


class LvmRig(Rig):
    """LVM on a loop VG: real bytes where device-mapper is (the VM), metadata on the host."""

    driver = 'lvm'

    def __init__(self, vg):
        super(LvmRig, self).__init__('lvm' if HAS_DM else 'lvm-metadata')
        self.vg = vg
        self.data = bool(vg.activation)

    def backend(self, **over):
        return self.vg.backend(**over)

    def path(self, volume):
        return '/dev/%s/%s' % (self.vg.name, volume)

    def foreign(self, name, size):
        self.vg.lvm(['lvcreate', '--yes', '-n', name, '-L', '%db' % size] +
                    ([] if self.vg.activation else ['--activate', 'n', '--zero', 'n']) +
                    [self.vg.name])
        return name

    def objects(self):
        return sorted((k, v['lv_size'], v['lv_tags']) for k, v in self.vg.lvs().items())


def qemu_img(*argv):
    subprocess.run(['qemu-img'] + list(argv), check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
