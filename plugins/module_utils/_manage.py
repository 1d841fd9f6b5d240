# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply for the manage_existing module (Cinder's manage / unmanage / manageable lists).

module -> check params (no command) -> plan (ONE backend query, plus one target query for
what is exported) -> apply (driver verbs) -> re-query once -> result.

The plan asks the driver's own manageable listing whether the source is safe to adopt,
so the module refuses exactly what ``get_manageable_volumes`` / ``get_manageable_snapshots``
report as not safe, with the same reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, InvalidParameter, NotFound)
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import GiB

KIND_VOLUME = 'volume'
KIND_SNAPSHOT = 'snapshot'
LIST_PARAMS = ('marker', 'limit', 'offset', 'sort_keys', 'sort_dirs')
# reasons ``force`` may override: the LV is busy, not foreign to LVM/cinderkit
SOFT_REASONS = ('volume in use', 'snapshot in use', 'exported')


class ManagePlan(object):
    __slots__ = ('kind', 'state', 'name', 'source', 'reference', 'rename', 'action',
                 'target_lv', 'renamed', 'entry', 'size_gb', 'forced', 'before', 'volume')

    def __init__(self, kind, state, name, source=None, rename=True):
        self.kind = kind
        self.state = state
        self.name = name
        self.source = source
        self.reference = {'source-name': source} if source else None
        self.rename = rename
        self.action = 'none'        # adopt | release | none
        self.target_lv = None
        self.renamed = False
        self.entry = None           # the source's entry in the manageable listing
        self.size_gb = None
        self.forced = None          # the reason force overrode
        self.before = None          # managed record before (release / none)
        self.volume = None          # snapshots: the volume they belong to


# ------------------------------------------------------------------ validation
def source_of(params):
    """The source object's name from ``source_name`` or Cinder's reference dict."""
    ref = params.get('reference')
    if ref is None:
        src = params.get('source_name')
        if src is not None and (not isinstance(src, str) or not src.strip()):
            raise InvalidParameter('source_name', 'must be a non-empty name')
        return src
    if not isinstance(ref, dict):
        raise InvalidParameter('reference', 'must be a dict like {"source-name": NAME}')
    extra = sorted(k for k in ref if k != 'source-name')
    if 'source-name' not in ref:
        raise InvalidParameter('reference', 'has no source-name element (got %s)'
                               % (', '.join(repr(k) for k in extra) or 'an empty dict'),
                               "use {'source-name': NAME}; this backend has no other reference kind")
    if extra:
        raise InvalidParameter('reference', 'unknown element%s %s' % (
            's' if len(extra) > 1 else '', ', '.join(repr(k) for k in extra)),
            "give only {'source-name': NAME}")
    src = ref['source-name']
    if not isinstance(src, str) or not src.strip():
        raise InvalidParameter('reference', "source-name must be a non-empty string, not %r" % (src,))
    return src


def check_params(p):
    """Conflicts the argument spec cannot express; raise before any command."""
    state = p['state']
    given = [k for k in LIST_PARAMS if p.get(k) not in (None, [])]
    if state != 'listed' and given:
        raise InvalidParameter(given[0], 'only applies with state: listed',
                               'drop it, or use state: listed to page through what can be adopted')
    if state != 'managed':
        for key in ('source_name', 'reference'):
            if p.get(key) is not None:
                raise InvalidParameter(key, 'only applies with state: managed',
                                       'name what to release with name')
        if not p.get('rename', True):
            raise InvalidParameter('rename', 'only applies with state: managed')
    if state == 'listed':
        for key in ('limit', 'offset'):
            if p.get(key) is not None and p[key] < 0:
                raise InvalidParameter(key, 'must be 0 or more, not %d' % p[key])
        if p.get('name'):
            raise InvalidParameter('name', 'does not apply with state: listed')
        return
    if state == 'unmanaged' and not p.get('name'):
        raise InvalidParameter('name', 'is required with state: unmanaged',
                               'name the managed %s to release' % p['kind'])
    if state == 'managed':
        if source_of(p) is None:
            raise InvalidParameter('source_name', 'is required with state: managed',
                                   "name the existing object (source_name) or give Cinder's "
                                   "reference {'source-name': NAME}")
        if p.get('rename', True) and not p.get('name'):
            raise InvalidParameter('name', 'is required with state: managed and rename: true',
                                   'give the name to manage it under, or rename: false to keep '
                                   'its name')


# ------------------------------------------------------------------- exported
def exported_names(m, driver):
    """Names of the backend's objects the configured target helper exports live (the
    task's one target query: ``Backend.export_holders``)."""
    return frozenset(name for name, e in m.export_holders().items() if e.live)


# ----------------------------------------------------------------------- plan
def _listing(driver, kind, exported):
    if kind == KIND_SNAPSHOT:
        return driver.get_manageable_snapshots(exported=exported)
    return driver.get_manageable_volumes(exported=exported)


