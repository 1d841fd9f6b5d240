# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply for the export module.

module -> collect + validate (no command) -> plan (ONE target query) ->
apply (helper verbs, one commit) -> re-query once -> results.

The export module must return CHAP secrets (``connection_info``), so its
module wrapper (``ExportModule``) keeps secrets out of the command history
and error messages (runner redaction) but does not mask them in the result:
the action plugin (plugins/action/export.py) hides the whole result instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._chap import requested_auth, resolve_auth
from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils import _host_auth
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, Conflict, InvalidParameter, NotFound, NotSupported)
from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import (
    Backing, Export, ExportSpec)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import path_problem

CONNECTOR_KEYS = ('initiator', 'nqn', 'host', 'ip', 'multipath')


class ExportModule(CinderkitModule):
    """CinderkitModule whose secrets are redacted from commands and errors only.

    Ansible would replace every no_log value in the result with a mask, which
    would break ``connection_info.data.auth_password``; the action plugin
    sets ``_ansible_no_log`` on the result instead (output censored, the
    registered variable keeps the data).
    """

    def add_secret(self, value):
        if value:
            self.runner.add_secret(value)


class ExportItem(object):
    __slots__ = ('volume', 'state', 'device_path', 'backing', 'spec', 'actual', 'action',
                 'connector', 'result', 'before', 'generated', 'snapshot', 'origin', 'activate',
                 'detach')

    def __init__(self, volume, state, device_path=None, connector=None, snapshot=False):
        self.volume = volume            # the export's name: a volume's, or a snapshot's
        self.state = state
        self.device_path = device_path
        self.connector = connector
        self.snapshot = snapshot        # True: ``volume`` names a snapshot (read-only export)
        self.origin = None              # a snapshot's volume
        self.activate = False           # the snapshot's device must be activated first
        self.detach = ()                # initiators whose access a 'detach' takes away
        self.backing = None
        self.spec = None
        self.actual = None
        self.action = 'none'
        self.result = None
        self.before = None
        self.generated = False


# ----------------------------------------------------------------- validation
def check_params(p):
    """Conflicts Ansible's argument spec cannot express (options with defaults)."""
    if p.get('ensure_all'):
        if p.get('volume'):
            raise InvalidParameter('ensure_all', 'conflicts with volume',
                                   'give volume for one export, or ensure_all for all of them')
        if p.get('state') == 'absent':
            raise InvalidParameter('ensure_all', 'conflicts with state: absent',
                                   'ensure_all restores exports; remove them one by one')
        for key in ('device_path', 'connector', 'connectors', 'initiators', 'auth', 'snapshot'):
            if p.get(key):
                raise InvalidParameter('ensure_all', 'conflicts with %s' % key,
                                       'ensure_all restores exports as they were saved')
        return
    if not p.get('volume') and not p.get('snapshot') and p.get('volumes') is None:
        raise InvalidParameter('volume', 'is required (unless snapshot, volumes or ensure_all is '
                               'given)')
    if p.get('connectors') is not None and not p['connectors']:
        raise InvalidParameter('connectors', 'is empty',
                               'give one os-brick connector per host, or leave connectors out')
    if p.get('allow_any_host') and p.get('state') == 'absent' and connectors_of(p):
        raise InvalidParameter('allow_any_host', 'conflicts with state: absent and a connector',
                               'remove a connector\'s access without allow_any_host')
    if p.get('allow_any_host') and p.get('initiators') is not None:
        raise InvalidParameter('allow_any_host', 'conflicts with initiators',
                               'list the initiators, or let any host log in, not both')


def helper_for(m):
    """The target helper for this task (module option over backend option): the Backend's."""
    return m.backend.target(m.params.get('target_helper'))


