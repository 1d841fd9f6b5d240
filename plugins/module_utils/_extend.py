# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply a volume extend: never a shrink, then the export shows the new size."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    InvalidParameter, NotFound)
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import (
    GiB, gib_text, parse_size)


class ExtendPlan(object):
    def __init__(self, name, size_bytes):
        self.name = name
        self.size_bytes = size_bytes
        self.action = 'none'
        self.before = None
        self.online = None
        self.export_refreshed = False


def plan_extend(driver, name, size, param='size'):
    driver.validate_name(name, 'name')
    want = parse_size(size, param)
    inv = driver.get_inventory()
    vol = inv.volumes.get(name)
    if vol is None:
        raise NotFound("parameter 'name': volume %r not found%s" % (
            name, ' (it exists but is not managed by cinderkit)' if name in inv.unmanaged else ''))
    p = ExtendPlan(name, driver.round_size(want))
    p.before = vol
    if p.size_bytes < vol.size_bytes:
        raise InvalidParameter(param, 'volume %s is %s; %s would shrink it. Volumes are never shrunk'
                               % (name, gib_text(vol.size_bytes), gib_text(p.size_bytes)),
                               'ask for at least %s' % gib_text(vol.size_bytes))
    if p.size_bytes == vol.size_bytes:
        return p
    driver.check_extend(vol, p.size_bytes)
    p.action = 'extend'
    return p


def apply_extend(driver, p, refresh_export=None):
    """Grow the volume; then let the target layer show the new size."""
    p.online = bool(driver.extend_volume(p.name, p.size_bytes))
    if refresh_export is not None:
        p.export_refreshed = bool(refresh_export(p.name, driver.local_path(p.name)))
    return p


class ExtendTask(Task):
    """The extend module's steps."""

    def plan(self):
        self.p = plan_extend(self.driver, self.params['name'], self.params['size'])

    def changed(self):
        return self.p.action != 'none'

    def apply(self):
        apply_extend(self.driver, self.p, refresh_export=self.backend.refresh_export)

    def result(self, changed):
        p = self.p
        vol = self.driver.get_inventory().volumes.get(p.name)
        rec = vol.to_result() if vol is not None else dict(name=p.name)
        if self.check_mode and changed:
            rec['size_bytes'] = p.size_bytes
            rec['size_gb'] = round(p.size_bytes / float(GiB), 3)
        self.rec = rec
        return dict(online=p.online, export_refreshed=p.export_refreshed, volume=rec)

    def diff(self):
        return dict(before={self.p.name: dict(size_gb=self.p.before.size_gb)},
                    after={self.p.name: dict(size_gb=self.rec['size_gb'])})
