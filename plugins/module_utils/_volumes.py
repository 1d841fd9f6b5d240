# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply volume changes for the ``volume`` module.

One inventory query, one plan.  Check mode reports the plan; real mode
applies it; the diff is built from the same plan.  Every input problem is
found while planning, so a bad item fails the task before anything changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils._paths import check_volume_paths
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, InvalidParameter, NotFound)
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import GiB, gib_text, parse_size
from ansible_collections.cinderkit.storage.plugins.module_utils import _copy
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import VolumeSpec

SOURCE_KINDS = ('snapshot', 'volume', 'image')


class Item(object):
    """One requested volume and what the plan decided for it."""

    def __init__(self, name, state, size_bytes=None, source=None, param='name'):
        self.name = name
        self.state = state
        self.size_bytes = size_bytes
        self.source = source
        self.param = param
        self.action = 'none'          # create | delete | extend | none
        self.before = None            # Volume record or None
        self.image = None             # inspected image for source.image
        self.source_mismatch = None
        self.online = None
        self.to_image = None          # dict(path, format, compress, force) for volume -> image
        self.image_action = 'none'    # write | none

    def source_public(self):
        if not self.source:
            return None
        return dict((k, v) for k, v in self.source.items() if k in SOURCE_KINDS or k == 'format')


def normalize_source(source, param):
    if not source:
        return None
    kinds = [k for k in SOURCE_KINDS if source.get(k)]
    if len(kinds) != 1:
        raise InvalidParameter(param, 'give exactly one of snapshot, volume or image, got %s'
                               % (', '.join(kinds) or 'none'),
                               'e.g. source: {snapshot: NAME}')
    out = {kinds[0]: source[kinds[0]]}
    if kinds[0] == 'image':
        out['format'] = source.get('format') or 'auto'
        out['grow'] = bool(source.get('grow'))
    return out


def collect_items(params):
    """Items from the single form (name/size/source) or the bulk form (volumes)."""
    state = params['state']
    items = []
    if params.get('volumes') is not None:
        seen = set()
        for i, v in enumerate(params['volumes']):
            param = 'volumes[%d]' % i
            name = v.get('name')
            if name in seen:
                raise InvalidParameter('%s.name' % param, 'volume %r is listed twice' % name,
                                       'list each volume once')
            seen.add(name)
            st = v.get('state') or state
            size = v.get('size')
            items.append(Item(name, st, None if size is None else parse_size(size, '%s.size' % param),
                              normalize_source(v.get('source'), '%s.source' % param), '%s.name' % param))
    else:
        size = params.get('size')
        items.append(Item(params['name'], state,
                          None if size is None else parse_size(size, 'size'),
                          normalize_source(params.get('source'), 'source')))
        items[0].to_image = params.get('to_image')
    return items


def _source_param(item):
    return item.param.replace('.name', '.source') if item.param != 'name' else 'source'


def _size_param(item):
    return item.param.replace('.name', '.size') if item.param != 'name' else 'size'


def plan(driver, runner, items, export_holder=None):
    """Decide an action per item; raise before any change on bad input.

    ``export_holder``: callable(name) -> description of the export that holds the
    volume, or None; a volume to delete that is exported is refused.
    """
    for it in items:
        driver.validate_name(it.name, it.param)
    inv = driver.get_inventory()
    problems = []
    for it in items:
        vol = inv.volumes.get(it.name)
        it.before = vol
        if it.state == 'absent':
            holder = export_holder(it.name) if (vol is not None and export_holder) else None
            if holder:
                problems.append('volume %s is exported (%s); deleting it would pull it from under '
                                'its initiators: remove the export first (cinderkit.storage.export '
                                'volume=%s state=absent)' % (it.name, holder, it.name))
                it.action = 'delete'
                continue
            if vol is not None:
                if vol.snapshots:
                    problems.append('volume %s has snapshots (%s); delete them first (cinderkit.storage.'
                                    'snapshot state=absent)' % (it.name, ', '.join(vol.snapshots)))
                else:
                    try:
                        driver.check_delete(vol)
                    except CinderkitError as exc:
                        problems.append(exc.msg)
                it.action = 'delete'
            elif it.name in inv.unmanaged:
                problems.append('%s exists but is not managed by cinderkit; refusing to delete data it '
                                'did not create (adopt it with cinderkit.storage.manage_existing first)'
                                % it.name)
            continue
        # present
        if vol is not None:
            if it.source and vol.source and not _same_source(it.source, vol.source):
                it.source_mismatch = dict(requested=it.source, actual=vol.source)
            elif it.source and not vol.source:
                it.source_mismatch = dict(requested=it.source, actual=None)
            if it.size_bytes is not None:
                want = driver.round_size(it.size_bytes)
                if want < vol.size_bytes:
                    problems.append("%s: volume %s is %s and the request is %s; volumes are never "
                                    "shrunk: ask for at least %s"
                                    % (_size_param(it), it.name, gib_text(vol.size_bytes), gib_text(want),
                                       gib_text(vol.size_bytes)))
                elif want > vol.size_bytes:
                    it.action = 'extend'
                    it.size_bytes = want
                    try:
                        driver.check_extend(vol, want)
                    except CinderkitError as exc:
                        problems.append(exc.msg)
            continue
        if inv.taken(it.name):
            what = ('a snapshot' if it.name in inv.snapshots else
                    'an unmanaged %s' % driver.object_noun if it.name in inv.unmanaged else
                    'an internal %s' % driver.object_noun)
            problems.append("%s: the name %s is taken by %s; pick another name%s"
                            % (it.param, it.name, what,
                               ' or adopt it with cinderkit.storage.manage_existing'
                               if it.name in inv.unmanaged else ''))
            continue
        try:
            _plan_create(driver, runner, inv, it)
        except (InvalidParameter, NotFound) as exc:
            problems.append(exc.msg)
    if problems:
        raise CinderkitError('%s; nothing was changed' % (
            problems[0] if len(problems) == 1 else
            '%d problems: %s' % (len(problems), ' | '.join(problems))))
    for it in items:
        if it.to_image is not None:
            problems_ti = _plan_to_image(driver, runner, it)
            if problems_ti:
                raise CinderkitError('%s; nothing was changed' % problems_ti)
    creates = [it for it in items if it.action == 'create']
    if creates:
        kind = driver.new_volume_kind()
        freed = sum(it.before.size_bytes for it in items
                    if it.action == 'delete' and not it.before.thin)
        _check_space(driver, creates, kind, freed)
    return items