def validate_connector(helper, connector, param='connector'):
    if connector is None:
        return None
    if not isinstance(connector, dict):
        raise InvalidParameter(param, 'must be a dict of os-brick connector properties')
    bad = [k for k in connector if not isinstance(k, str)]
    if bad:
        raise InvalidParameter(param, 'keys must be strings', "use os-brick's property names")
    if helper.initiator_kind is None:
        # served natively: no ACL, the connector names the client only
        return connector.get('initiator') or connector.get('nqn') or connector.get('host') or \
            param
    if helper.initiator_kind == 'iqn':
        ini = connector.get('initiator')
        if not ini:
            raise InvalidParameter(param, 'has no initiator (the iSCSI initiator name)',
                                   "add %s.initiator, e.g. the InitiatorName of "
                                   "/etc/iscsi/initiatorname.iscsi" % param)
        problem = helper.initiator_problem(ini)
        if problem:
            raise InvalidParameter('%s.initiator' % param, '%r %s' % (ini, problem))
        return ini
    nqn = connector.get('nqn')
    if not nqn:
        raise InvalidParameter(param, 'has no nqn (the NVMe host NQN)',
                               'add %s.nqn, e.g. the content of /etc/nvme/hostnqn' % param)
    problem = helper.initiator_problem(nqn)
    if problem:
        raise InvalidParameter('%s.nqn' % param, '%r %s' % (nqn, problem))
    return nqn


def connectors_of(p):
    """[(param, connector)] of the task: ``connector`` (one) or ``connectors`` (several)."""
    if p.get('connectors'):
        return [('connectors[%d]' % i, c) for i, c in enumerate(p['connectors'])]
    if p.get('connector') is not None:
        return [('connector', p['connector'])]
    return []


def validate_connectors(m, helper):
    """[(connector, initiator name)], each checked; several only where the pair can attach a
    volume to several hosts at once (Backend.multiattach)."""
    out, seen = [], {}
    for param, connector in connectors_of(m.params):
        ini = validate_connector(helper, connector, param)
        if ini in seen:
            raise InvalidParameter('%s.%s' % (param, helper.connector_key),
                                   '%r is also given in %s' % (ini, seen[ini]),
                                   'list each initiator once')
        seen[ini] = param
        out.append((connector, ini))
    if len(out) > 1 and not (helper.supports('multiattach') and m.backend.multiattach(
            m.params.get('target_helper'))):
        raise NotSupported(
            "parameter 'connectors': %d connectors, but the %s driver with the %s target helper "
            'cannot attach a volume to several hosts at once (backend_facts: multiattach false)%s;'
            ' give one connector' % (
                len(out), m.backend.driver_cls.name, helper.name,
                ' - Cinder\'s RBD multiattach needs the exclusive-lock feature off, and the '
                'native helper has no ACL' if not helper.exports_volumes else ''))
    return out


def connection_key(connector, ini, taken):
    """The key of a connector's connection info in ``connections``: its host (os-brick's
    ``host``), else the initiator name or host NQN."""
    host = (connector or {}).get('host')
    if isinstance(host, str) and host and host not in taken:
        return host
    return ini


def validate_initiators(helper, initiators):
    for i, name in enumerate(initiators or ()):
        problem = helper.initiator_problem(name)
        if problem:
            raise InvalidParameter('initiators[%d]' % i, '%r %s' % (name, problem),
                                   'give %s' % ('iSCSI initiator names (iqn.YYYY-MM.domain:...)'
                                                if helper.initiator_kind == 'iqn'
                                                else 'host NQNs (nqn.YYYY-MM.domain:...)'))


