# -*- coding: utf-8 -*-
"""The module wrapper's account of a task: ``commands`` and, for in-process changes (librbd
calls, the file driver's files), ``writes``; on success and on a failure after a change."""
from __future__ import absolute_import, division, print_function

import json

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import CinderkitError
from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner


class _Exit(Exception):
    pass


class _AnsibleModule(object):
    """AnsibleModule's exits as the wrapper calls them: record the result, then stop."""

    def __init__(self):
        self.no_log_values = set()
        self.result = None

    def exit_json(self, **res):
        self.result = res
        raise _Exit()

    def fail_json(self, msg, **res):
        self.result = dict(res, failed=True, msg=msg)
        raise _Exit()

    def warn(self, text):
        pass


def _result(fn, check=False):
    """The wrapper around no options (its argument parsing is Ansible's), with a real
    CommandRunner: run ``fn(m)`` through its one exit; the result it gave."""
    m = CinderkitModule.__new__(CinderkitModule)
    m.module, m.check_mode, m.warnings, m._backend = _AnsibleModule(), check, [], None
    m.runner = CommandRunner(check_mode=check)
    try:
        m.run(fn)
    except _Exit:
        return json.loads(json.dumps(m.module.result))
    raise AssertionError('the wrapper did not exit')


def test_a_failure_after_an_in_process_write_says_what_was_done():
    def fn(m):
        m.runner.note_write('created /srv/vols/a')
        raise CinderkitError('the second step failed')
    res = _result(fn)
    assert res['failed'] and res['msg'] == 'the second step failed'
    assert res['changed'] is True
    assert res['writes'] == ['created /srv/vols/a']
    assert res['commands'] == []


def test_success_reports_the_writes_in_order():
    def fn(m):
        m.runner.note_write('created /srv/vols/a')
        m.runner.note_write('grew /srv/vols/a to 16777216 bytes')
        return dict(changed=True)
    res = _result(fn)
    assert not res.get('failed')
    assert res['writes'] == ['created /srv/vols/a', 'grew /srv/vols/a to 16777216 bytes']


def test_no_write_no_key_and_check_mode_records_none():
    assert 'writes' not in _result(lambda m: dict(changed=False))

    def fn(m):
        m.runner.note_write('created /srv/vols/a')      # check mode: nothing was written
        return dict(changed=True)
    res = _result(fn, check=True)
    assert 'writes' not in res


def test_a_secret_in_a_write_is_redacted():
    secret = 'Zq8pW3nLx0VbT6yR'

    def fn(m):
        m.add_secret(secret)
        m.runner.note_write('keyring for client.x with key %s' % secret)
        raise CinderkitError('later step failed')
    res = _result(fn)
    assert secret not in json.dumps(res)
    assert res['writes'] and 'keyring for client.x' in res['writes'][0]


def test_an_internal_error_after_a_change_says_changed_and_what_was_done():
    def fn(m):
        m.runner.note_write('created /srv/vols/a')
        raise KeyError('a bug')
    res = _result(fn)
    assert res['failed'] and res['msg'].startswith('internal error in cinderkit.storage: KeyError')
    assert res['changed'] is True and res['writes'] == ['created /srv/vols/a']
    assert 'Traceback' in res['exception']