def _find(entries, src):
    """The listing entry of ``src`` (``VOLUME@SNAP`` names a snapshot of VOLUME)."""
    parent = None
    if '@' in src:
        parent, src = src.split('@', 1)
    for e in entries:
        if e['reference'] == {'source-name': src} and (
                parent is None or e.get('source_reference') == {'source-name': parent}):
            return e
    return None


def _adopted_name(driver, kind, src, rename, name):
    """The name the volume/snapshot is managed under after adoption."""
    if rename:
        return name
    if kind == KIND_VOLUME:
        return src
    base = src.split('@', 1)[1] if '@' in src else src
    return driver.snapshot_name_of(base)


def _storage_name(driver, kind, name):
    return driver.snapshot_storage_name(name) if kind == KIND_SNAPSHOT else name


def plan_managed(driver, params, exported):
    kind, force = params['kind'], params['force']
    src = source_of(params)
    rename = params['rename']
    name = _adopted_name(driver, kind, src, rename, params.get('name'))
    if not rename and params.get('name') and params['name'] != name:
        raise InvalidParameter('name', '%r differs from the source %r, and rename is false'
                               % (params['name'], name),
                               'leave name out (or give %r) to adopt in place, or set rename: true'
                               % name)
    driver.validate_name(_storage_name(driver, kind, name), 'name')
    p = ManagePlan(kind, 'managed', name, src, rename)
    p.target_lv = _storage_name(driver, kind, name)
    inv = driver.get_inventory()
    managed = inv.snapshots if kind == KIND_SNAPSHOT else inv.volumes
    entries = _listing(driver, kind, exported)
    entry = _find(entries, src)
    if name in managed and (entry is None or entry.get('cinder_id') == name):
        # adopted already (the source was renamed, or adopted in place)
        p.before = managed[name]
        p.size_gb = int(math.ceil(p.before.size_bytes / float(GiB)))
        p.volume = getattr(p.before, 'volume', None)
        return p
    if entry is None:
        other = _find(_listing(driver, KIND_VOLUME if kind == KIND_SNAPSHOT else KIND_SNAPSHOT,
                               exported), src)
        if other is not None:
            raise InvalidParameter('kind', '%r is %s' % (src, 'a snapshot' if kind == KIND_VOLUME
                                                         else 'not a snapshot'),
                                   'use kind: %s' % (KIND_SNAPSHOT if kind == KIND_VOLUME
                                                     else KIND_VOLUME))
        raise NotFound("parameter '%s': %s %r does not exist on backend %s; check the name "
                       "(state: listed shows what can be adopted)"
                       % ('reference' if params.get('reference') else 'source_name',
                          'snapshot' if kind == KIND_SNAPSHOT else 'volume', src,
                          driver.backend_name))
    p.entry = entry
    reason = entry['reason_not_safe']
    if reason == 'already managed':
        raise Conflict('cannot adopt %r: already managed (as %s %r); use it under that name, or '
                       'release it first (state: unmanaged)' % (src, kind, entry['cinder_id']),
                       reason_not_safe=reason)
    if not entry['safe_to_manage']:
        if reason not in SOFT_REASONS:
            raise Conflict('cannot adopt %r: %s; this is never safe to manage' % (src, reason),
                           reason_not_safe=reason)
        if not force:
            raise Conflict('cannot adopt %r: %s. Nothing was changed; stop using it (remove its '
                           'export) first, or set force: true to adopt it anyway' % (src, reason),
                           reason_not_safe=reason)
        p.forced = reason
    storage_src = entry['reference']['source-name']
    p.renamed = rename and p.target_lv != storage_src
    if p.renamed and p.forced:
        # force adopts a busy LV in place; a rename would move the device path from under
        # its holder (an export's saved backing, a mount's source): never
        raise Conflict('cannot adopt %r under the new name %r: it is %s, and a rename moves its '
                       'device from under the holder. Nothing was changed; stop using it first, or '
                       'adopt it in place (rename: false)' % (src, name, p.forced),
                       reason_not_safe=reason)
    if p.renamed and (inv.taken(p.target_lv) or inv.taken(name)):
        raise InvalidParameter('name', 'the name %r is taken by another volume, snapshot or %s on '
                               'backend %s' % (name, driver.object_noun, driver.backend_name),
                               'choose another name, or rename: false to keep %r' % src)
    if kind == KIND_SNAPSHOT:
        p.volume = (entry.get('source_reference') or {}).get('source-name')
        if p.volume not in inv.volumes:
            raise Conflict('cannot adopt snapshot %r: its volume %r is not managed by cinderkit; '
                           'adopt the volume first (kind: volume)' % (src, p.volume))
        p.size_gb = driver.manage_existing_snapshot_get_size({'source-name': src})
    else:
        p.size_gb = driver.manage_existing_get_size({'source-name': src})
    p.action = 'adopt'
    return p