def resolve_backing(m, item, helper=None):
    """Backing of ``item``: device_path as given, else the volume through the driver."""
    if item.device_path:
        problem = path_problem(item.device_path, chars=bool(helper and helper.strict_paths))
        if problem:
            shown = item.device_path if '\x00' not in item.device_path and not any(
                ord(c) < 32 for c in item.device_path) else 'the value'
            raise InvalidParameter('device_path', '%s %s' % (
                repr(shown) if shown != 'the value' else shown, problem),
                'give the absolute, normalised path of a block device or file')
        b = Backing.from_path(item.device_path)
        if b.kind == 'missing':
            raise NotFound("parameter 'device_path': %s does not exist; give an existing block "
                           "device or file" % item.device_path)
        if b.kind == 'other':
            raise InvalidParameter('device_path', '%s is neither a block device nor a regular file'
                                   % item.device_path)
        return b
    driver = m.driver
    inv = driver.get_inventory()
    if item.snapshot:
        return resolve_snapshot_backing(m, item, helper)
    if item.volume not in inv.volumes:
        if item.volume in inv.unmanaged:
            raise InvalidParameter('volume', '%s exists on the backend but is not managed by '
                                   'cinderkit' % item.volume,
                                   'adopt it with cinderkit.storage.manage_existing, or export '
                                   'its device with device_path')
        raise NotFound("parameter 'volume': volume %r does not exist on backend %s; create it "
                       "first (cinderkit.storage.volume)" % (item.volume, driver.backend_name))
    b = driver.target_backing(item.volume)
    if b.kind in ('missing', 'other'):
        raise NotFound("volume %s has no device node at %s (inactive, or its device cannot be "
                       "made on this host); activate it, or export a device or file with "
                       "device_path" % (item.volume, b.path))
    return b


def resolve_snapshot_backing(m, item, helper):
    """A snapshot's read-only backing through the driver (Cinder's create_export_snapshot);
    ``item.activate``: its device must be activated first (LVM thin: ``lvchange -ay -K``)."""
    driver = m.driver
    inv = driver.get_inventory()
    snap = inv.snapshots.get(item.volume)
    if snap is None:
        raise NotFound("parameter 'snapshot': snapshot %r does not exist on backend %s%s; create "
                       "it first (cinderkit.storage.snapshot)" % (
                           item.volume, driver.backend_name,
                           ' (it exists but is not managed by cinderkit)'
                           if item.volume in inv.unmanaged else ''))
    item.origin = snap.volume
    if helper is not None and not helper.supports('snapshot_export'):
        raise NotSupported(helper.read_only_unsupported())
    b = driver.snapshot_backing(item.volume)
    item.activate = bool(driver.activate_snapshot(item.volume, check=True))
    if b.kind in ('missing', 'other') and not item.activate:
        raise NotFound("snapshot %s has no device node at %s (inactive, or its device cannot be "
                       "made on this host)" % (item.volume, b.path))
    if b.kind == 'missing':
        # activated in apply: the kind the device will have
        b = Backing('block', b.path, b.options, read_only=True)
    return b


def native(m, helper):
    """A helper that exports nothing (the driver serves its volumes): its connection info."""
    p = m.params
    driver = m.driver
    if p.get('ensure_all'):
        return dict(changed=False, exports=[])
    conns = validate_connectors(m, helper)
    if p.get('snapshot'):
        raise NotSupported("parameter 'snapshot': volumes of this backend are served by its "
                           "driver (%s), which gives no snapshot exports; set the backend option "
                           "target_helper (tgtadm) to export snapshots read-only"
                           % helper.storage_protocol)
    inv = driver.get_inventory()
    records = []
    for item in collect_items(p):
        rec = dict(volume=item.volume, state=item.state, action='none', changed=False,
                   target_helper=None)
        if item.state == 'present':
            if item.volume not in inv.volumes:
                raise NotFound("parameter 'volume': volume %r does not exist on backend %s"
                               % (item.volume, driver.backend_name))
            exp = Export(item.volume, None, live=True)
            rec['connection_info'] = helper.initialize_connection(
                exp, (conns[0][0] if conns else p.get('connector')) or {})
            if conns:
                rec['connections'] = connections(helper, exp, conns)
        records.append(rec)
    if p.get('volumes') is not None:
        return dict(changed=False, exports=records)
    rec = records[0]
    info = rec.pop('connection_info', None)
    conn_map = rec.pop('connections', None)
    result = dict(changed=False, export=rec)
    if info is not None:
        result['connection_info'] = info
    if conn_map is not None:
        result['connections'] = conn_map
    return result


