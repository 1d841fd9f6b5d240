# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for cinderkit.storage.export: keep CHAP secrets out of all output.

The module must return ``connection_info`` with ``auth_password`` (os-brick
needs it), so it cannot let Ansible mask its secrets.  This plugin runs the
module on the managed node and then:

* on success, when the task's arguments or the result carry a secret, sets
  ``_ansible_no_log`` on the result: callbacks (also at ``-vvv``) show it
  censored, the registered variable keeps everything;
* on failure, replaces every known secret anywhere in the result with
  ``********`` so the error stays readable (the module's own messages never
  contain secrets; this covers ``invocation.module_args``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

MASK = '********'
ARG_SECRETS = (('auth', 'password'), ('auth', 'mutual_password'), ('backend', 'chap_password'))
DATA_SECRETS = ('auth_password', 'auth_password_in', 'discovery_auth_password')


def _data_secrets(value, found):
    """Every CHAP secret in any connection_info.data of ``value`` (single or bulk form)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if key in DATA_SECRETS and sub:
                found.add(str(sub))
            else:
                _data_secrets(sub, found)
    elif isinstance(value, list):
        for sub in value:
            _data_secrets(sub, found)


def _secrets(args, result):
    found = set()
    for outer, inner in ARG_SECRETS:
        sub = args.get(outer)
        if isinstance(sub, dict) and sub.get(inner):
            found.add(str(sub[inner]))
    _data_secrets(result.get('connection_info'), found)
    _data_secrets(result.get('exports'), found)
    return found


def _mask(value, secrets):
    if isinstance(value, dict):
        return dict((k, _mask(v, secrets)) for k, v in value.items())
    if isinstance(value, list):
        return [_mask(v, secrets) for v in value]
    if isinstance(value, str):
        for s in secrets:
            if s and s in value:
                value = value.replace(s, MASK)
    return value


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()   # the module validates its own arguments

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        module_result = self._execute_module(module_name='cinderkit.storage.export',
                                             module_args=args, task_vars=task_vars)
        result.update(module_result)
        secrets = _secrets(args, result)
        if not secrets:
            return result
        if result.get('failed'):
            masked = _mask(dict(result), secrets)
            result.clear()
            result.update(masked)
        else:
            result['_ansible_no_log'] = True
        return result
