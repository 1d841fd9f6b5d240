# -*- coding: utf-8 -*-
"""Deferred imports (module_utils/_lazy.py): oslo.config's rfc3986, netaddr and stevedore run
only when first used, and a deferred module is the real module once used.

Each case runs in a fresh interpreter (the test process has these modules imported already).
The negative control imports the same probe package without ``defer``: its code runs at the
import statement, so the checks below would see it.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import textwrap

import pytest

PKG = 'ansible_collections.cinderkit.storage.plugins.module_utils.'


def _run(tmp_path, code):
    """Run ``code`` in a fresh interpreter with a probe package ``ckprobe`` on its path; the
    package appends to the file ``ran`` each time one of its modules executes."""
    pkg = tmp_path / 'ckprobe'
    if not pkg.exists():
        pkg.mkdir()
        ran = str(tmp_path / 'ran')
        (pkg / '__init__.py').write_text(textwrap.dedent('''
            open(%r, 'a').write('pkg\\n')
            from ckprobe import sub
            VALUE = 42
            def double(x):
                return 2 * x
        ''' % ran))
        (pkg / 'sub.py').write_text("open(%r, 'a').write('sub\\n')\nNAME = 'sub'\n" % ran)
        (pkg / 'extra.py').write_text("open(%r, 'a').write('extra\\n')\nNAME = 'extra'\n" % ran)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path)] + [p for p in sys.path if p]))
    out = subprocess.check_output([sys.executable, '-c', textwrap.dedent(code)],
                                  universal_newlines=True, env=env, cwd=str(tmp_path))
    ran_file = tmp_path / 'ran'
    ran_lines = ran_file.read_text().split() if ran_file.exists() else []
    if ran_file.exists():
        ran_file.unlink()
    return json.loads(out.strip().splitlines()[-1]), ran_lines


def test_a_deferred_module_runs_on_first_use_and_is_then_the_real_module(tmp_path):
    got, ran = _run(tmp_path, '''
        import json, os, sys
        from %s_lazy import defer
        steps = {'deferred': defer('ckprobe')}
        import ckprobe                      # the import statement itself loads nothing
        import ckprobe as again
        steps['after_import'] = open('ran').read().split() if os.path.exists('ran') else []
        steps['value'] = ckprobe.VALUE      # first use: the package runs, once
        steps['double'] = ckprobe.double(4)
        steps['sub'] = ckprobe.sub.NAME
        import ckprobe.extra                # a submodule of a deferred package
        steps['extra'] = ckprobe.extra.NAME
        steps['real_in_sys_modules'] = type(sys.modules['ckprobe']).__name__
        steps['same_functions'] = again.double is sys.modules['ckprobe'].double
        print(json.dumps(steps))
    ''' % PKG)
    assert got['deferred'] == ['ckprobe']
    assert got['after_import'] == []
    assert got['value'] == 42 and got['double'] == 8 and got['sub'] == 'sub'
    assert got['extra'] == 'extra'
    assert got['real_in_sys_modules'] == 'module' and got['same_functions'] is True
    assert ran == ['pkg', 'sub', 'extra']                      # each module ran exactly once


def test_negative_control_without_defer_the_import_statement_runs_the_module(tmp_path):
    got, ran = _run(tmp_path, '''
        import json, os
        import ckprobe
        print(json.dumps({'after_import': open('ran').read().split()}))
    ''')
    assert got['after_import'] == ['pkg', 'sub']
    assert ran == ['pkg', 'sub']


def test_missing_or_already_imported_modules_are_left_alone(tmp_path):
    got, _ran = _run(tmp_path, '''
        import json, sys
        import ckprobe
        real = sys.modules['ckprobe']
        from %s_lazy import defer
        done = defer('ckprobe', 'ck_no_such_module', 'ckprobe.sub')
        try:
            import ck_no_such_module  # noqa: F401
            missing = 'imported'
        except ImportError:
            missing = 'ImportError'
        print(json.dumps({'done': done, 'kept': sys.modules['ckprobe'] is real, 'missing': missing}))
    ''' % PKG)
    assert got == {'done': [], 'kept': True, 'missing': 'ImportError'}


def test_options_import_leaves_oslos_rarely_used_dependencies_unloaded_until_used(tmp_path):
    got, _ran = _run(tmp_path, '''
        import json, sys
        from %s_options import load_raw  # noqa: F401  (imports oslo.config)
        from oslo_config import types
        kinds = dict((n, type(sys.modules[n]).__name__) for n in ('rfc3986', 'netaddr', 'stevedore'))
        checked = {'uri': types.URI()('http://example.com/a'), 'host': types.HostAddress()('192.0.2.7')}
        try:
            types.IPAddress()('not-an-address')
            checked['bad_ip'] = 'accepted'
        except ValueError:
            checked['bad_ip'] = 'refused'
        after = dict((n, type(sys.modules[n]).__name__) for n in ('rfc3986', 'netaddr'))
        print(json.dumps({'before': kinds, 'checked': checked, 'after': after}))
    ''' % PKG)
    assert got['before'] == {'rfc3986': '_Deferred', 'netaddr': '_Deferred', 'stevedore': '_Deferred'}
    assert got['checked'] == {'uri': 'http://example.com/a', 'host': '192.0.2.7', 'bad_ip': 'refused'}
    assert got['after'] == {'rfc3986': 'module', 'netaddr': 'module'}


_NESTED = '''
    import json, sys, threading
    from %s_lazy import defer
    import %s_lazy as lazy
    if sys.argv[1:] == ['plain-lock']:
        lazy._LOCK = threading.Lock()       # the negative control: what a plain Lock would do
    defer('ckouter', 'ckinner')
    import ckouter
    print(json.dumps({'value': ckouter.VALUE}))
''' % (PKG, PKG)


def _nested(tmp_path, *args):
    """ckouter's code reads ckinner (deferred too) while ckouter's real import runs."""
    (tmp_path / 'ckouter.py').write_text('import ckinner\nVALUE = ckinner.VALUE + 1\n')
    (tmp_path / 'ckinner.py').write_text('VALUE = 41\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path)] + [p for p in sys.path if p]))
    return subprocess.run([sys.executable, '-c', textwrap.dedent(_NESTED)] + list(args), env=env,
                          cwd=str(tmp_path), stdout=subprocess.PIPE, universal_newlines=True,
                          timeout=20 if not args else 3, check=False)


def test_a_deferred_module_whose_import_reads_another_deferred_module_loads_both(tmp_path):
    proc = _nested(tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout.splitlines()[-1]) == {'value': 42}


def test_negative_control_a_plain_lock_deadlocks_on_the_nested_load(tmp_path):
    with pytest.raises(subprocess.TimeoutExpired):
        _nested(tmp_path, 'plain-lock')
