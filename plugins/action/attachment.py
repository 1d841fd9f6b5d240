# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for cinderkit.storage.attachment: keep connection_info secrets out of all output.

The module masks the CHAP secrets and keyring keys of ``connection_info`` itself (it
never returns them).  It cannot when Ansible refuses the task's arguments before the
module's code runs (an unknown option, a bad ``state``): the error then echoes the
arguments.  This plugin masks every such secret anywhere in the result, on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.plugins.action import ActionBase

MASK = '********'
DATA_SECRETS = ('auth_password', 'auth_password_in', 'discovery_auth_password', 'keyring')


def _secrets(args):
    info = args.get('connection_info')
    data = info.get('data') if isinstance(info, dict) else None
    found = set()
    if isinstance(data, dict):
        for key in DATA_SECRETS:
            if data.get(key):
                found.add(str(data[key]))
        if isinstance(data.get('keyring'), str):
            found.update(re.findall(r'^\s*key\s*=\s*(\S+)', data['keyring'], re.M))
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
        result.update(self._execute_module(module_name='cinderkit.storage.attachment',
                                           module_args=args, task_vars=task_vars))
        secrets = sorted(_secrets(args), key=len, reverse=True)
        if not secrets:
            return result
        masked = _mask(dict(result), secrets)
        result.clear()
        result.update(masked)
        return result
