# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NVMe DH-HMAC-CHAP policy of an export: what a task asks for, and what each host gets.

Keys are per host (nvmet keeps them on the host entry, for every subsystem it may reach).
A host of this task (its connector, or the listed ``initiators``) gets the given secret;
any other allowed host keeps its key; a host without one is given a generated key
(``secrets``), so an authenticated export never lets a host in without authentication.
Taking authentication off an export is refused (remove the export instead).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._dhchap import (
    DEFAULT_DHGROUP, DEFAULT_HASH, HostAuth, generate_secret, secret_problem)
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter

FIELDS = ('dhchap_secret', 'dhchap_ctrl_secret', 'bidirectional', 'dhchap_hash', 'dhchap_dhgroup')


class Requested(object):
    """What the task's ``auth`` asks of DH-HMAC-CHAP (``wanted`` False: nothing)."""

    def __init__(self, wanted=False, secret=None, ctrl_secret=None, bidirectional=False,
                 hash_name=None, dhgroup=None, off=False):
        self.wanted = wanted
        self.secret = secret
        self.ctrl_secret = ctrl_secret
        self.bidirectional = bool(bidirectional or ctrl_secret)
        self.hash = hash_name
        self.dhgroup = dhgroup
        self.off = off          # auth.method: none, said out loud


def requested(m, helper):
    """The task's DH-HMAC-CHAP request, checked (secrets registered for redaction first)."""
    auth = m.params.get('auth') or {}
    for key in ('dhchap_secret', 'dhchap_ctrl_secret'):
        if auth.get(key):
            m.add_secret(auth[key])
    given = [k for k in FIELDS if auth.get(k)]
    method = auth.get('method')
    if method == 'none':
        if given:
            raise InvalidParameter('auth', 'method none conflicts with %s' % ', '.join(given),
                                   'drop them, or use method: dhchap')
        return Requested(off=True)
    if method != 'dhchap' and not given:
        return Requested()
    if method not in (None, 'dhchap'):
        raise InvalidParameter('auth.method', 'method %s conflicts with %s (DH-HMAC-CHAP)'
                               % (method, ', '.join(given)), 'use method: dhchap for NVMe-oF')
    if not helper.supports('dhchap'):
        raise InvalidParameter('auth.method', 'the %s target helper has no DH-HMAC-CHAP (NVMe '
                               'in-band authentication)' % helper.name,
                               'use target_helper nvmet, or CHAP for iSCSI')
    for key in ('dhchap_secret', 'dhchap_ctrl_secret'):
        if auth.get(key):
            problem = secret_problem(auth[key])
            if problem:
                raise InvalidParameter('auth.%s' % key, 'the value %s' % problem,
                                       "give a DHHC-1 secret ('nvme gen-dhchap-key'), or leave "
                                       'it out to have one generated')
    if auth.get('dhchap_ctrl_secret') and auth.get('dhchap_ctrl_secret') == auth.get('dhchap_secret'):
        raise InvalidParameter('auth.dhchap_ctrl_secret', 'is the same as auth.dhchap_secret',
                               'bidirectional authentication needs a different controller key')
    req = Requested(True, auth.get('dhchap_secret'), auth.get('dhchap_ctrl_secret'),
                    auth.get('bidirectional'), auth.get('dhchap_hash'), auth.get('dhchap_dhgroup'))
    probe = HostAuth(req.secret or generate_secret(), None, req.hash or DEFAULT_HASH,
                     req.dhgroup or DEFAULT_DHGROUP)
    for field, problem in probe.problems():
        raise InvalidParameter('auth.%s' % field, problem)
    return req


def resolve(req, actual, hosts, task_hosts, item, any_host=False):
    """{host: HostAuth} of an export whose ACL is ``hosts``; ``task_hosts``: this task's.

    Sets ``item.generated`` when a key is generated.
    """
    have = dict(actual.host_auth) if actual is not None else {}
    if any_host and (req.wanted or have):
        raise InvalidParameter('allow_any_host', 'conflicts with DH-HMAC-CHAP: nvmet '
                               'authenticates the hosts it lists, and allow_any_host lists none',
                               'name the hosts (connector, connectors or initiators)')
    if not req.wanted and not have:
        return {}
    if req.off:
        raise InvalidParameter('auth.method', 'the export of %s authenticates its hosts '
                               '(DH-HMAC-CHAP); taking that off is not supported'
                               % item.volume, 'remove the export, then export it again')
    out = {}
    for host in hosts:
        old = have.get(host)
        mine = host in task_hosts
        if mine and req.wanted and req.secret:
            key = req.secret
        elif old is not None:
            key = old.host_key
        else:
            key = generate_secret()
            item.generated = True
        want_bidi = (req.bidirectional if mine and req.wanted else False) or bool(
            old is not None and old.ctrl_key)
        if mine and req.wanted and req.ctrl_secret:
            ctrl = req.ctrl_secret
        elif old is not None and old.ctrl_key:
            ctrl = old.ctrl_key
        elif want_bidi:
            ctrl = generate_secret()
            item.generated = True
        else:
            ctrl = None
        hash_name = (req.hash if mine and req.hash else None) or (old.hash if old else DEFAULT_HASH)
        dhgroup = (req.dhgroup if mine and req.dhgroup else None) or (
            old.dhgroup if old else DEFAULT_DHGROUP)
        out[host] = HostAuth(key, ctrl, hash_name, dhgroup)
    return out
