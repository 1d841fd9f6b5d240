# -*- coding: utf-8 -*-
"""The layer rules, read from every import in plugins/ (also the ones inside functions).

module -> planner -> Backend -> driver / target helper -> lower core.  A driver or a target
helper (a file of drivers/ or targets/ that registers one) imports only the lower core and
its own package's support files (``_base.py``, a helper's own formats); it never imports
another driver or helper, nor anything of the other package.
"""

from __future__ import absolute_import, division, print_function

import ast
import os

import pytest

PLUGINS = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                                        'plugins'))
PREFIX = 'ansible_collections.cinderkit.storage.plugins.'

# what drivers and target helpers may use: no planner, no wrapper, no Backend
LOWER_CORE = frozenset('module_utils.%s' % m for m in (
    '_errors', '_runner', '_options', '_sizes', '_copy', '_paginate', '_backing', '_locks',
    '_inuse', '_lvm', '_lvm_shell', '_paths', '_files', '_record', '_fetch', '_dhchap', '_lazy'))
PACKAGES = ('drivers', 'targets')
REGISTERS = ('@register(', '@register_target(')


def _module_name(path):
    rel = os.path.relpath(path, PLUGINS)[:-3].replace(os.sep, '.')
    return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def _resolve(name):
    """'module_utils._copy' for a module, or the package for a name imported from it."""
    path = os.path.join(PLUGINS, *name.split('.'))
    return name if (os.path.isfile(path + '.py') or os.path.isdir(path)) else name.rsplit('.', 1)[0]


def imports_of(path):
    with open(path) as fh:
        tree = ast.parse(fh.read(), path)
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PREFIX):
            base = node.module[len(PREFIX):]
            for alias in node.names:
                out.add(_resolve('%s.%s' % (base, alias.name)))
        elif isinstance(node, ast.Import):
            out.update(_resolve(a.name[len(PREFIX):]) for a in node.names if a.name.startswith(PREFIX))
    return out


def edges():
    out = {}
    for top, dirs, files in os.walk(PLUGINS):
        for f in files:
            if f.endswith('.py'):
                path = os.path.join(top, f)
                out[_module_name(path)] = imports_of(path)
    return out


def registered():
    """The modules of drivers/ and targets/ that register a driver or a helper."""
    out = set()
    for pkg in PACKAGES:
        d = os.path.join(PLUGINS, 'module_utils', pkg)
        for f in os.listdir(d):
            if f.endswith('.py') and f not in ('__init__.py', '_base.py'):   # _base: the registry
                with open(os.path.join(d, f)) as fh:
                    text = fh.read()
                if any(r in text for r in REGISTERS):
                    out.add('module_utils.%s.%s' % (pkg, f[:-3]))
    return out


def layer_problems(graph, plugins=None):
    """['a -> b: why', ...] for every import that breaks a rule."""
    plugins = registered() if plugins is None else plugins
    problems = []
    for mod, targets in sorted(graph.items()):
        parts = mod.split('.')
        for t in sorted(targets):
            why = None
            if len(parts) == 3 and parts[1] in PACKAGES:     # a driver, a helper, or their support
                pkg = parts[1]
                own = 'module_utils.%s' % pkg
                if mod in plugins and t in plugins:
                    why = 'one %s imports another' % pkg[:-1]
                elif t.startswith('module_utils.') and not t.startswith(own) and t not in LOWER_CORE:
                    why = 'a %s may import only the lower core (%s)' % (
                        pkg[:-1], ', '.join(sorted(x.split('.')[-1] for x in LOWER_CORE)))
            elif mod in LOWER_CORE and t.startswith('module_utils.') and t not in LOWER_CORE:
                why = 'the lower core imports nothing above it'
            elif parts[0] == 'modules' and (t.startswith('module_utils.drivers')
                                            or t.startswith('module_utils.targets')):
                why = 'a module reaches drivers and targets through its Backend'
            if why:
                problems.append('%s -> %s: %s' % (mod, t, why))
    return problems


def test_the_imports_keep_the_layers():
    graph = edges()
    assert 'module_utils.drivers._lvm' in graph and 'module_utils.targets._nvmet' in graph
    assert set(['module_utils.drivers._file', 'module_utils.targets._tgtadm']) <= registered()
    assert 'module_utils.targets._tgt_formats' not in registered()
    assert layer_problems(graph) == []


@pytest.mark.parametrize('mod,target,word', [
    ('module_utils.drivers._rbd', 'module_utils.drivers._lvm', 'one driver imports another'),
    ('module_utils.drivers._lvm', 'module_utils.targets._base', 'lower core'),
    ('module_utils.targets._nvmet', 'module_utils.targets._lioadm', 'one target imports another'),
    ('module_utils.targets._tgtadm', 'module_utils._module', 'lower core'),
    ('module_utils._copy', 'module_utils._volumes', 'nothing above it'),
    ('modules.volume', 'module_utils.drivers', 'through its Backend'),
])
def test_each_rule_catches_its_breach(mod, target, word):
    """The negative control: the edges the first round had (and others) are caught."""
    graph = edges()
    graph[mod] = set(graph.get(mod, ())) | set([target])
    problems = layer_problems(graph)
    assert any(p.startswith('%s -> %s' % (mod, target)) and word in p for p in problems), problems
