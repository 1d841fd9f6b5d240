# -*- coding: utf-8 -*-
"""Test-only callback: append every task result as one JSON line to $CK_RESULTS_FILE."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: ck_results
type: aggregate
short_description: write task results as JSON lines (tests only)
description: Writes each task result to the file named by CK_RESULTS_FILE.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'ck_results'
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, result, status):
        path = os.environ.get('CK_RESULTS_FILE')
        if not path:
            return
        data = dict(result._result)
        data['_status'] = status
        data['_task'] = result._task.get_name()
        with open(path, 'a') as fh:
            fh.write(json.dumps(data, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._write(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._write(result, 'skipped')
