# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cinder's paginate_entries_list semantics for manageable listings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter

SORT_KEYS = {'identifier': 'reference', 'reference': 'reference', 'size': 'size'}


def _key(entry, key):
    val = entry[key]
    if isinstance(val, dict):
        val = sorted(val.values())[0]
    return val


def paginate(entries, marker=None, limit=None, offset=None, sort_keys=None, sort_dirs=None):
    sort_keys = list(sort_keys or ['reference'])
    sort_dirs = list(sort_dirs or [])
    keys = []
    for k in sort_keys:
        if k not in SORT_KEYS:
            raise InvalidParameter('sort_keys', 'unknown sort key %r' % k, 'use identifier or size')
        keys.append(SORT_KEYS[k])
    while len(sort_dirs) < len(keys):
        sort_dirs.append('asc')
    for d in sort_dirs:
        if d not in ('asc', 'desc'):
            raise InvalidParameter('sort_dirs', 'unknown sort direction %r' % d, 'use asc or desc')

    def cmp(left, right):
        for key, d in zip(keys, sort_dirs):
            lv, rv = _key(left, key), _key(right, key)
            if lv == rv:
                continue
            if d == 'asc':
                return -1 if lv < rv else 1
            return -1 if lv > rv else 1
        return 0

    ordered = sorted(entries, key=functools.cmp_to_key(cmp))
    start = 0
    if marker:
        if isinstance(marker, str):
            try:
                marker = json.loads(marker)
            except ValueError:
                marker = {'source-name': marker}
        if not isinstance(marker, dict):
            raise InvalidParameter('marker', 'marker %r cannot be analysed' % (marker,),
                                   "give the reference of the last item seen, e.g. {'source-name': NAME}")
        start = -1
        for i, e in enumerate(ordered):
            if e['reference'] == marker:
                start = i + 1
                break
        if start < 0:
            raise InvalidParameter('marker', 'marker not found: %s' % json.dumps(marker),
                                   'give the reference of an item of an earlier page')
    offset = offset or 0
    if limit is None:
        return ordered[start + offset:]
    return ordered[start + offset:start + offset + limit]