def collect_items(p):
    """Items of the single form (volume or snapshot) or the bulk form (volumes)."""
    if p.get('volumes') is None:
        if p.get('snapshot'):
            return [ExportItem(p['snapshot'], p['state'], None, p.get('connector'), snapshot=True)]
        return [ExportItem(p['volume'], p['state'], p.get('device_path'), p.get('connector'))]
    items, seen = [], set()
    for i, v in enumerate(p['volumes']):
        if v['volume'] in seen:
            raise InvalidParameter('volumes[%d].volume' % i, '%r is listed twice' % v['volume'],
                                   'list each volume once')
        seen.add(v['volume'])
        items.append(ExportItem(v['volume'], v.get('state') or p['state'], v.get('device_path'),
                                p.get('connector')))
    return items


# ----------------------------------------------------------------------- plan
def plan(m, helper, items, conns=None):
    """Decide each item's action from ONE query of the target state.

    ``conns``: the task's validated connectors (``validate_connectors``).
    """
    params = m.params
    if conns is None:
        conns = validate_connectors(m, helper)
    connector_inis = tuple(ini for dummy, ini in conns)
    validate_initiators(helper, params.get('initiators'))
    dhchap = _host_auth.requested(m, helper)
    requested = requested_auth(m, helper)
    if any(it.state == 'present' for it in items):
        helper.check_transport()        # an RDMA protocol with no RDMA device, first
    exports = helper.list_exports()
    for item in items:
        item.actual = exports.get(item.volume)
        item.before = item.actual
        if item.actual is not None and item.actual.extra.get('foreign'):
            raise Conflict(item.actual.extra['foreign'])
        _check_kind(item)
        if item.state == 'absent':
            plan_absent(m, helper, item, connector_inis)
            continue
        actual = item.actual
        backing = resolve_backing(m, item, helper) if (item.device_path or item.snapshot
                                                       or actual is None
                                                       or actual.backing is None) else None
        if backing is None:
            backing = actual.backing
            if backing.kind in ('missing', 'other') and not item.device_path:
                backing = resolve_backing(m, item, helper)
        elif actual is not None and actual.backing is not None and actual.backing.path != backing.path:
            raise InvalidParameter('snapshot' if item.snapshot else 'device_path',
                                   '%s %s is exported from %s, not %s'
                                   % ('snapshot' if item.snapshot else 'volume', item.volume,
                                      actual.backing.path, backing.path),
                                   'remove the export (state: absent) first')
        item.backing = backing
        if params.get('allow_any_host'):
            initiators, any_host, mode = (), True, 'exact'
        elif params.get('initiators') is not None:
            initiators, any_host, mode = params['initiators'], False, 'exact'
        elif connector_inis:
            initiators, any_host, mode = connector_inis, False, 'add'
        elif actual is not None:
            initiators, any_host, mode = actual.initiators, actual.allow_any_host, 'exact'
        else:
            raise InvalidParameter('initiators', 'nobody could log in to the new export of %s'
                                   % item.volume,
                                   'give connector (os-brick connector properties), connectors, '
                                   'initiators, or allow_any_host: true')
        auth = resolve_auth(requested, actual, item)
        spec = ExportSpec(item.volume, backing, auth, initiators, any_host, mode)
        spec.initiators = tuple(helper.acl_for(spec, actual))
        spec.acl_mode = 'exact'
        task_hosts = set(params['initiators']) if params.get('initiators') is not None \
            else set(connector_inis)
        spec.host_auth = _host_auth.resolve(dhchap, actual, spec.initiators, task_hosts, item,
                                            any_host)
        for host_auth in spec.host_auth.values():
            for s in host_auth.secrets():
                m.add_secret(s)
        if len(spec.initiators) > 1 and not helper.supports('multiattach'):
            raise NotSupported("parameter 'initiators': the %s target helper cannot attach a "
                               "volume to several hosts at once; allow one initiator"
                               % helper.name)
        helper.validate(spec, 'snapshot' if item.snapshot else 'volume')
        if spec.auth is not None:
            for s in spec.auth.secrets():
                m.add_secret(s)
        item.spec = spec
        if actual is None:
            item.action = 'create'
        elif not actual.live or not actual.persisted or actual.extra.get('missing_lun') \
                or item.activate:
            item.action = 'restore'
        elif (spec.initiators != actual.initiators or spec.allow_any_host != actual.allow_any_host
              or spec.auth != actual.auth or actual.extra.get('address_acls')
              or spec.host_auth != actual.host_auth
              or bool(actual.backing and actual.backing.read_only) != backing.read_only):
            item.action = 'update'
        else:
            item.action = 'none'
    return items


