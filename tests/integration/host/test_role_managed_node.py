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


def role(method, **extra):
    v = dict(managed_node_method=method)
    v.update(extra)
    return [{'ansible.builtin.include_role': {'name': 'cinderkit.storage.managed_node'}, 'vars': v}]


def dpkg_installed(*names):
    out = subprocess.run(['dpkg-query', '-W', '-f', '${Package} ${db:Status-Status}\\n'] + list(names),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True,
                         check=False).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.endswith(' installed'))


def test_managed_node_distro_method_on_debian(play, need):
    """The Debian packages of roles/managed_node/vars/main.yml install (apt) and give
    /usr/bin/python3 the modules' imports; bindep.txt lists them (tests/unit/test_bindep.py)."""
    need('apt-get', 'dpkg-query')
    facts = {'ansible_facts': {'os_family': 'Debian', 'pkg_mgr': 'apt'}}
    res = play.run(role('distro'), vars=facts)
    assert not [r for r in res if r['_status'] == 'failed'], [r.get('msg') for r in res]
    assert dpkg_installed('python3-oslo.config', 'python3-os-brick') == [
        'python3-os-brick', 'python3-oslo.config']
    facts_set = [r['ansible_facts']['managed_node_python_interpreter'] for r in res
                 if 'managed_node_python_interpreter' in r.get('ansible_facts', {})]
    assert facts_set == ['/usr/bin/python3']
    out = subprocess.run(['/usr/bin/python3', '-c', 'import oslo_config.cfg, os_brick; print("ok")'],
                         stdout=subprocess.PIPE, universal_newlines=True, check=False)
    assert out.stdout.strip() == 'ok'
    again = play.run(role('distro'), vars=facts)
    assert not any(r.get('changed') for r in again), [r.get('_task') for r in again if r.get('changed')]


def test_managed_node_distro_method_refuses_an_unknown_family(play):
    res = play.run(role('distro'), vars={'ansible_facts': {'os_family': 'Suse', 'pkg_mgr': 'zypper'}})
    failed = [r for r in res if r['_status'] == 'failed']
    assert failed and 'not of os_family Suse' in failed[0].get('msg', ''), res
    assert 'use managed_node_method venv' in failed[0]['msg']
    assert not any(r.get('changed') for r in res)
