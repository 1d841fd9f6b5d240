# -*- coding: utf-8 -*-
"""The controller-side masking every action plugin of the collection uses."""
from __future__ import absolute_import, division, print_function

import importlib
import os

from ansible_collections.cinderkit.storage.plugins.plugin_utils._masking import (
    MASK, MaskingAction, collect, mask, masked_result)

KEY = 'AQBzS0hjAAAAABAAl0NGfM1qGSUoO8SNWo1Nfw=='


def test_secret_named_arguments_at_any_depth():
    args = dict(backend=dict(volume_group='vg1', chap_password='pw-1', rbd_secret_uuid='uuid-1',
                             s3_secret_access_key='s3-1', rbd_client_key=KEY, api_token=99),
                auth=dict(username='alice', password='pw-2'),
                connection_info=dict(data=dict(auth_password='pw-3', target_iqn='iqn.x',
                                               keyring='[client.a]\n\tkey = %s\n' % KEY)))
    found = collect(args)
    assert {'pw-1', 's3-1', KEY, '99', 'pw-2', 'pw-3'} <= found
    assert not {'vg1', 'uuid-1', 'alice', 'iqn.x'} & found


def test_mask_replaces_everywhere_and_keeps_the_rest_readable():
    secrets = {'pw-1', '1234'}
    res = dict(msg='bad pw-1 here', invocation=dict(module_args=dict(
        backend=dict(chap_password='pw-1', port=1234, volume_group='vg1'))),
        listed=['pw-1', 'ok'], **{'pw-1': 'as a key'})
    out = mask(res, secrets)
    text = repr(out)
    assert 'pw-1' not in text and 'vg1' in text and 'ok' in text
    assert out['msg'] == 'bad %s here' % MASK
    assert out['invocation']['module_args']['backend']['port'] == MASK   # a number as a secret


def test_masked_result_hides_a_successful_export_whole():
    res = dict(changed=True, connection_info=dict(data=dict(auth_password='gen-1')))
    out = masked_result(dict(res), {}, hide_success=True)
    assert out['_ansible_no_log'] is True and out['connection_info']['data']['auth_password'] == 'gen-1'
    failed = masked_result(dict(res, failed=True, msg='gen-1 failed'), {}, hide_success=True)
    assert 'gen-1' not in repr(failed) and '_ansible_no_log' not in failed


def test_result_keys_count_only_when_clearly_secret():
    res = dict(volume=dict(name='db01', token='db01'), invocation=dict(module_args=dict(name='db01')))
    assert masked_result(dict(res), dict(name='db01')) == res


def test_every_module_runs_through_a_masking_action_plugin():
    """A new module without its action plugin would echo secrets on argument errors."""
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins')
    modules = sorted(f[:-3] for f in os.listdir(os.path.join(root, 'modules'))
                     if f.endswith('.py') and not f.startswith('_'))
    # the modules of this release, each with its masking action plugin
    assert len(modules) == 10, modules
    for name in modules:
        plugin = importlib.import_module('ansible_collections.cinderkit.storage.plugins.action.%s' % name)
        assert issubclass(plugin.ActionModule, MaskingAction), name
        assert plugin.ActionModule.MODULE == 'cinderkit.storage.%s' % name
        # only modules whose result must carry a secret for its user hide it whole
        assert plugin.ActionModule.HIDE_SUCCESS is (name in ('export', 'discovery_auth'))
