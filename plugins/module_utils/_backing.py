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
    file system.
    """

    __slots__ = ('kind', 'path', 'options')

    def __init__(self, kind, path, options=None):
        self.kind = kind
        self.path = path
        self.options = options or None

    @classmethod
    def from_path(cls, path):
        try:
            st = os.stat(path)
        except OSError:
            return cls('missing', path)
        if stat.S_ISBLK(st.st_mode):
            return cls('block', path)
        if stat.S_ISREG(st.st_mode):
            return cls('file', path)
        return cls('other', path)

    def __eq__(self, other):
        return isinstance(other, Backing) and (self.kind, self.path, self.options) == (
            other.kind, other.path, other.options)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return 'Backing(%r, %r)' % (self.kind, self.path)