def _check_kind(item):
    """A volume's export is never taken for a snapshot's, nor the other way round."""
    actual = item.actual
    if actual is None or actual.backing is None:
        return
    if item.state == 'present' and item.snapshot and not actual.backing.read_only:
        raise Conflict('%s is exported writable (target %s), not as a read-only snapshot export; '
                       'remove that export first' % (item.volume, actual.target_name))


def plan_absent(m, helper, item, connector_inis):
    """state: absent - without a connector the whole export goes; with connector(s) only
    their access (Cinder's terminate_connection), and the export when no initiator remains
    in its ACL (one ACL entry per initiator, as Cinder's LVM driver counts attachments)."""
    actual = item.actual
    if actual is None:
        item.action = 'none'
        return
    if not connector_inis:
        item.action = 'delete'
        return
    gone = tuple(sorted(set(connector_inis) & set(actual.initiators)))
    if not gone:
        item.action = 'none'
        return
    rest = tuple(sorted(set(actual.initiators) - set(gone)))
    if not rest and not actual.allow_any_host:
        item.action = 'delete'
        item.detach = gone
        return
    item.action = 'detach'
    item.detach = gone
    item.backing = actual.backing
    item.spec = ExportSpec(item.volume, actual.backing, actual.auth, rest, actual.allow_any_host,
                           host_auth=dict((h, a) for h, a in actual.host_auth.items() if h in rest))


def plan_ensure_all(m, helper):
    """Items that bring back every saved export the target lost (or never saved)."""
    items = []
    for volume, actual in sorted(helper.list_exports().items()):
        item = ExportItem(volume, 'present')
        item.actual = item.before = actual
        if actual.live and actual.persisted and not actual.extra.get('missing_lun'):
            continue
        if actual.extra.get('foreign'):
            helper.warnings.append(actual.extra['foreign'])
            continue
        if actual.auth is not None and not actual.auth.password:
            # live without a saved secret: nothing to restore from, report it
            item.action = 'unrecoverable'
            items.append(item)
            continue
        item.backing = actual.backing
        if actual.backing is not None and actual.backing.read_only:
            _ensure_snapshot_device(m, item)
        item.spec = ExportSpec(volume, item.backing, actual.auth, actual.initiators,
                               actual.allow_any_host, host_auth=actual.host_auth)
        for host_auth in actual.host_auth.values():
            for s in host_auth.secrets():
                m.add_secret(s)
        helper.validate(item.spec)      # saved values are checked as given ones are
        if actual.auth is not None:
            for s in actual.auth.secrets():
                m.add_secret(s)
        item.action = 'restore'
        items.append(item)
    return items


def _ensure_snapshot_device(m, item):
    """A saved read-only export of a snapshot whose device is gone (after a reboot an LVM
    thin snapshot is inactive again): the restore activates it first."""
    if item.backing.kind != 'missing':
        return
    snaps = m.driver.get_inventory().snapshots
    if item.volume not in snaps:
        return
    item.snapshot = True
    item.origin = snaps[item.volume].volume
    item.activate = bool(m.driver.activate_snapshot(item.volume, check=True))
    if item.activate:
        item.backing = Backing('block', item.backing.path, item.backing.options, read_only=True)


# ---------------------------------------------------------------------- apply
CHANGING = ('create', 'restore', 'update', 'delete', 'detach')


def preflight(helper, items):
    """Checks before the first change, in check mode too (read-only): what the real run
    would meet.  The persistence is checked first, so a bad volumes_dir fails before
    any target is made."""
    actions = set(it.action for it in items)
    if actions & set(('create', 'restore', 'update')):
        helper.ensure_writable()
    if actions & set(('create', 'restore')):
        helper.check_transport()
        helper.ensure_ready()


