# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tgt (the Linux SCSI target framework, ``tgtd``) through ``tgtadm``.

State comes from two places, each read once per query:

* ``tgtadm --op show --mode target``: tgt has no machine-readable output;
  its indented report is parsed in ONE place (``_tgt_formats.parse_show``) into
  typed ``TgtTarget`` records.  It never shows CHAP secrets.
* the include files this helper writes under ``volumes_dir`` (Cinder's
  persistence, one file per volume, read by ``tgt-admin`` at service start
  through an ``include <volumes_dir>/*`` line): they hold the CHAP
  secrets (mode 0600) and what an ensure run needs to bring an export back.

Writes are tgtadm calls (argv, CHAP secrets marked ``Secret``), then the
include file (fsynced before its rename); the directory is fsynced once per task
(``commit``/``flush``), not once per file.  Per export: new target, new LUN, one
LUN update (serial number and id, write cache and read-only in one ``--params``:
tgtadm refuses ``--params`` with ``--op new``), the account (new, then bind) and
one bind per initiator.  tgtadm takes a CHAP secret only as an argv item
(``--password``); it is marked ``Secret`` so that no history or error shows it.

ACLs name initiators (``-Q``); tgt also admits an initiator
whose *address* matches an address ACL, and tgt-admin adds ``ALL`` when a
target has no address ACL, so include files carry an address ACL that no
TCP peer can have (``TGT_NO_ADDRESS``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import os
import re
import socket

from ansible_collections.cinderkit.storage.plugins.module_utils import _locks
from ansible_collections.cinderkit.storage.plugins.module_utils._files import fsync_dir
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, CommandFailed, TargetUnavailable, Conflict, InvalidParameter)
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import Secret
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
    TGT_NO_ADDRESS, Backing, Chap, Export, ExportSpec, Target, control_problem, path_problem,
    register_target, writable_dir_problem, write_private)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._tgt_formats import (  # noqa: F401 pylint: disable=unused-import
    FLAG_RE, LUN, SCSI_SN_MAX, WRITE_CACHE_OFF, IncludeFile, TgtTarget, parse_show)


@register_target('tgtadm')
class TgtAdm(Target):
    """Cinder's default helper: tgtd, LUN 1, one target per volume."""

    protocols = ('iscsi', 'iser')
    # tgt reads a LUN's size when the LUN is created: extend_target re-creates
    # LUN 1, and I/O in flight during that moment fails (Cinder: "IO disruption")
    online_extend = False
    # tgt: a LUN takes "--params readonly=1" (snapshot exports); one ACL entry per initiator
    features = frozenset(('chap', 'mutual_chap', 'acl', 'multiattach', 'snapshot_export'))
    initiator_kind = 'iqn'
    # the connection info is the only place target_ip_address goes
    hostname_portals = True
    # tgt-admin runs "tgtadm ... -b \"PATH\"" through sh at every service start
    strict_paths = True

    def __init__(self, config, runner):
        super(TgtAdm, self).__init__(config, runner)
        self._show = None
        self._files = None
        self._portals = None
        self._view = None       # the lock generation the cached view was read under
        self._unsynced = False  # include files renamed or removed since the last fsync_dir

    @property
    def lock_name(self):
        """One tgtd (its control port): target IDs and accounts are per daemon."""
        return 'tgtd-%s' % (self.config.get('tgt_control_port') or 'default')

    def _files_lock(self):
        """The volumes_dir include files (two daemons could share one directory)."""
        digest = hashlib.sha1((self.volumes_dir or '').encode('utf-8', 'replace')).hexdigest()
        return _locks.host_lock('tgt-volumes-%s' % digest[:16])

    def config_problems(self):
        out = super(TgtAdm, self).config_problems()
        vd = self.volumes_dir
        problem = path_problem(vd, chars=True) if vd is not None else 'is not set'
        if problem:
            out.append(('backend.volumes_dir', problem if control_problem(str(vd))
                        else '%r %s' % (vd, problem)))
        flags = self.config.get('iscsi_target_flags')
        if flags:
            if control_problem(flags):
                out.append(('backend.iscsi_target_flags', control_problem(flags)))
            elif not FLAG_RE.match(flags):
                out.append(('backend.iscsi_target_flags',
                            '%r is not a list of tgt backing-store flags; use direct, sync or '
                            'direct:sync' % flags))
        return out

    @property
    def bsoflags(self):
        flags = self.config.get('iscsi_target_flags')
        return flags.replace(',', ':') if flags else None

    # -- commands ------------------------------------------------------------
    @property
    def lld(self):
        return 'iser' if self.protocol == 'iser' else 'iscsi'

    def _argv(self, *args):
        argv = [self.runner.which('tgtadm', 'tgt')]
        port = self.config.get('tgt_control_port') or 0
        if port:
            argv += ['-C', str(port)]
        return argv + ['--lld', self.lld] + list(args)

    def _run(self, *args, **kw):
        try:
            return self.runner.run(self._argv(*args), **kw)
        except CommandFailed as exc:
            if 'connect' in (exc.stderr or '') or exc.rc == 107:
                raise TargetUnavailable(
                    exc.msg + ('; is tgtd running%s? (start the tgt service, or the '
                               'cinderkit.storage.target_helper role)'
                               % (' with control port %s' % self.config.get('tgt_control_port')
                                  if self.config.get('tgt_control_port') else '')),
                    **exc.result)
            raise

    def _write(self, *args):
        return self._run(*args, write=True)

    # -- state -----------------------------------------------------------------
    @property
    def volumes_dir(self):
        return self.config.get('volumes_dir')

    def _file_path(self, volume):
        return os.path.join(self.volumes_dir, volume)

    def _read_files(self):
        files = {}
        if path_problem(self.volumes_dir or ''):
            return files    # check_config names it; a read-only caller sees no saved exports
        for path in sorted(glob.glob(os.path.join(self.volumes_dir, '*'))):
            if not os.path.isfile(path) or os.path.basename(path).startswith('.'):
                continue
            try:
                with open(path) as fh:
                    f = IncludeFile.parse(path, fh.read())
            except (IOError, OSError, UnicodeDecodeError):
                continue
            if f.target:
                files[f.target] = f
        return files

    def query(self, refresh=False):
        if self._show is None or refresh:
            self._show = parse_show(self._run('--op', 'show', '--mode', 'target').stdout)
            self._files = self._read_files()
            self._view = _locks.generation(self.lock_name)
        return self._show, self._files

    def _fresh(self):
        """The cached view, re-read unless it was read under the lock held now.

        Target IDs and account bindings are decided from it: a view read before
        the lock (or under an earlier hold) may miss another task's targets.
        """
        gen = _locks.generation(self.lock_name)
        if gen is None or self._show is None or self._view != gen:
            return self.query(refresh=True)
        return self._show, self._files

    def list_exports(self, refresh=False):
        show, files = self.query(refresh)
        out = {}
        for name in sorted(set(show) | set(files)):
            volume = self.volume_of(name)
            if volume is None:
                continue
            live = show.get(name)
            f = files.get(name)
            out[volume] = self._export(volume, name, live, f)
        return out

    def _export(self, volume, name, live, f):
        backing = None
        size = None
        auth = f.chap() if f is not None else None
        initiators, any_host, extra = (), False, {}
        if live is not None:
            lun = live.luns.get(LUN)
            if lun is not None and lun.path:
                kind = lun.bstype if lun.bstype not in (None, 'rdwr', 'aio') else None
                backing = Backing(kind, lun.path, read_only=lun.readonly) if kind else \
                    Backing.from_path(lun.path, read_only=lun.readonly)
                if kind and f is not None and f.bsopts:
                    backing.options = f.bsopts
                size = None     # tgt prints decimal MB only: not a size to report
            initiators = tuple(live.names)
            any_host = 'ALL' in live.acls
            extra['tid'] = live.tid
            extra['sessions'] = sorted(set(live.sessions))
            foreign = [a for a in live.addresses if a not in ('ALL', TGT_NO_ADDRESS)]
            if foreign:
                extra['address_acls'] = foreign
            live_in = live.accounts[0] if live.accounts else None
            live_out = live.outgoing[0] if live.outgoing else None
            if auth is None or (auth.username, auth.mutual_username) != (live_in, live_out):
                # what tgtd has differs from the file: usernames only, secrets unknown
                auth = Chap(live_in, None, live_out, None) if live_in else None
            if lun is None:
                extra['missing_lun'] = True
        elif f is not None:
            kind = f.bstype or None
            backing = Backing(kind, f.backing_store, f.bsopts, read_only=f.readonly) if kind else \
                Backing.from_path(f.backing_store, read_only=f.readonly)
            initiators = tuple(f.names)
            any_host = not f.names and not f.addresses
        if f is not None:
            extra['include_file'] = f.path
        return Export(volume, name, backing=backing, lun=LUN, auth=auth, initiators=initiators,
                      allow_any_host=any_host, live=live is not None, persisted=f is not None,
                      size_bytes=size, extra=extra)

    def persisted_auth(self, volume):
        """CHAP credentials saved for ``volume`` (secrets included), or None."""
        files = self.query()[1]
        f = files.get(self.target_name(volume))
        return f.chap() if f is not None else None

    # -- readiness ------------------------------------------------------------------
    def ensure_ready(self):
        """tgtd must serve the configured portals; one ``--mode portal`` query."""
        if self._portals is None:
            out = self._run('--op', 'show', '--mode', 'portal').stdout
            self._portals = re.findall(r'^Portal: (\S+),\d+$', out, re.M)
        served = set(self._portals)
        port = str(self.config.get('target_port'))
        for portal in self.portals():
            host, p = portal.rpartition(':')[::2]
            wild = set(['0.0.0.0:%s' % p, '[::]:%s' % p, ':::%s' % p])
            if portal in served or served & wild:
                continue
            busy = _port_busy(host.strip('[]'), int(p))
            raise Conflict(
                "tgtd does not listen on %s (target_ip_address:target_port); it serves %s.%s "
                "Configure the portal with the cinderkit.storage.target_helper role (or start tgtd "
                "with --iscsi portal=%s), or set target_ip_address/target_port to a served portal"
                % (portal, ', '.join(sorted(served)) or 'no portal',
                   (' Port %s on %s is in use by another process.' % (port, host)) if busy else '',
                   portal))

    def ensure_writable(self):
        """volumes_dir must take include files before any target is made (nothing half-made)."""
        problem = writable_dir_problem(self.volumes_dir)
        if problem:
            raise InvalidParameter('backend.volumes_dir', '%s %s' % (self.volumes_dir, problem),
                                   'give a writable directory for the tgt include files')

    def include_configured(self):
        """True when tgt's config includes volumes_dir (else a service reload drops exports)."""
        wanted = os.path.join(self.volumes_dir, '*')
        for path in ['/etc/tgt/targets.conf'] + sorted(glob.glob('/etc/tgt/conf.d/*.conf')):
            try:
                with open(path) as fh:
                    for line in fh:
                        parts = line.split()
                        if len(parts) == 2 and parts[0] == 'include' and parts[1] in (
                                wanted, self.volumes_dir + '/'):
                            return True
            except (IOError, OSError):
                continue
        return False

    # -- writes ------------------------------------------------------------------------
    def _next_tid(self):
        show = self._fresh()[0]
        used = set(t.tid for t in show.values())
        tid = 1
        while tid in used:
            tid += 1
        return tid

    def create_export(self, spec):
        with self.lock():
            show = self._fresh()[0]
            tid = self._next_tid()
            name = self.target_name(spec.volume)
            text = self._render(spec)    # refuses what tgt-admin cannot read, before any write
            self._check_auth(tid, spec.auth, None)
            self._write('--op', 'new', '--mode', 'target', '--tid', str(tid), '-T', name)
            show[name] = TgtTarget(tid, name)    # keep the view in step for bulk calls
            made = []
            try:
                self._add_lun(tid, spec)
                self._set_acl(tid, spec.initiators, spec.allow_any_host, (), False, ())
                if spec.auth is not None:
                    self._bind_auth(tid, spec.auth, None, made, checked=True)
            except CinderkitError as exc:
                try:
                    self._write('--op', 'delete', '--mode', 'target', '--force', '--tid', str(tid))
                except CinderkitError:
                    pass
                show.pop(name, None)
                for user in made:
                    if user not in self._users_elsewhere(tid):
                        try:
                            self._write('--mode', 'account', '--op', 'delete', '--user', user)
                        except CinderkitError:
                            pass
                exc.msg = '%s; the half-made target %s was removed' % (exc.msg, name)
                raise
            self._persist(spec, text)

    def _add_lun(self, tid, spec):
        b = spec.backing
        args = ['--op', 'new', '--mode', 'logicalunit', '--tid', str(tid), '--lun', str(LUN),
                '--backing-store', b.path]
        if b.kind not in ('block', 'file'):
            args += ['--bstype', b.kind]
            if b.options:
                args += ['--bsopts', b.options]
        flags = self.bsoflags
        if flags:
            args += ['--bsoflags', flags]
        self._write(*args)
        sn = _scsi_sn(spec.volume)
        params = ['scsi_sn=%s' % sn, 'scsi_id=%s' % sn]     # one update for every LUN parameter
        if self.config.get('iscsi_write_cache') == 'off':
            params.append(WRITE_CACHE_OFF)
        if getattr(b, 'read_only', False):
            params.append('readonly=1')
        self._write('--op', 'update', '--mode', 'logicalunit', '--tid', str(tid), '--lun', str(LUN),
                    '--params', ','.join(params))

    def _set_readonly(self, tid, on):
        """The LUN refuses writes (a snapshot's export): tgt's ``readonly`` LUN parameter."""
        self._write('--op', 'update', '--mode', 'logicalunit', '--tid', str(tid), '--lun', str(LUN),
                    '--params', 'readonly=%d' % (1 if on else 0))

    def _set_acl(self, tid, names, any_host, have_names, have_any, have_addresses):
        want = set() if any_host else set(names)
        for ini in sorted(set(have_names) - want):
            self._write('--op', 'unbind', '--mode', 'target', '--tid', str(tid), '-Q', ini)
        for addr in sorted(have_addresses):
            if addr != 'ALL' or not any_host:
                self._write('--op', 'unbind', '--mode', 'target', '--tid', str(tid), '-I', addr)
        for ini in sorted(want - set(have_names)):
            self._write('--op', 'bind', '--mode', 'target', '--tid', str(tid), '-Q', ini)
        if any_host and not have_any:
            self._write('--op', 'bind', '--mode', 'target', '--tid', str(tid), '-I', 'ALL')

    def _users_elsewhere(self, tid):
        show = self.query()[0]
        users = set()
        for t in show.values():
            if t.tid != tid:
                users.update(t.accounts)
                users.update(t.outgoing)
        return users

    def _bound_to(self, user, tid):
        """Names of the targets other than ``tid`` that bind account ``user``."""
        return sorted(t.name for t in self.query()[0].values()
                      if t.tid != tid and (user in t.accounts or user in t.outgoing))

    def _saved_secrets(self, user, names=None):
        """{secret} our include files record for ``user`` (of the targets ``names``, or all)."""
        files = self.query()[1]
        out = set()
        for name, f in files.items():
            if names is not None and name not in names:
                continue
            for pair in (f.incoming, f.outgoing):
                if pair and pair[0] == user:
                    out.add(pair[1])
        return out

    def _check_auth(self, tid, auth, old):
        """Refuse (before any write) credentials tgt cannot give this target.

        tgt keeps ONE secret per account and binds an account to any number of
        targets, so a user name already bound elsewhere is shared, never
        replaced: allowed when every other target binding it was saved by this
        collection with the same secret (one credential for many targets, as
        Cinder's fixed chap_username/chap_password mean), refused otherwise.
        """
        if auth is None:
            return
        for user, password in ((auth.username, auth.password),
                               (auth.mutual_username, auth.mutual_password)):
            if not user:
                continue
            others = self._bound_to(user, tid)
            if not others:
                continue
            files = self.query()[1]
            unsaved = [n for n in others if n not in files]
            if unsaved:
                raise Conflict("CHAP user %r is already bound to tgt target(s) %s, which "
                               "cinderkit did not save; tgt keeps one secret per user name, so "
                               "give this export another user name" % (user, ', '.join(unsaved)))
            if self._saved_secrets(user, others) != set([password]):
                raise Conflict("CHAP user %r is already used by tgt target(s) %s with a different "
                               "secret; tgt keeps one secret per user name: give the same secret, "
                               "or another user name" % (user, ', '.join(others)))

    def _new_account(self, user, password, made):
        try:
            self._write('--mode', 'account', '--op', 'new', '--user', user,
                        '--password', Secret(password))
        except CommandFailed as exc:
            if 'exists' not in (exc.stderr or ''):
                raise
            # an account no target binds (the view is fresh, under the lock): replace it
            # only when it is ours - a saved export of this collection names it with this
            # secret (a target deleted behind our back, a crash between new and bind)
            if password not in self._saved_secrets(user):
                raise Conflict("a tgt account %r exists that no target uses and that cinderkit "
                               "did not make (another tool's, or tgt's discovery account); it is "
                               "left alone: give this export another CHAP user name, or delete "
                               "the account (tgtadm --mode account --op delete --user %s) if it "
                               "is a leftover" % (user, user))
            self._write('--mode', 'account', '--op', 'delete', '--user', user)
            self._write('--mode', 'account', '--op', 'new', '--user', user,
                        '--password', Secret(password))
        made.append(user)

    def _bind_auth(self, tid, auth, old, made=None, checked=False):
        """Bind ``auth`` to target ``tid``; ``old`` = (incoming user, outgoing user) bound now;
        ``checked``: the caller ran ``_check_auth`` under this lock, with the same view
        (create_export: before its first write)."""
        made = [] if made is None else made
        if not checked:
            self._check_auth(tid, auth, old)
        show = self.query()[0]
        live = next((t for t in show.values() if t.tid == tid), None)
        elsewhere = self._users_elsewhere(tid)
        old_in, old_out = old or (None, None)
        for user, outgoing in ((old_in, False), (old_out, True)):
            if not user:
                continue
            args = ['--mode', 'account', '--op', 'unbind', '--tid', str(tid), '--user', user]
            if outgoing:
                args.append('--outgoing')
            self._write(*args)
            if live is not None:
                (live.outgoing if outgoing else live.accounts)[:] = [
                    u for u in (live.outgoing if outgoing else live.accounts) if u != user]
            if user not in elsewhere:
                self._write('--mode', 'account', '--op', 'delete', '--user', user)
        if auth is None:
            return
        for user, password, outgoing in ((auth.username, auth.password, False),
                                         (auth.mutual_username, auth.mutual_password, True)):
            if not user:
                continue
            if user not in elsewhere:
                self._new_account(user, password, made)
            # else: shared with targets saved with this same secret (_check_auth)
            args = ['--mode', 'account', '--op', 'bind', '--tid', str(tid), '--user', user]
            if outgoing:
                args.append('--outgoing')
            self._write(*args)
            if live is not None:
                (live.outgoing if outgoing else live.accounts).append(user)

    def _render(self, spec):
        return IncludeFile.render(
            self.target_name(spec.volume), spec.volume, spec.backing, self.lld, spec.auth,
            spec.initiators, spec.allow_any_host, self.config.get('iscsi_write_cache') or 'on',
            self.bsoflags, _scsi_sn(spec.volume))

    def _persist(self, spec, text=None):
        if self.runner.check_mode:
            return
        name = self.target_name(spec.volume)
        text = text if text is not None else self._render(spec)
        path = self._file_path(spec.volume)
        try:
            with self._files_lock():
                write_private(path, text, sync_dir=False)   # the directory: once, in commit
            self._unsynced = True
        except (IOError, OSError) as exc:
            # the live target is made (or changed): say so, and what is left unsaved
            raise CinderkitError('cannot write the tgt include file %s: %s; the target %s is live '
                                 'but not saved (a restart of tgt loses it); fix backend option '
                                 'volumes_dir and run the export again to save it'
                                 % (path, exc, name), changed=True, target=name, live=True,
                                 persisted=False)
        files = self.query()[1]
        files[name] = IncludeFile.parse(path, text)

    def ensure_export(self, spec, actual):
        if not actual.live:
            self.create_export(spec)
            return
        self.update_export(spec, actual)

    def update_export(self, spec, actual):
        with self.lock():
            return self._update_export(spec, actual)

    def _update_export(self, spec, actual):
        show = self._fresh()[0]
        live = show.get(actual.target_name)
        if live is None:
            return self.create_export(spec)
        tid = live.tid
        text = self._render(spec)    # refuses what tgt-admin cannot read, before any write
        if LUN not in live.luns:
            self._add_lun(tid, spec)
        elif live.luns[LUN].path != spec.backing.path:
            raise Conflict('volume %s is exported from %s, not %s; remove the export '
                           '(state: absent) first' % (spec.volume, live.luns[LUN].path,
                                                      spec.backing.path))
        elif live.luns[LUN].readonly != spec.backing.read_only:
            self._set_readonly(tid, spec.backing.read_only)
        self._set_acl(tid, spec.initiators, spec.allow_any_host, live.names,
                      'ALL' in live.acls, [a for a in live.addresses if a != 'ALL' or
                                           not spec.allow_any_host])
        have = (live.accounts[0] if live.accounts else None,
                live.outgoing[0] if live.outgoing else None)
        if spec.auth != actual.auth or (spec.auth is None) != (have[0] is None):
            self._check_auth(tid, spec.auth, have)
            self._bind_auth(tid, spec.auth, have, checked=True)
        self._persist(spec, text)

    def remove_export(self, actual):
        with self.lock():
            return self._remove_export(actual)

    def _remove_export(self, actual):
        show = self._fresh()[0]
        live = show.get(actual.target_name)
        if live is not None:
            self._write('--op', 'delete', '--mode', 'target', '--force', '--tid', str(live.tid))
            elsewhere = self._users_elsewhere(live.tid)
            for user in live.accounts + live.outgoing:
                if user not in elsewhere:
                    try:
                        self._write('--mode', 'account', '--op', 'delete', '--user', user)
                    except CommandFailed:
                        pass
            show.pop(actual.target_name, None)
        path = actual.extra.get('include_file') or self._file_path(actual.volume)
        if not self.runner.check_mode and os.path.exists(path):
            try:
                with self._files_lock():
                    os.unlink(path)
                self._unsynced = True
            except OSError as exc:
                raise CinderkitError('cannot remove the tgt include file %s: %s; the target %s is '
                                     'removed but tgt would restore it at its next start'
                                     % (path, exc, actual.target_name), changed=live is not None,
                                     target=actual.target_name, live=False, persisted=True)
            self.query()[1].pop(actual.target_name, None)

    def flush(self):
        """Make the include files written or removed so far durable: ONE fsync of
        volumes_dir for all of them (each file was fsynced before its rename)."""
        if self._unsynced and not self.runner.check_mode:
            fsync_dir(self.volumes_dir)
        self._unsynced = False

    def commit(self):
        """tgt has no whole-config save: the include files are the persistence."""
        self.flush()

    # -- connections ---------------------------------------------------------------------
    def initialize_connection(self, export, connector):
        return self.iscsi_connection_info(export, connector, LUN)

    def terminate_connection(self, export, connector):
        """Unbind the connector's initiator (live) and rewrite the include file without it;
        the sessions of other initiators stay."""
        ini = self.connector_initiator(connector)
        if not ini:
            return False
        with self.lock():
            show, files = self._fresh()
            live = show.get(export.target_name)
            f = files.get(export.target_name)
            changed = False
            text = None
            if f is not None and ini in f.names:
                backing = export.backing or Backing.from_path(f.backing_store, read_only=f.readonly)
                spec = ExportSpec(export.volume, backing, f.chap(),
                                  [n for n in f.names if n != ini], False)
                text = self._render(spec)   # refuses what tgt-admin cannot read, before any write
            if live is not None and ini in live.names:
                self._write('--op', 'unbind', '--mode', 'target', '--tid', str(live.tid), '-Q', ini)
                live.acls[:] = [a for a in live.acls if a != ini]
                changed = True
            if text is not None:
                self._persist(spec, text)
                changed = True
            return changed

    def extend_target(self, export):
        """Re-create LUN 1 so tgt reads the new size (tgt has no resize)."""
        show = self.query()[0]
        live = show.get(export.target_name)
        if live is None or LUN not in live.luns:
            return False
        lun = live.luns[LUN]
        spec_backing = export.backing or Backing.from_path(lun.path)
        self._write('--op', 'delete', '--mode', 'logicalunit', '--tid', str(live.tid),
                    '--lun', str(LUN))

        class _Spec(object):
            volume = export.volume
            backing = spec_backing
        self._add_lun(live.tid, _Spec)
        return True


def _scsi_sn(volume):
    return volume[-SCSI_SN_MAX:]


def _port_busy(host, port):
    try:
        s = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
    except (OSError, socket.error):
        return False
    finally:
        s.close()
