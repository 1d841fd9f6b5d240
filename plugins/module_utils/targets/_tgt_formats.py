# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tgt's file formats: its ``tgtadm --op show`` report and the include files under
``volumes_dir``.

* ``parse_show`` reads tgt's indented report (it has no machine-readable output) into
  typed ``TgtTarget``/``TgtLun`` records, in ONE place.
* ``IncludeFile`` parses and renders the per-volume include file that ``tgt-admin -e``
  restores at service start.  ``tgt-admin`` passes these lines to ``/bin/sh``, so every
  value is checked again when it is rendered (``_check``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import CinderkitError
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
    PATH_CHARS_RE, TGT_NO_ADDRESS, Chap, chap_problem, control_problem, iqn_problem, path_problem)


LUN = 1                     # tgt's LUN 0 is the controller; the volume is LUN 1 (Cinder)
META_PREFIX = '# cinderkit-export '
WRITE_CACHE_OFF = ('mode_page=8:0:18:0x10:0:0xff:0xff:0:0:0xff:0xff:0xff:0xff:0x80:0x14'
                   ':0:0:0:0:0:0')
SCSI_SN_MAX = 32            # longer values are cut (tgt keeps at most this much)
NAME_RE = re.compile(r'^(iqn\.|eui\.|naa\.)')
# tgt's bsoflags (tgtadm.c str_to_open_flags): ':'-separated; ',' is taken here too
FLAG_RE = re.compile(r'^(direct|sync)([:,](direct|sync))*$')
BSTYPE_RE = re.compile(r'^[a-z][a-z0-9_]*$')
BSOPT_RE = re.compile(r'^[A-Za-z0-9_]+=[A-Za-z0-9._/:@+,=-]+$')


class TgtLun(object):
    __slots__ = ('lun', 'path', 'bstype', 'size_bytes', 'scsi_id', 'scsi_sn', 'readonly')

    def __init__(self, lun):
        self.lun = lun
        self.readonly = False
        self.path = None
        self.bstype = None
        self.size_bytes = None
        self.scsi_id = None
        self.scsi_sn = None


class TgtTarget(object):
    """One target of ``tgtadm --op show --mode target``."""

    __slots__ = ('tid', 'name', 'luns', 'accounts', 'outgoing', 'acls', 'sessions')

    def __init__(self, tid, name):
        self.tid = tid
        self.name = name
        self.luns = {}
        self.accounts = []      # incoming user names
        self.outgoing = []      # outgoing (mutual) user names
        self.acls = []          # addresses, ALL, or initiator names
        self.sessions = []      # initiator names with an I_T nexus

    @property
    def names(self):
        return sorted(a for a in self.acls if NAME_RE.match(a))

    @property
    def addresses(self):
        return sorted(a for a in self.acls if not NAME_RE.match(a))


_SIZE_UNITS = {'KB': 1000, 'MB': 1000 ** 2, 'GB': 1000 ** 3, 'TB': 1000 ** 4}


def parse_show(text):
    """{target name: TgtTarget} from ``tgtadm --op show --mode target``."""
    targets = {}
    cur = None
    section = None
    lun = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip(' '))
        line = raw.strip()
        if indent == 0:
            m = re.match(r'^Target (\d+): (\S+)$', line)
            cur = TgtTarget(int(m.group(1)), m.group(2)) if m else None
            if cur is not None:
                targets[cur.name] = cur
            section = lun = None
            continue
        if cur is None:
            continue
        if indent == 4:
            section = line.rstrip(':')
            lun = None
            continue
        if section == 'LUN information':
            m = re.match(r'^LUN: (\d+)$', line)
            if m:
                lun = TgtLun(int(m.group(1)))
                cur.luns[lun.lun] = lun
                continue
            if lun is None or ':' not in line:
                continue
            key, value = line.partition(':')[::2]
            value = value.strip()
            if key == 'Backing store path':
                lun.path = None if value in ('None', '') else value
            elif key == 'Backing store type':
                lun.bstype = value
            elif key == 'SCSI ID':
                lun.scsi_id = value
            elif key == 'SCSI SN':
                lun.scsi_sn = value
            elif key == 'Readonly':
                lun.readonly = value.lower() == 'yes'
            elif key == 'Size':
                m = re.match(r'^(\d+) (KB|MB|GB|TB)', value)
                if m:
                    lun.size_bytes = int(m.group(1)) * _SIZE_UNITS[m.group(2)]
        elif section == 'Account information':
            if line.endswith(' (outgoing)'):
                cur.outgoing.append(line[:-len(' (outgoing)')])
            else:
                cur.accounts.append(line)
        elif section == 'ACL information':
            cur.acls.append(line)
        elif section == 'I_T nexus information':
            m = re.match(r'^Initiator: (\S+)', line)
            if m:
                cur.sessions.append(m.group(1))
    return targets