def apply(helper, items, driver=None):
    todo = [it for it in items if it.action in CHANGING]
    if not todo:
        return False
    preflight(helper, items)
    helper.reserve([it.spec for it in todo if it.action in ('create', 'restore')])
    done = []
    for it in todo:
        try:
            if it.activate and it.action in ('create', 'restore'):
                driver.activate_snapshot(it.volume)
            _apply_one(helper, it)
        except CinderkitError as exc:
            _flush(helper)
            raise partial_failure(exc, done, it)
        done.append(it)
    try:
        helper.commit()
    except CinderkitError as exc:
        raise partial_failure(exc, done, None)
    return True


def _flush(helper):
    """After a failed step: what the done steps saved stays durable (best effort: the step's
    own error is the one to report)."""
    try:
        helper.flush()
    except (CinderkitError, IOError, OSError):
        pass


def _apply_one(helper, it):
    if it.action == 'delete':
        helper.remove_export(it.actual)
    elif it.action == 'detach':
        for ini in it.detach:
            helper.terminate_connection(it.actual, {helper.connector_key: ini})
    elif it.action == 'create':
        if it.backing.kind == 'missing':
            raise NotFound('cannot export %s: %s does not exist' % (it.volume, it.backing.path))
        helper.create_export(it.spec)
    elif it.action == 'restore':
        if it.backing is None or it.backing.kind == 'missing':
            raise NotFound('cannot restore the export of %s: its device %s does not exist'
                           % (it.volume, it.backing.path if it.backing else '(unknown)'))
        helper.ensure_export(it.spec, it.actual)
    else:
        helper.update_export(it.spec, it.actual)


def partial_failure(exc, done, failed):
    """``exc`` with what this task changed before (and in) the failing step.

    ``changed`` is true when an earlier item was applied, or when the failing step
    itself left a change (its error says so with changed=True, e.g. a live target
    whose include file could not be written).
    """
    result = dict(exc.result)
    step_changed = bool(result.get('changed'))
    result['changed'] = bool(done) or step_changed
    result['done'] = [dict(volume=it.volume, action=it.action) for it in done]
    if failed is not None:
        result['failed_item'] = dict(volume=failed.volume, action=failed.action,
                                     changed=step_changed)
    msg = exc.msg
    if done:
        names = ['%s %s' % (it.action, it.volume) for it in done[:10]]
        more = ' and %d more' % (len(done) - 10) if len(done) > 10 else ''
        msg += '; done before the failure (kept): %s%s' % (', '.join(names), more)
    err = CinderkitError(msg, **result)
    return err


def planned_export(helper, item):
    spec = item.spec
    extra = dict(item.actual.extra) if item.actual is not None else {}
    return Export(item.volume, helper.target_name(item.volume), backing=spec.backing,
                  lun=item.actual.lun if item.actual is not None else None, auth=spec.auth,
                  initiators=spec.initiators, allow_any_host=spec.allow_any_host, live=True,
                  persisted=True, extra=extra, host_auth=spec.host_auth)


def results(m, helper, items, changed):
    """Per-item records; re-query once after writes and check the outcome."""
    after = helper.list_exports(refresh=True) if (changed and not m.check_mode) else None
    out = []
    for it in items:
        rec = dict(volume=it.volume, state=it.state, action=it.action,
                   changed=it.action in CHANGING)
        if it.spec is not None:
            have = after.get(it.volume) if after is not None else None
            if after is not None and (have is None or not have.live):
                raise CinderkitError('the export of %s is not live after %s; the target did not '
                                     'take it' % (it.volume, it.action), changed=True,
                                     failed_item=dict(volume=it.volume, action=it.action))
            exp = planned_export(helper, it)
            if have is not None:
                exp.lun = have.lun
                exp.extra = have.extra
                exp.size_bytes = have.size_bytes
            rec.update(exp.to_result())
            rec['generated_credentials'] = it.generated
            it.result = exp
        elif it.actual is not None:
            rec.update(it.actual.to_result())
            rec['live'] = rec['persisted'] = False if it.action == 'delete' else rec['live']
        rec['protocol'] = helper.storage_protocol
        rec['target_helper'] = helper.name
        if it.detach:
            rec['removed_initiators'] = list(it.detach)
        if it.snapshot:
            rec['snapshot'] = it.volume
            rec['volume'] = it.origin
            if it.activate:
                rec['activated'] = True
        out.append(rec)
    return out