def _check_space(driver, creates, kind, freed):
    driver.check_space([VolumeSpec(it.name, it.size_bytes) for it in creates], kind, freed_bytes=freed)


def _plan_create(driver, runner, inv, it):
    src = it.source
    sparam = _source_param(it)
    if src is None:
        if it.size_bytes is None:
            raise InvalidParameter(_size_param(it), 'size is required to create volume %s' % it.name,
                                   'give a size in GiB, e.g. size: 10')
        it.action = 'create'
        return
    if 'snapshot' in src:
        snap = inv.snapshots.get(src['snapshot'])
        if snap is None:
            raise NotFound("parameter '%s.snapshot': snapshot %r not found; create it first or fix the name"
                           % (sparam, src['snapshot']))
        base = snap.size_bytes
    elif 'volume' in src:
        svol = inv.volumes.get(src['volume'])
        if svol is None:
            raise NotFound("parameter '%s.volume': source volume %r not found; create it first or fix "
                           "the name" % (sparam, src['volume']))
        base = svol.size_bytes
    else:
        driver.require('image', 'copying an image to a volume')
        it.image = _copy.inspect_image(runner, src['image'], src['format'], '%s.image' % sparam,
                                       timeout=driver.copy_timeout,
                                       staging=driver.config.get('image_conversion_dir'))
        base = it.image['virtual_size']
        if it.size_bytes is not None and it.size_bytes < base and not src['grow']:
            raise InvalidParameter(_size_param(it), 'image %s has a virtual size of %s, more than the '
                                   'requested %s' % (src['image'], gib_text(base), gib_text(it.size_bytes)),
                                   'ask for at least %s or set source.grow: true' % gib_text(_round_gib(base)))
        if it.size_bytes is None or it.size_bytes < base:
            it.size_bytes = _round_gib(base)
        it.action = 'create'
        return
    if it.size_bytes is None:
        it.size_bytes = base
    elif it.size_bytes < base:
        raise InvalidParameter(_size_param(it), 'volume %s would be %s, smaller than its source (%s)'
                               % (it.name, gib_text(it.size_bytes), gib_text(base)),
                               'ask for at least %s or leave size out' % gib_text(base))
    it.action = 'create'


def _plan_to_image(driver, runner, it):
    """Decide whether the volume's content must be written to it.to_image['path']."""
    ti = it.to_image
    if it.state != 'present':
        return "parameter 'to_image': only with state=present"
    driver.require('image', 'copying a volume to an image')
    path = ti['path']
    if os.path.isdir(path):
        return "parameter 'to_image.path': %s is a directory; give a file path" % path
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return "parameter 'to_image.path': directory %s does not exist; create it first" % parent
    if it.action == 'create':
        size = driver.round_size(it.size_bytes)
    else:
        size = it.before.size_bytes if it.action != 'extend' else it.size_bytes
    matches = _copy.image_matches(runner, path, ti['format'], size)[0]
    if ti.get('force') or not matches:
        it.image_action = 'write'
    return None


