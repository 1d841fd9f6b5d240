# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CHAP policy of an export: what a task asks for, checked, and what each export gets.

Given credentials win, then the export's existing ones (kept, so initiators keep working),
then the backend's shared ``chap_username``/``chap_password`` (``use_chap_auth``), then
generated ones (``secrets``).  Every name and secret, given, saved or generated, keeps to
the allowed character sets (tgt restores exports through a shell).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import (
    Chap, GENERATED_PASSWORD_LEN, GENERATED_USERNAME_LEN, chap_problem, generate_secret)
from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
    CHAP_SECRET_CHARS)


def requested_auth(m, helper):
    """('none'|'chap'|None, Chap or None, want_mutual): what the task asks for, checked."""
    auth = m.params.get('auth') or {}
    method = auth.get('method')
    given = dict((k, auth.get(k)) for k in ('username', 'password', 'mutual_username',
                                            'mutual_password'))
    for key in ('password', 'mutual_password'):
        if given[key]:
            m.add_secret(given[key])
    if method == 'dhchap':      # NVMe in-band authentication: _host_auth, not CHAP
        method = 'none'
    if method == 'none':
        extra = sorted(k for k, v in given.items() if v) + (['mutual'] if auth.get('mutual') else [])
        if extra:
            raise InvalidParameter('auth', 'method none conflicts with %s' % ', '.join(extra),
                                   'drop them, or use method: chap')
        return 'none', None, False
    if method is None and not helper.supports('chap'):
        if any(given.values()) or auth.get('mutual'):
            raise InvalidParameter('auth', 'the %s target helper does not support CHAP'
                                   % helper.name, 'drop auth; restrict access with initiators')
        return 'none', None, False
    if method == 'chap' and not helper.supports('chap'):
        raise InvalidParameter('auth.method', 'the %s target helper does not support CHAP'
                               % helper.name, 'use method: none and restrict access with initiators')
    for pair in (('username', 'password'), ('mutual_username', 'mutual_password')):
        if bool(given[pair[0]]) != bool(given[pair[1]]):
            raise InvalidParameter('auth.%s' % (pair[0] if not given[pair[0]] else pair[1]),
                                   'is required with auth.%s' % (pair[1] if not given[pair[0]]
                                                                 else pair[0]),
                                   'give both, or neither to have them generated')
    for key in ('username', 'password', 'mutual_username', 'mutual_password'):
        if given[key]:
            problem = chap_problem(given[key], 'secret' if 'password' in key else 'name')
            if problem:
                shown = given[key] if 'password' not in key else 'the value'
                if 'password' not in key and any(ord(c) < 32 or ord(c) == 127 for c in shown):
                    shown = 'the value'
                raise InvalidParameter('auth.%s' % key, '%s %s' % (
                    repr(shown) if shown != 'the value' else shown, problem),
                    'generated secrets are %d characters' % GENERATED_PASSWORD_LEN
                    if 'password' in key else None)
    want_mutual = bool(auth.get('mutual') or given['mutual_username'])
    if want_mutual and not helper.supports('mutual_chap'):
        raise InvalidParameter('auth', 'the %s target helper does not support mutual CHAP'
                               % helper.name, 'drop the mutual settings')
    if given['password'] and given['mutual_password'] and given['password'] == given['mutual_password']:
        raise InvalidParameter('auth.mutual_password', 'is the same as auth.password',
                               'RFC 3720 asks for different secrets in each direction; '
                               'initiators refuse equal ones')
    if given['username']:
        return 'chap', Chap(given['username'], given['password'], given['mutual_username'],
                            given['mutual_password']), want_mutual
    cfg = m.config
    if method != 'none' and cfg.get('use_chap_auth'):
        user, pw = cfg.get('chap_username'), cfg.get('chap_password')
        if not user and not pw:
            # Cinder's tgt and LIO targets generate per-volume credentials then
            return 'chap', None, want_mutual
        if not user or not pw:
            raise InvalidParameter('backend.chap_username' if not user else 'backend.chap_password',
                                   'is empty while backend.%s is set (use_chap_auth)'
                                   % ('chap_password' if not user else 'chap_username'),
                                   'set both, or neither to have credentials generated per export')
        problem = chap_problem(user, 'name')
        if problem:
            raise InvalidParameter('backend.chap_username', 'the value %s' % problem)
        problem = chap_problem(pw, 'secret')
        if problem:
            raise InvalidParameter('backend.chap_password', 'the value %s' % problem,
                                   'use %s' % CHAP_SECRET_CHARS)
        # one credential for every export of the backend (Cinder's meaning): tgt binds
        # one account to many targets
        return 'chap', Chap(user, pw), want_mutual
    return 'chap', None, want_mutual


def resolve_auth(requested, actual, item):
    """The credentials an export gets: given > existing (kept) > generated."""
    method, given, want_mutual = requested
    if method == 'none':
        return None
    have = actual.auth if actual is not None else None
    if given is not None:
        if want_mutual and not given.mutual:
            if have is not None and have.mutual and have.mutual_password:
                return Chap(given.username, given.password, have.mutual_username,
                            have.mutual_password)
            item.generated = True
            return Chap(given.username, given.password,
                        generate_secret(GENERATED_USERNAME_LEN), generate_secret(GENERATED_PASSWORD_LEN))
        return given
    if have is not None and have.password and (not want_mutual or have.mutual_password):
        if have.mutual and not have.mutual_password:
            return Chap(have.username, have.password)
        return have
    item.generated = True
    auth = Chap(generate_secret(GENERATED_USERNAME_LEN), generate_secret(GENERATED_PASSWORD_LEN))
    if want_mutual:
        auth.mutual_username = generate_secret(GENERATED_USERNAME_LEN)
        auth.mutual_password = generate_secret(GENERATED_PASSWORD_LEN)
    return auth
