# -*- coding: utf-8 -*-
"""Host tier: the managed_node role gives a Python the modules' imports."""

import os
import subprocess


def test_managed_node_venv_method(play, tmp_path):
    venv = str(tmp_path / 'venv')
    res = play.run([{'ansible.builtin.include_role': {'name': 'cinderkit.storage.managed_node'},
                     'vars': {'managed_node_method': 'venv', 'managed_node_venv': venv,
                              'managed_node_os_brick': False}}],
                   vars={'ansible_facts': {'os_family': 'Debian'}})
    assert not [r for r in res if r['_status'] == 'failed'], [r.get('msg') for r in res]
    py = os.path.join(venv, 'bin', 'python')
    out = subprocess.run([py, '-c', 'import oslo_config.cfg; print("ok")'], stdout=subprocess.PIPE,
                         universal_newlines=True, check=False)
    assert out.stdout.strip() == 'ok'
    facts = [r for r in res if 'ansible_facts' in r and 'managed_node_python_interpreter' in r['ansible_facts']]
    assert facts and facts[0]['ansible_facts']['managed_node_python_interpreter'] == py
    # a second run changes nothing
    again = play.run([{'ansible.builtin.include_role': {'name': 'cinderkit.storage.managed_node'},
                       'vars': {'managed_node_method': 'venv', 'managed_node_venv': venv,
                                'managed_node_os_brick': False}}],
                     vars={'ansible_facts': {'os_family': 'Debian'}})
    assert not any(r.get('changed') for r in again), [r.get('_task') for r in again if r.get('changed')]
