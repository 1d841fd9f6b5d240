# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stdout callback for the benchmark suite (not shipped in the collection).

ansible-core has no JSON stdout callback of its own (``json`` lives in
ansible.posix), so the bench brings this one: it prints ONE JSON document at
the end of the run with, per task, the controller-side task time (from
``v2_playbook_on_task_start`` to the host's final result, so it includes
AnsiballZ, the remote Python start and every loop item) and a compact result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r'''
name: cinderkit_bench
type: stdout
short_description: JSON task timings for cinderkit.storage's bench suite
description: Prints one JSON document with per-task controller-side durations and compact results.
'''

KEEP = ('changed', 'failed', 'msg', 'commands', 'ansible_facts', 'skipped', 'unreachable')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'cinderkit_bench'

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.tasks = []
        self.t_start = time.time()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.tasks.append(dict(name=task.get_name(), start=time.time(), end=None, hosts={}))

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _record(self, result, status):
        if not self.tasks:
            return
        t = self.tasks[-1]
        t['end'] = time.time()
        raw = result._result
        rec = dict((k, raw[k]) for k in KEEP if k in raw)
        rec['status'] = status
        if isinstance(raw.get('volumes'), list):
            rec['items'] = len(raw['volumes'])
            rec['items_changed'] = sum(1 for v in raw['volumes'] if v.get('changed'))
        if isinstance(raw.get('results'), list):     # a loop
            rec['items'] = len(raw['results'])
            rec['items_changed'] = sum(1 for r in raw['results'] if r.get('changed'))
            rec['items_failed'] = sum(1 for r in raw['results'] if r.get('failed'))
            bad = [r.get('msg') for r in raw['results'] if r.get('failed')]
            if bad:
                rec['msg'] = bad[0]
        t['hosts'][result._host.get_name()] = rec

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        for t in self.tasks:
            t['duration'] = round((t['end'] or time.time()) - t['start'], 4)
        doc = dict(tasks=self.tasks, playbook_seconds=round(time.time() - self.t_start, 4))
        self._display.display(json.dumps(doc))
