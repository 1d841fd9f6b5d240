# -*- coding: utf-8 -*-
"""The module wrapper's account of a task: ``commands`` and, for in-process changes (librbd
calls, the file driver's files), ``writes``; on success and on a failure after a change."""
from __future__ import absolute_import, division, print_function

import contextlib
import io
import json

import pytest

from ansible.module_utils import basic

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import CinderkitError
from ansible_collections.cinderkit.storage.plugins.module_utils._module import CinderkitModule


def _result(fn, check=False):
    """Build the wrapper around no options, run ``fn(m)`` through its one exit, and return the
    JSON it printed."""
    payload = dict(_ansible_check_mode=check, _ansible_verbosity=0)
    try:
        from ansible.module_utils.testing import patch_module_args
        ctx = patch_module_args(payload)
    except ImportError:  # ansible-core < 2.19
        basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode()
        ctx = contextlib.nullcontext()
    out = io.StringIO()
    with ctx, contextlib.redirect_stdout(out):
        m = CinderkitModule({}, with_backend=False)
        with pytest.raises(SystemExit):
            m.run(fn)
    text = out.getvalue()
    return json.loads(text[text.index('{'):])


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
