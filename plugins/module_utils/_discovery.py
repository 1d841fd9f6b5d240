# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and apply for the discovery_auth module: the CHAP a target asks of initiators
before they may list its targets (iSCSI SendTargets discovery).

Given credentials win, then the ones the target has (kept, so initiators keep working),
then generated ones (``secrets``).  Set through the helper (LIO: rtslib's configfs
writes), never a command line; saved with the helper's one commit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._converge import Task
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, InvalidParameter)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import (
    Chap, GENERATED_PASSWORD_LEN, GENERATED_USERNAME_LEN, chap_problem, generate_secret)

FIELDS = ('username', 'password', 'mutual_username', 'mutual_password')


def requested(m):
    """(Chap or None, want_mutual): the credentials given, checked (never shown)."""
    auth = m.params.get('auth') or {}
    given = dict((k, auth.get(k)) for k in FIELDS)
    for key in ('password', 'mutual_password'):
        if given[key]:
            m.add_secret(given[key])
    if m.params['state'] == 'absent':
        extra = sorted(k for k, v in given.items() if v)
        if extra:
            raise InvalidParameter('auth', 'state absent turns discovery CHAP off and takes no '
                                   'credentials (%s given)' % ', '.join(extra), 'drop auth')
        return None, False
    for user, secret in (('username', 'password'), ('mutual_username', 'mutual_password')):
        if bool(given[user]) != bool(given[secret]):
            missing = secret if given[user] else user
            raise InvalidParameter('auth.%s' % missing, 'is required with auth.%s'
                                   % (user if missing == secret else secret),
                                   'give both, or neither to have them generated')
    if given['mutual_username'] and not given['username']:
        raise InvalidParameter('auth.username', 'is required with auth.mutual_username',
                               'mutual CHAP needs the initiator credentials too')
    for key in FIELDS:
        if given[key]:
            problem = chap_problem(given[key], 'secret' if 'password' in key else 'name')
            if problem:
                raise InvalidParameter('auth.%s' % key, 'the discovery CHAP %s %s' % (
                    'secret' if 'password' in key else 'user name', problem),
                    'generated secrets are %d characters' % GENERATED_PASSWORD_LEN)
    if given['password'] and given['password'] == given['mutual_password']:
        raise InvalidParameter('auth.mutual_password', 'is the same as auth.password',
                               'RFC 3720 asks for different secrets in each direction')
    want_mutual = bool(auth.get('mutual') or given['mutual_username'])
    if given['username']:
        return Chap(given['username'], given['password'], given['mutual_username'],
                    given['mutual_password']), want_mutual
    return None, want_mutual


def wanted(given, want_mutual, have):
    """(Chap, generated) the target should have."""
    if given is not None and (given.mutual or not want_mutual):
        return given, False
    base = given or (have if have is not None and have.password else None)
    if base is None:
        base = Chap(generate_secret(GENERATED_USERNAME_LEN), generate_secret(GENERATED_PASSWORD_LEN))
        generated = True
    else:
        generated = False
    if not want_mutual:
        return Chap(base.username, base.password), generated
    if base.mutual and base.mutual_password:
        return base, generated
    if have is not None and have.mutual and have.mutual_password and \
            have.mutual_password != base.password:
        return Chap(base.username, base.password, have.mutual_username, have.mutual_password), \
            generated
    return Chap(base.username, base.password, generate_secret(GENERATED_USERNAME_LEN),
                generate_secret(GENERATED_PASSWORD_LEN)), True


def view(auth, secrets=False):
    out = dict(enabled=auth is not None, username=None, mutual_username=None)
    if auth is not None:
        out.update(username=auth.username, mutual_username=auth.mutual_username)
        if secrets:
            out.update(password=auth.password, mutual_password=auth.mutual_password)
        else:
            out['chap_secret'] = '<redacted>'
    return out


class DiscoveryTask(Task):
    """The discovery_auth module's steps, under the helper's host lock."""

    def lock(self):
        self.helper = self.backend.target(self.params.get('target_helper'))
        if not self.helper.supports('discovery_chap'):
            raise InvalidParameter('target_helper', 'the %s target helper has no discovery CHAP'
                                   % self.helper.name, 'use target_helper: lioadm')
        return self.helper.lock()

    def plan(self):
        given, want_mutual = requested(self.m)
        self.have = self.helper.discovery_auth()
        for s in (self.have.secrets() if self.have is not None else []):
            self.m.add_secret(s)
        self.generated = False
        if self.params['state'] == 'absent':
            self.want = None
        else:
            self.want, self.generated = wanted(given, want_mutual, self.have)
            for s in self.want.secrets():
                self.m.add_secret(s)
        self.action = 'none'
        if self.want != self.have:
            self.action = 'remove' if self.want is None else (
                'create' if self.have is None else 'update')

    def changed(self):
        return self.action != 'none'

    def preview(self):
        self.helper.ensure_writable()

    def apply(self):
        self.helper.ensure_writable()
        try:
            self.helper.set_discovery_auth(self.want)
        except CinderkitError as exc:
            exc.result['changed'] = True        # some attributes may be written already
            exc.msg += '; discovery CHAP may be set in part: run the task again'
            raise
        try:
            self.helper.commit()
        except CinderkitError as exc:
            exc.result['changed'] = True
            exc.msg += ('; discovery CHAP is set live but not saved: it is lost at the next '
                        'restart of the target unless the task runs again')
            raise

    def result(self, changed):
        out = view(self.want, secrets=True)
        out.update(action=self.action, target_helper=self.helper.name,
                   generated_credentials=bool(self.generated and changed))
        return dict(discovery_auth=out)

    def diff(self):
        return dict(before=view(self.have), after=view(self.want))