def _round_gib(b):
    return ((b + GiB - 1) // GiB) * GiB


def _same_source(want, have):
    if 'image' in want:
        return 'image_digest' in have
    return want == have


def apply(driver, items, refresh_export=None):
    """Carry out the plan (not called in check mode).

    A failure part-way raises the error with ``changed`` and the account of what
    was done (``done``: each item's outcome) and what is left.
    """
    done = []
    try:
        _apply(driver, items, refresh_export, done)
    except CinderkitError as exc:
        inv = driver.get_inventory(refresh=True)
        for it in items:
            if it.action == 'delete' and it.name not in inv.volumes and it.name not in done:
                done.append(it.name)
            elif it.action == 'create' and it.name in inv.volumes and it.name not in done:
                done.append(it.name)
        exc.result['changed'] = bool(done) or bool(exc.result.get('changed'))
        exc.result['volumes'] = [dict(name=it.name, action=it.action,
                                      outcome='done' if it.name in done else
                                      ('not done' if it.action != 'none' else 'unchanged'))
                                 for it in items]
        if done:
            exc.msg = '%s; done before the failure: %s' % (exc.msg, ', '.join(
                '%s %s' % (it.action, it.name) for it in items if it.name in done))
        raise


def _apply(driver, items, refresh_export, done):
    deletes = [it.name for it in items if it.action == 'delete']
    if deletes:
        driver.delete_volumes(deletes)
        done.extend(deletes)
    plain = [VolumeSpec(it.name, it.size_bytes) for it in items
             if it.action == 'create' and not it.source]
    if plain:
        driver.create_volumes(plain)
        done.extend(s.name for s in plain)
    for it in items:
        if it.action != 'create' or not it.source:
            continue
        spec = VolumeSpec(it.name, it.size_bytes, source=it.source)
        if 'snapshot' in it.source:
            driver.create_volume_from_snapshot(spec, it.source['snapshot'])
        elif 'volume' in it.source:
            driver.create_cloned_volume(spec, it.source['volume'])
        else:
            driver.copy_image_to_volume(spec, it.image)
        done.append(it.name)
    for it in items:
        if it.action == 'extend':
            it.online = bool(driver.extend_volume(it.name, it.size_bytes))
            done.append(it.name)
            if refresh_export is not None:
                refresh_export(it.name, driver.local_path(it.name))
    for it in items:
        if it.image_action == 'write':
            driver.copy_volume_to_image(it.name, dict(it.to_image, mode=0o600))


def results(driver, items, check_mode):
    """Per-item result records (planned ones in check mode)."""
    inv = driver.get_inventory()
    out = []
    for it in items:
        rec = dict(name=it.name, state=it.state, action=it.action,
                   changed=it.action != 'none' or it.image_action != 'none')
        vol = inv.volumes.get(it.name)
        if it.state == 'present':
            if vol is not None and not (check_mode and it.action == 'create'):
                rec.update(vol.to_result())
            if check_mode and it.action in ('create', 'extend'):
                rec['size_bytes'] = driver.round_size(it.size_bytes)
                rec['size_gb'] = round(rec['size_bytes'] / float(GiB), 3)
                rec.setdefault('source', it.source_public())
            if it.online is not None:
                rec['online'] = it.online
        if it.source_mismatch:
            rec['source_mismatch'] = it.source_mismatch
        if it.to_image is not None:
            rec['image'] = dict(path=it.to_image['path'], format=it.to_image['format'],
                                written=it.image_action == 'write')
        out.append(rec)
    return out


def diff(items, driver):
    before, after = {}, {}
    for it in items:
        if it.image_action == 'write':
            before['image:%s' % it.to_image['path']] = None if not it.to_image.get('force') else 'replaced'
            after['image:%s' % it.to_image['path']] = dict(volume=it.name, format=it.to_image['format'])
        if it.action == 'none':
            continue
        b = it.before
        before[it.name] = None if b is None else dict(size_gb=b.size_gb, provisioning='thin' if b.thin else 'thick')
        if it.action == 'delete':
            after[it.name] = None
        else:
            size = driver.round_size(it.size_bytes)
            after[it.name] = dict(size_gb=round(size / float(GiB), 3))
            if it.action == 'create' and it.source:
                after[it.name]['source'] = it.source_public()
    return dict(before=before, after=after)


__all__ = ['CinderkitError', 'Conflict']


class VolumeTask(Task):
    """The volume module's steps."""

    def plan(self):
        check_volume_paths(self.params)
        self.items = collect_items(self.params)
        plan(self.driver, self.m.runner, self.items, export_holder=self.backend.export_holder)

    def changed(self):
        return any(it.action != 'none' or it.image_action != 'none' for it in self.items)

    def apply(self):
        apply(self.driver, self.items, refresh_export=self.backend.refresh_export)

    def result(self, changed):
        records = results(self.driver, self.items, self.check_mode)
        out = {}
        if self.params.get('volumes') is not None:
            out['volumes'] = records
        else:
            out['volume'] = records[0]
        for rec in records:
            if rec.get('source_mismatch'):
                self.m.warnings.append(
                    'volume %s exists with source %s; the requested source %s was not applied'
                    % (rec['name'], rec['source_mismatch']['actual'],
                       rec['source_mismatch']['requested']))
        return out

    def diff(self):
        return diff(self.items, self.driver)

    def cleanup(self):
        """Remove the staging files of fetched image URLs."""
        for it in getattr(self, 'items', ()):
            staged = (getattr(it, 'image', None) or {}).get('staged')
            if staged and os.path.exists(staged):
                os.unlink(staged)
