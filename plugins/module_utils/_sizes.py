# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes: integers are GiB (as in Cinder); strings may carry a unit suffix."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter

MiB = 1024 ** 2
GiB = 1024 ** 3
EiB = 1024 ** 6
UNITS = {'': GiB, 'k': 1024, 'm': MiB, 'g': GiB, 't': 1024 ** 4, 'p': 1024 ** 5}
# ASCII digits only: Python's \d also takes other scripts' digits
SIZE_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*(?:([kKmMgGtTpP])(?:i?[bB])?)?\s*$', re.ASCII)
HINT = "give whole GiB as an integer (10) or a number with a unit: 512M, 10G, 1.5T"
# LVM's and librbd's limit (a signed 64-bit byte count); nothing larger can be allocated
MAX_BYTES = 8 * EiB


def _shown(value):
    """The value for a message, cut short (a size can be a 10,000-digit string)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


def parse_size(value, param='size'):
    """Bytes for ``value``; a positive multiple of 1 MiB, at most 8 EiB."""
    if isinstance(value, bool) or value is None:
        raise InvalidParameter(param, 'size %s is not a number' % _shown(value), HINT)
    if isinstance(value, (int, float)):
        num, unit = value, ''
    elif not isinstance(value, str):
        raise InvalidParameter(param, 'size must be a number or a string, not a %s'
                               % type(value).__name__, HINT)
    elif value.strip().startswith('-'):
        raise InvalidParameter(param, 'size must be greater than zero, got %s' % _shown(value), HINT)
    else:
        m = SIZE_RE.match(value)
        if not m:
            raise InvalidParameter(param, 'size %s is not a number with an optional unit'
                                   % _shown(value), HINT)
        num, unit = float(m.group(1)), (m.group(2) or '').lower()
    if isinstance(num, float) and not math.isfinite(num):
        raise InvalidParameter(param, 'size %s is not a finite number' % _shown(value), HINT)
    if num <= 0:
        raise InvalidParameter(param, 'size must be greater than zero, got %s' % _shown(value), HINT)
    if num > MAX_BYTES // UNITS[unit]:
        raise InvalidParameter(param, 'size %s is larger than 8 EiB, the most any backend can '
                               'allocate' % _shown(value), HINT)
    size = int(round(num * UNITS[unit]))
    if size % MiB:
        raise InvalidParameter(param, 'size %s is not a whole number of MiB' % _shown(value), HINT)
    return size


# -- how sizes are shown --------------------------------------------------------
def gb(b):
    """Bytes as GiB, two decimals (Cinder's stats)."""
    return round(b / float(GiB), 2)


def gib_text(b):
    """'10 GiB' or '1.500 GiB' (messages about sizes asked for)."""
    g = b / float(GiB)
    return ('%d GiB' % g) if g == int(g) else ('%.3f GiB' % g)


def human(b):
    """'1.50 GiB', '512.00 MiB', '42 B' (messages about space)."""
    for unit, div in (('TiB', 1024 ** 4), ('GiB', GiB), ('MiB', MiB)):
        if b >= div:
            return '%.2f %s' % (b / float(div), unit)
    return '%d B' % b