def diff(items):
    """Before/after, secrets redacted (CHAP shown as user names only)."""
    def view(exp):
        if exp is None:
            return {}
        return dict(target=exp.target_name,
                    device_path=exp.backing.path if exp.backing else None,
                    initiators=list(exp.initiators), allow_any_host=exp.allow_any_host,
                    chap_user=exp.auth.username if exp.auth else None,
                    chap_mutual_user=exp.auth.mutual_username if exp.auth else None,
                    chap_secret='<redacted>' if exp.auth else None,
                    read_only=bool(exp.backing and exp.backing.read_only),
                    dhchap_hosts=sorted(exp.host_auth),
                    dhchap_secret='<redacted>' if exp.host_auth else None,
                    live=exp.live, persisted=exp.persisted)
    before, after = {}, {}
    for it in items:
        if it.action in ('none', 'unrecoverable'):
            continue
        before[it.volume] = view(it.before)
        after[it.volume] = {} if it.action == 'delete' else view(it.result)
    return dict(before=before, after=after)


class ExportTask(Task):
    """The export module's steps, under the helper's host lock from the one query to the
    last write: two tasks on one host never decide from a view the other changes (tgt
    target IDs, accounts, saved configs)."""

    def lock(self):
        check_params(self.params)
        self.helper = helper_for(self.m)
        return self.helper.lock()

    def plan(self):
        p, helper = self.params, self.helper
        self.native = None
        self.items = []
        self.conns = []
        if not helper.exports_volumes:
            self.native = native(self.m, helper)
        elif p['ensure_all']:
            self.items = plan_ensure_all(self.m, helper)
        else:
            self.items = collect_items(p)
            self.conns = validate_connectors(self.m, helper)
            plan(self.m, helper, self.items, self.conns)

    def changed(self):
        return any(it.action in CHANGING for it in self.items)

    def apply(self):
        apply(self.helper, self.items, self.driver if any(it.activate for it in self.items)
              else None)

    def preview(self):
        preflight(self.helper, self.items)

    def result(self, changed):
        if self.native is not None:
            return self.native
        p, helper, items = self.params, self.helper, self.items
        records = results(self.m, helper, items, changed)
        out = {}
        if p['ensure_all']:
            out['exports'] = records
            lost = [it.volume for it in items if it.action == 'unrecoverable']
            if lost:
                raise CinderkitError('export(s) %s are live but their CHAP secrets are not saved; '
                                     'run the export module for each to save them'
                                     % ', '.join(lost), exports=records, changed=changed)
        elif p.get('volumes') is not None:
            for item, rec in zip(items, records):
                if item.state == 'present':
                    rec['connection_info'] = helper.initialize_connection(item.result,
                                                                          self.first_connector())
                    if self.conns:
                        rec['connections'] = connections(helper, item.result, self.conns)
            out['exports'] = records
        else:
            out['export'] = records[0]
            if items[0].state == 'present':
                out['connection_info'] = helper.initialize_connection(items[0].result,
                                                                      self.first_connector())
                if self.conns:
                    out['connections'] = connections(helper, items[0].result, self.conns)
        self.m.warnings.extend(helper.warnings)
        return out

    def first_connector(self):
        """The connector ``connection_info`` is for: the only one, or the first of several."""
        conns = getattr(self, 'conns', None)
        return conns[0][0] if conns else self.params.get('connector')

    def diff(self):
        return diff(self.items)


def connections(helper, export, conns):
    """{host: connection_info} for every connector of the task (Cinder's
    initialize_connection per attachment), keyed by the connector's host, else its
    initiator name or host NQN."""
    out = {}
    for connector, ini in conns:
        out[connection_key(connector, ini, out)] = helper.initialize_connection(export, connector)
    return out
