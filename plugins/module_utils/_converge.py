# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one converge loop: plan -> apply (skipped in check mode) -> result -> diff.

Every module hands the wrapper a ``Task`` (``CinderkitModule.converge``).  The
loop is the only place that decides whether to apply, so check mode and the
real run report the same plan by construction: ``result`` and ``diff`` read the
plan, and only ``apply`` writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib


class Task(object):
    """What one module does, in the loop's steps.  Subclasses fill in the steps.

    * ``plan()``: read the backend (one query) and decide; raise before any change.
    * ``changed()``: whether the plan changes anything.
    * ``apply()``: carry the plan out (the real run only).
    * ``preview()``: the read-only checks the real run would meet first (check mode only).
    * ``result(changed)``: the task's result keys (the loop adds ``changed``).
    * ``diff()``: before/after for diff mode, when something changes.
    * ``lock()``: a context held from ``plan`` to ``result`` (a host lock, or none).
    * ``cleanup()``: always last, success or not (staging files).
    """

    def __init__(self, m):
        self.m = m
        self.params = m.params
        self.check_mode = m.check_mode

    @property
    def backend(self):
        return self.m.backend

    @property
    def driver(self):
        return self.m.backend.driver

    def lock(self):
        return _nothing()

    def plan(self):
        raise NotImplementedError

    def changed(self):
        raise NotImplementedError

    def apply(self):
        raise NotImplementedError

    def preview(self):
        return None

    def result(self, changed):
        raise NotImplementedError

    def diff(self):
        return None

    def cleanup(self):
        return None


@contextlib.contextmanager
def _nothing():
    yield None


def converge(m, task):
    """Run ``task`` through the loop; the module's result dict."""
    try:
        with task.lock():
            task.plan()
            changed = bool(task.changed())
            if changed and not m.check_mode:
                task.apply()
            elif changed:
                task.preview()
            result = task.result(changed)
        result.setdefault('changed', changed)
        if m.diff_mode and changed:
            diff = task.diff()
            if diff is not None:
                result['diff'] = diff
        return result
    finally:
        task.cleanup()
