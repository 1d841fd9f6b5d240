# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ownership record: which target-side objects this collection made on a host.

A helper whose objects carry no name this collection alone uses (LIO
backstores, nvmet subsystems, ports and hosts) records each one it makes,
with a marker read back from the object itself (a WWN, a serial, an
address), in a 0600 JSON file beside its saved configuration::

    {"version": 1, "<kind>": {"<key>": <marker>, ...}, ...}

An object is ours only when the record names it with the marker the object
still has.  Everything else is never changed or removed.

Each change is written at once, under the helper's host lock, before the
object is made (and after it is removed), so a task that dies half-way still
finds its own objects on the next run.  In check mode nothing is written.
An unreadable or malformed record counts as empty: ownership fails closed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.cinderkit.storage.plugins.module_utils._files import write_private

VERSION = 1


class OwnerRecord(object):
    """The record file ``path`` of helper ``owner`` (its ``lock()`` and runner's check mode)."""

    def __init__(self, path, kinds, owner):
        self.path = path
        self.kinds = tuple(kinds)
        self.owner = owner
        self._data = None

    def _load(self):
        if self._data is None:
            data = {}
            try:
                with open(self.path) as fh:
                    raw = json.load(fh)
                if isinstance(raw, dict):
                    data = raw
            except (IOError, OSError, ValueError):
                pass
            self._data = {}
            for kind in self.kinds:
                section = data.get(kind)
                self._data[kind] = dict((k, v) for k, v in section.items() if isinstance(k, str)) \
                    if isinstance(section, dict) else {}
        return self._data

    def section(self, kind):
        """{key: marker} of the objects of ``kind`` (a live view: do not change it)."""
        return self._load()[kind]

    def get(self, kind, key):
        return self._load()[kind].get(key)

    def set(self, kind, key, marker):
        self._load()[kind][key] = marker
        self._save()

    def forget(self, kind, key):
        if self._load()[kind].pop(key, None) is not None:
            self._save()

    def _save(self):
        if self.owner.runner.check_mode:
            return
        out = dict(self._load())
        out['version'] = VERSION
        with self.owner.lock():
            write_private(self.path, json.dumps(out, indent=2, sort_keys=True) + '\n')
