# -*- coding: utf-8 -*-
"""Project-wide pytest rules.

A skipped test proves nothing.  Every skip is printed loudly at the end of the
run, and the run FAILS when anything was skipped, unless CINDERKIT_ALLOW_SKIP
is set (to 1, or to a comma list of words that each skip reason must contain).
"""

import os

_SKIPS = []


def pytest_runtest_logreport(report):
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPS.append((report.nodeid, reason))


def _allowed(reason):
    allow = os.environ.get('CINDERKIT_ALLOW_SKIP', '')
    if allow in ('1', 'all', 'yes', 'true'):
        return True
    words = [w.strip() for w in allow.split(',') if w.strip()]
    return any(w in reason for w in words)


def pytest_terminal_summary(terminalreporter):
    if not _SKIPS:
        return
    tr = terminalreporter
    tr.section('NOT RUN - these tests proved nothing on this host', sep='!', red=True, bold=True)
    for nodeid, reason in _SKIPS:
        tag = 'allowed' if _allowed(reason) else 'NOT ALLOWED'
        tr.write_line('NOT RUN (%s): %s: %s' % (tag, nodeid, reason), red=True, bold=True)


def pytest_sessionfinish(session, exitstatus):
    if any(not _allowed(reason) for nodeid, reason in _SKIPS) and session.exitstatus == 0:
        session.exitstatus = 1
