# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files this collection writes for itself: whole, atomic, readable by root only.

A bulk task that writes many files in one directory passes ``sync_dir=False`` to each
``write_private`` (each file is still complete and fsynced before its rename) and calls
``fsync_dir`` once at the end: the directory's fsync, which makes the renames and
removals durable, is the costly part of a small atomic write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def write_private(path, text, mode=0o600, sync_dir=True):
    """Write ``text`` to ``path`` atomically, readable by root only (it may hold secrets).

    ``sync_dir=False``: the caller fsyncs the directory later (``fsync_dir``)."""
    directory = os.path.dirname(path) or '.'
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'w') as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir:
        fsync_dir(directory)


def fsync_dir(directory):
    """fsync ``directory`` (renames and removals in it become durable); best effort."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
