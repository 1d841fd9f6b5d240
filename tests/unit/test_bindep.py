# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bindep.txt lists every distribution package the managed_node role installs, under the
platform of the distribution it installs it on (RedHat: rpm, Debian: dpkg)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FAMILY_PLATFORM = {'Debian': 'dpkg', 'RedHat': 'rpm'}


def bindep_entries(text):
    """[(name, tags)] of bindep's format: ``name [tag platform:x !platform:y]``."""
    out = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        m = re.match(r'^(\S+)\s*(?:\[([^\]]*)\])?\s*$', line)
        assert m, 'not a bindep line: %r' % line
        out.append((m.group(1), (m.group(2) or '').split()))
    return out


def on_platform(tags, platform):
    """Whether bindep installs an entry with ``tags`` on ``platform`` (dpkg, rpm)."""
    plats = [t[len('platform:'):] for t in tags if t.startswith('platform:')]
    nots = [t[len('!platform:'):] for t in tags if t.startswith('!platform:')]
    return platform not in nots and (not plats or platform in plats)


def missing(bindep_text, packages_by_family):
    """[(family, package)] the role installs that bindep does not list for that platform."""
    entries = bindep_entries(bindep_text)
    gaps = []
    for family, names in sorted(packages_by_family.items()):
        platform = FAMILY_PLATFORM[family]
        for name in sorted(names):
            if not any(n == name and on_platform(tags, platform) for n, tags in entries):
                gaps.append((family, name))
    return gaps


def role_packages():
    with open(os.path.join(ROOT, 'roles', 'managed_node', 'vars', 'main.yml')) as fh:
        v = yaml.safe_load(fh)
    out = {}
    for family, names in v['managed_node_distro_packages'].items():
        out.setdefault(family, set()).update(names.values())
    for family, name in v['managed_node_venv_packages'].items():
        out.setdefault(family, set()).add(name)
    return out


def read_bindep():
    with open(os.path.join(ROOT, 'bindep.txt')) as fh:
        return fh.read()


def test_every_package_of_the_managed_node_role_is_in_bindep_for_its_platform():
    pkgs = role_packages()
    assert set(pkgs) == {'Debian', 'RedHat'}
    assert 'python3-oslo-config' in pkgs['RedHat'] and 'python3-oslo.config' in pkgs['Debian']
    # python3 (RedHat's venv module) is the interpreter itself: bindep need not name it
    pkgs['RedHat'].discard('python3')
    assert missing(read_bindep(), pkgs) == []


def test_negative_control_a_missing_or_wrong_platform_entry_is_found():
    text = read_bindep()
    pkgs = {'RedHat': {'python3-oslo-config'}, 'Debian': {'python3-oslo.config'}}
    dropped = '\n'.join(l for l in text.splitlines() if not l.startswith('python3-oslo-config '))
    assert missing(dropped, pkgs) == [('RedHat', 'python3-oslo-config')]
    # a Debian-only entry does not serve RHEL
    wrong = text.replace('python3-oslo-config [platform:rpm managed]',
                         'python3-oslo-config [platform:dpkg managed]')
    assert missing(wrong, pkgs) == [('RedHat', 'python3-oslo-config')]


def test_platform_tags_of_the_thin_tools():
    entries = dict(bindep_entries(read_bindep()))
    assert on_platform(entries['thin-provisioning-tools'], 'dpkg')
    assert not on_platform(entries['thin-provisioning-tools'], 'rpm')
    assert on_platform(entries['device-mapper-persistent-data'], 'rpm')
    assert not on_platform(entries['device-mapper-persistent-data'], 'dpkg')
    assert on_platform([], 'rpm') and not on_platform(['!platform:rpm'], 'rpm')