def plan_unmanaged(driver, params, exported):
    kind, name = params['kind'], params['name']
    p = ManagePlan(kind, 'unmanaged', name)
    inv = driver.get_inventory()
    rec = (inv.snapshots if kind == KIND_SNAPSHOT else inv.volumes).get(name)
    p.target_lv = _storage_name(driver, kind, name)
    if rec is None:
        return p
    p.before = rec
    p.size_gb = int(math.ceil(rec.size_bytes / float(GiB)))
    if kind == KIND_VOLUME:
        snaps = inv.snapshots_of(name)
        if snaps:
            raise Conflict('cannot release volume %s: it has managed snapshots (%s); release them '
                           'first (kind: snapshot, state: unmanaged)' % (name, ', '.join(snaps)))
    else:
        p.volume = rec.volume
    if driver.storage_name(rec) in exported or name in exported:
        if not params['force']:
            raise Conflict('cannot release %s %s: it is exported; remove the export first '
                           '(cinderkit.storage.export, state: absent) or set force: true'
                           % (kind, name))
        p.forced = 'exported'
    p.action = 'release'
    return p


def plan(driver, params, exported):
    if params['state'] == 'managed':
        return plan_managed(driver, params, exported)
    return plan_unmanaged(driver, params, exported)


# ---------------------------------------------------------------------- apply
def apply(driver, p):
    if p.action == 'adopt':
        ref = {'source-name': p.source}
        if p.kind == KIND_SNAPSHOT:
            driver.manage_existing_snapshot(p.name, ref, rename=p.rename)
        else:
            driver.manage_existing(p.name, ref, rename=p.rename)
    elif p.action == 'release':
        if p.kind == KIND_SNAPSHOT:
            driver.unmanage_snapshot(p.name)
        else:
            driver.unmanage(p.name)


# --------------------------------------------------------------------- result
def result(driver, p, check_mode):
    """The record of the managed (or released) volume/snapshot, re-queried after writes."""
    rec = None
    if p.action != 'none' and not check_mode:
        inv = driver.get_inventory(refresh=True)
        managed = inv.snapshots if p.kind == KIND_SNAPSHOT else inv.volumes
        rec = managed.get(p.name)
        if p.action == 'adopt' and rec is None:
            raise CinderkitError('%s %s is not managed after adopting %s; the backend did not '
                                 'take the change' % (p.kind, p.name, p.source), changed=True)
        if p.action == 'release':
            if rec is not None:
                raise CinderkitError('%s %s is still managed after releasing it' % (p.kind, p.name),
                                     changed=True)
            rec = inv.unmanaged.get(p.target_lv)
    elif p.before is not None:
        rec = p.before
    out = rec.to_result() if rec is not None else {}
    out.update(name=p.name, state=p.state, action=p.action,
               managed=(p.state == 'managed'))
    if p.kind == KIND_SNAPSHOT and p.volume:
        out['volume'] = p.volume
    if p.state == 'managed':
        out['source_name'] = p.source
        out['renamed'] = p.renamed
    if p.size_gb is not None:
        out['size_gb'] = p.size_gb
    if p.forced:
        out['forced'] = p.forced
    return out


def diff(p):
    def view(name, lv, managed):
        return {p.kind: name, 'storage_name': lv, 'managed': managed}
    if p.action == 'adopt':
        src_lv = p.entry['reference']['source-name']
        return dict(before=view(p.source, src_lv, False),
                    after=view(p.name, p.target_lv if p.renamed else src_lv, True))
    if p.action == 'release':
        return dict(before=view(p.name, p.target_lv, True), after=view(p.name, p.target_lv, False))
    return dict(before={}, after={})


def listing(driver, params, exported):
    """Cinder's get_manageable_volumes / get_manageable_snapshots, paginated."""
    fn = driver.get_manageable_snapshots if params['kind'] == KIND_SNAPSHOT \
        else driver.get_manageable_volumes
    return fn(marker=params.get('marker'), limit=params.get('limit'), offset=params.get('offset'),
              sort_keys=params.get('sort_keys'), sort_dirs=params.get('sort_dirs'),
              exported=exported)


class ManageTask(Task):
    """The manage_existing module's steps."""

    def plan(self):
        p = self.params
        check_params(p)
        driver = self.driver
        driver.require('manage', 'adopting existing volumes (manage_existing)')
        exported = exported_names(self.m, driver)
        self.listed = None
        self.p = None
        if p['state'] == 'listed':
            self.listed = listing(driver, p, exported)
            return
        self.p = plan(driver, p, exported)

    def changed(self):
        return self.p is not None and self.p.action != 'none'

    def apply(self):
        apply(self.driver, self.p)

    def result(self, changed):
        if self.listed is not None:
            return dict(manageable=self.listed)
        p = self.p
        if p.forced:
            self.m.warnings.append('%s %s: %s; force: true %s it anyway' % (
                p.kind, p.source or p.name, p.forced,
                'adopted' if p.action == 'adopt' else 'released'))
        return {p.kind: result(self.driver, p, self.check_mode)}

    def diff(self):
        return diff(self.p)
