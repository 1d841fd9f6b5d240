# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a LUN or namespace reads from: the record a driver hands to a target helper.

It sits in the lower core so that drivers and target helpers, which never
import each other, both speak it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat


class Backing(object):
    """What a LUN/namespace reads from.

    ``kind``: ``block`` (a block device), ``file`` (a regular file) or a
    driver-given backing-store type (``rbd``: ``path`` is ``pool/image`` and
    ``options`` tgt's bsopts, e.g. ``conf=/etc/ceph/ceph.conf;id=cinder``).
    Drivers supply it through an optional ``target_backing(name)`` method;
    without one, ``local_path(name)`` is used and the kind is read from the
    file system.  ``read_only``: the LUN/namespace must refuse writes (a
    snapshot's export, ``VolumeDriver.snapshot_backing``).
    """

    __slots__ = ('kind', 'path', 'options', 'read_only')

    def __init__(self, kind, path, options=None, read_only=False):
        self.kind = kind
        self.path = path
        self.options = options or None
        self.read_only = bool(read_only)

    @classmethod
    def from_path(cls, path, read_only=False):
        try:
            st = os.stat(path)
        except OSError:
            return cls('missing', path, read_only=read_only)
        if stat.S_ISBLK(st.st_mode):
            return cls('block', path, read_only=read_only)
        if stat.S_ISREG(st.st_mode):
            return cls('file', path, read_only=read_only)
        return cls('other', path, read_only=read_only)

    def __eq__(self, other):
        return isinstance(other, Backing) and (
            self.kind, self.path, self.options, self.read_only) == (
            other.kind, other.path, other.options, other.read_only)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return 'Backing(%r, %r%s)' % (self.kind, self.path, ', read-only' if self.read_only else '')
