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

Each change is written under the helper's host lock before the object is
made (a batch of creates in one write, ``set_many``), so a task that dies
half-way still finds its own objects on the next run.  A removal is written
after the object is gone, at once or, for a batch, once at the end of the task
(``forget(later=True)`` and ``save_pending``): a task that dies in between
leaves an entry whose object, and with it the marker the entry names, is gone.  In check mode nothing is written.
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
        self._pending = False

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
        if self.get(kind, key) == marker:
            return
        self._load()[kind][key] = marker
        self._save()

    def set_many(self, kind, markers):
        """Record the objects ``{key: marker}`` of ``kind`` in one write (before any exists)."""
        section = self._load()[kind]
        new = dict((k, v) for k, v in markers.items() if section.get(k) != v)
        if new:
            section.update(new)
            self._save()

    def forget(self, kind, key, later=False):
        """Drop an entry after its object is gone; ``later``: written by ``save_pending``."""
        if self._load()[kind].pop(key, None) is not None:
            if later:
                self._pending = True
            else:
                self._save()

    def save_pending(self):
        """Write the removals ``forget(later=True)`` left (once per batch)."""
        if self._pending:
            self._save()

    def _save(self):
        if self.owner.runner.check_mode:
            return
        out = dict(self._load())
        out['version'] = VERSION
        self._pending = False
        with self.owner.lock():
            write_private(self.path, json.dumps(out, indent=2, sort_keys=True) + '\n')