# -------------------------------------------------------------- include files
class IncludeFile(object):
    """One volumes_dir file: Cinder's tgt persistence, plus a metadata comment."""

    __slots__ = ('path', 'target', 'backing_store', 'bstype', 'bsopts', 'bsoflags', 'driver',
                 'incoming', 'outgoing', 'names', 'addresses', 'write_cache', 'meta', 'readonly')

    def __init__(self, path):
        self.path = path
        self.target = None
        self.backing_store = None
        self.bstype = None
        self.bsopts = None
        self.bsoflags = None
        self.driver = 'iscsi'
        self.incoming = None    # (user, secret)
        self.outgoing = None    # (user, secret)
        self.names = []
        self.addresses = []
        self.write_cache = None
        self.meta = {}
        self.readonly = False

    @classmethod
    def parse(cls, path, text):
        f = cls(path)
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith(META_PREFIX):
                try:
                    f.meta = json.loads(line[len(META_PREFIX):])
                except ValueError:
                    f.meta = {}
                continue
            if not line or line.startswith('#'):
                continue
            m = re.match(r'^<target\s+(\S+)\s*>$', line)
            if m:
                f.target = m.group(1)
                continue
            key, value = line.partition(' ')[::2]
            value = value.strip()
            if key == 'backing-store':
                f.backing_store = value
            elif key == 'bs-type':
                f.bstype = value
            elif key == 'bsopts':
                f.bsopts = value.strip('"')
            elif key == 'bsoflags':
                f.bsoflags = value
            elif key == 'driver':
                f.driver = value
            elif key in ('incominguser', 'outgoinguser'):
                parts = value.split()
                if len(parts) == 2 and key == 'incominguser':
                    f.incoming = tuple(parts)
                elif len(parts) == 2:
                    f.outgoing = tuple(parts)
            elif key == 'initiator-name':
                f.names.append(value)
            elif key == 'initiator-address':
                f.addresses.append(value)
            elif key == 'write-cache':
                f.write_cache = value
            elif key == 'readonly':
                f.readonly = value == '1'
        return f

    def chap(self):
        if not self.incoming:
            return None
        mu, mp = self.outgoing or (None, None)
        return Chap(self.incoming[0], self.incoming[1], mu, mp)

    @staticmethod
    def render(name, volume, backing, driver, auth, initiators, allow_any_host, write_cache,
               bsoflags, scsi_sn):
        """The include file text; every value is checked for tgt-admin first (see _check)."""
        _check('the target name', name, _token(name))
        _check('the backing store', backing.path,
               path_problem(backing.path, chars=True)
               if backing.kind in ('block', 'file', 'missing', 'other') else _token(backing.path))
        _check('the driver', driver, None if driver in ('iscsi', 'iser') else 'is not iscsi or iser')
        if backing.kind not in ('block', 'file', 'missing', 'other'):
            _check('the backing-store type', backing.kind,
                   None if BSTYPE_RE.match(backing.kind) else 'is not a tgt bs-type name')
            if backing.options:
                _check('the bsopts', backing.options, _bsopts_problem(backing.options))
        if bsoflags:
            _check('the bsoflags', bsoflags, None if FLAG_RE.match(bsoflags) else
                   'is not a list of tgt flags (direct, sync)')
        if auth is not None:
            pairs = [(auth.username, 'name'), (auth.password, 'secret')]
            if auth.mutual:
                pairs += [(auth.mutual_username, 'name'), (auth.mutual_password, 'secret')]
            for value, what in pairs:
                _check('a CHAP %s' % what, None, chap_problem(value, what))
        for ini in initiators:
            _check('an initiator name', ini, iqn_problem(ini))
        _check('write-cache', write_cache, None if write_cache in ('on', 'off') else 'is not on/off')
        _check('scsi_sn', scsi_sn, _token(scsi_sn))
        meta = dict(version=1, volume=volume, device_path=backing.path, backing=backing.kind,
                    initiators=list(initiators), allow_any_host=allow_any_host)
        if backing.read_only:
            meta['read_only'] = True
        lines = ['# Written by cinderkit.storage (export module). tgt-admin reads it through an',
                 '# "include %s/*" line; changes here are overwritten by the next export run.'
                 % '<volumes_dir>',
                 META_PREFIX + json.dumps(meta, sort_keys=True),
                 '<target %s>' % name,
                 '    backing-store %s' % backing.path,
                 '    driver %s' % driver]
        if backing.kind not in ('block', 'file', 'missing', 'other'):
            lines.append('    bs-type %s' % backing.kind)
            if backing.options:
                lines.append('    bsopts "%s"' % backing.options)
        if bsoflags:
            lines.append('    bsoflags %s' % bsoflags)
        if auth is not None:
            lines.append('    incominguser %s %s' % (auth.username, auth.password))
            if auth.mutual:
                lines.append('    outgoinguser %s %s' % (auth.mutual_username, auth.mutual_password))
        if not allow_any_host:
            for ini in initiators:
                lines.append('    initiator-name %s' % ini)
            # an address ACL no TCP peer has: without one, tgt-admin binds ALL
            lines.append('    initiator-address %s' % TGT_NO_ADDRESS)
        if backing.read_only:
            # tgt-admin: "--params readonly=1" on the LUN, so a restore keeps it read-only
            lines.append('    readonly 1')
        lines.append('    write-cache %s' % write_cache)
        lines.append('    scsi_sn %s' % scsi_sn)
        lines.append('    scsi_id %s' % scsi_sn)
        lines.append('</target>')
        return '\n'.join(lines) + '\n'


def _token(value):
    if not isinstance(value, str) or not value:
        return 'is empty'
    return control_problem(value) or (None if PATH_CHARS_RE.match(value) else
                                      'contains a blank, a quote or a shell character')


def _bsopts_problem(value):
    problem = control_problem(value)
    if problem:
        return problem
    # tgt-admin drops bsopts' quotes and runs "--bsopts a=b;c=d" through sh: each part must
    # be a plain key=value (sh takes "c=d" as a variable assignment, nothing more)
    if not all(BSOPT_RE.match(part) for part in value.split(';')):
        return 'is not a ";"-separated list of key=value with plain characters'
    return None


def _check(what, value, problem):
    """Refuse a value that would break (or inject into) tgt-admin's reading of a file."""
    if problem:
        shown = '' if value is None or control_problem(str(value)) else ' %r' % (value,)
        raise CinderkitError('refusing to write %s%s into a tgt include file: it %s (tgt-admin '
                             'passes include files to a shell)' % (what, shown, problem))
