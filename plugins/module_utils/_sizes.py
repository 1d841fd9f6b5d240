# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes: integers are GiB (as in Cinder); strings may carry a unit suffix."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter

MiB = 1024 ** 2
GiB = 1024 ** 3
UNITS = {'': GiB, 'k': 1024, 'm': MiB, 'g': GiB, 't': 1024 ** 4, 'p': 1024 ** 5}
SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*(?:([kKmMgGtTpP])(?:i?[bB])?)?\s*$')
HINT = "give whole GiB as an integer (10) or a number with a unit: 512M, 10G, 1.5T"


def parse_size(value, param='size'):
    """Bytes for ``value``; a positive multiple of 1 MiB."""
    if isinstance(value, bool) or value is None:
        raise InvalidParameter(param, 'size %r is not a number' % (value,), HINT)
    if isinstance(value, (int, float)):
        num, unit = value, ''
    elif str(value).strip().startswith('-'):
        raise InvalidParameter(param, 'size must be greater than zero, got %r' % (value,), HINT)
    else:
        m = SIZE_RE.match(str(value))
        if not m:
            raise InvalidParameter(param, 'size %r is not a number with an optional unit' % (value,), HINT)
        num, unit = float(m.group(1)), (m.group(2) or '').lower()
    if num <= 0:
        raise InvalidParameter(param, 'size must be greater than zero, got %r' % (value,), HINT)
    size = int(round(num * UNITS[unit]))
    if size % MiB:
        raise InvalidParameter(param, 'size %r is not a whole number of MiB' % (value,), HINT)
    return size
