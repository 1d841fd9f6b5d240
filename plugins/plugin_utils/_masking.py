# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side secret masking, shared by the action plugin of every module.

The modules mask the secrets they know of (secret backend options once the backend
is loaded, CHAP and keyring values they read or make).  They cannot when the task
fails before that: Ansible refuses the arguments (an unknown option, a bad choice)
before the module's code runs, or the module stops at a bad size before it loads
the backend.  Either way ``invocation.module_args`` echoes the arguments.  So every
module runs through an action plugin that, on the controller, after the module:

* collects every secret of the task's arguments (after templating and
  ``module_defaults``): the values of secret-named keys at any depth (backend
  ``chap_password``, ``auth.password``, ``connection_info.data.auth_password``,
  S3-style ``*_secret_key``, ``*_access_key``...), and the ``key =`` lines of a
  Ceph keyring given inline;
* replaces each of them, anywhere in the result (values and keys, messages,
  ``invocation``, ``diff``, warnings, tracebacks), with ``********``.

An async task with ``poll`` > 0 is polled by the plugin (its final result would
otherwise come from the job file, unmasked).  With ``poll: 0`` the job's result is
read later by ``async_status``, which this plugin never sees: the module's own masking
covers it, except for Ansible's argument errors.

Secrets that live only on the managed node (a ``config_file``, a keyring file)
never reach the controller's arguments; the modules mask those themselves and
never echo file content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible.plugins.action import ActionBase

MASK = '********'

# key names whose values are secrets, wherever they appear in a task's arguments
SECRET_KEY_RE = re.compile(
    r'(^|_)(password|passwd|passphrase|secret|token|credentials?|keyring|key)(_|$)', re.I)
# secret-looking names that hold no secret
NOT_SECRET_KEYS = frozenset((
    'rbd_secret_uuid',        # the libvirt secret's UUID, not the key
    'rbd_keyring_conf',       # a path
    'rbd_keyring_file',       # a path
    'secret_uuid', 'secret_type', 'key_size', 'sort_keys',
))
# in a module's result only these names count (a result's "token" or "key" may be data)
RESULT_SECRET_KEY_RE = re.compile(r'(^|_)(password|passwd|passphrase|secret|keyring)(_|$)', re.I)
KEYRING_KEY_RE = re.compile(r'^\s*key\s*=\s*(\S+)', re.M)


def is_secret_key(name, pattern=SECRET_KEY_RE):
    return (isinstance(name, str) and name not in NOT_SECRET_KEYS
            and pattern.search(name) is not None)


def _leaves(value, found):
    if isinstance(value, dict):
        for sub in value.values():
            _leaves(sub, found)
    elif isinstance(value, (list, tuple)):
        for sub in value:
            _leaves(sub, found)
    elif value is not None and not isinstance(value, bool) and str(value) != '':
        found.add(str(value))


def collect(value, found=None, pattern=SECRET_KEY_RE):
    """Every secret in ``value`` (task arguments, or a module result with
    ``pattern=RESULT_SECRET_KEY_RE``): a set of strings."""
    if found is None:
        found = set()
    if isinstance(value, dict):
        for key, sub in value.items():
            if is_secret_key(key, pattern):
                _leaves(sub, found)
                if isinstance(sub, str):
                    found.update(KEYRING_KEY_RE.findall(sub))
            else:
                collect(sub, found, pattern)
    elif isinstance(value, (list, tuple)):
        for sub in value:
            collect(sub, found, pattern)
    elif isinstance(value, str) and '[client.' in value:
        found.update(KEYRING_KEY_RE.findall(value))   # a keyring pasted into any string
    return found


def mask(value, secrets):
    """``value`` with every secret replaced by MASK (longest first), at any depth."""
    ordered = sorted((s for s in secrets if s), key=len, reverse=True)
    if not ordered:
        return value
    return _mask(value, ordered, frozenset(ordered))


def _mask(value, ordered, exact):
    if isinstance(value, dict):
        return dict((_mask(k, ordered, exact), _mask(v, ordered, exact)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_mask(v, ordered, exact) for v in value]
    if isinstance(value, str):
        for s in ordered:
            if s in value:
                value = value.replace(s, MASK)
        return value
    if value is not None and not isinstance(value, bool) and str(value) in exact:
        return MASK        # a secret given as a number
    return value


def masked_result(result, args, hide_success=False):
    """Mask the secrets of ``args`` and ``result`` in ``result`` (changed in place, returned).

    ``hide_success``: a successful result that carries a secret the caller needs
    (export's connection_info) is not rewritten but censored whole in the output
    (``_ansible_no_log``); the registered variable keeps it.
    """
    secrets = collect(args)
    collect(result, secrets, RESULT_SECRET_KEY_RE)
    if not secrets:
        return result
    if hide_success and not result.get('failed'):
        result['_ansible_no_log'] = True
        return result
    masked = mask(dict(result), secrets)
    result.clear()
    result.update(masked)
    return result


class MaskingAction(ActionBase):
    """``ansible.builtin.normal`` for one module, with every secret masked in its result.

    A plugin of this collection sets ``MODULE`` (the module's full name) and, for a
    module whose successful result must carry a secret, ``HIDE_SUCCESS``.
    """

    MODULE = None
    HIDE_SUCCESS = False
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()   # the module validates its own arguments
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(MaskingAction, self).run(tmp, task_vars)
        del tmp
        wrap_async = self._task.async_val and not self._connection.has_native_async
        args = dict(self._task.args)
        result.update(self._execute_module(module_name=self.MODULE, module_args=args,
                                           task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        elif self._task.poll > 0 and result.get('ansible_job_id') and not (
                result.get('failed') or result.get('skipped')):
            result = self._poll_async(result, task_vars)
        return masked_result(result, args, hide_success=self.HIDE_SUCCESS)

    def _poll_async(self, started, task_vars):
        """Poll an async job here, as Ansible's task executor would, so that its final
        result (an argument error echoes the arguments) is masked too; then tell the
        executor the job is already polled (its copy of the task: this host, this item)."""
        jid = started['ansible_job_id']
        async_dir = self._remote_expand_user(self.get_shell_option('async_dir', default='~/.ansible_async'))
        status = dict(started)
        time_left = self._task.async_val
        while time_left > 0:
            time.sleep(self._task.poll)
            time_left -= self._task.poll
            status = self._execute_module(module_name='ansible.legacy.async_status', task_vars=task_vars,
                                          module_args=dict(jid=jid, mode='status', _async_dir=async_dir))
            if status.get('finished') or (status.get('failed') and status.get('_ansible_parsed')):
                break
        self._task.poll = 0
        if status.get('finished'):
            self._execute_module(module_name='ansible.legacy.async_status', task_vars=task_vars,
                                 module_args=dict(jid=jid, mode='cleanup', _async_dir=async_dir))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        if not status.get('finished'):
            return dict(failed=True, ansible_job_id=jid, async_result=status,
                        msg='async task did not complete within the requested time - %ss'
                        % self._task.async_val)
        return status
