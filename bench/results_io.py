# -*- coding: utf-8 -*-
"""Where a benchmark's markdown table goes: $BENCH_OUT (a guest's shared out directory) or
bench/results/, as NAME-<date>-<time>.md and NAME-latest.md."""

import datetime
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def save_table(name, table):
    out = os.environ.get('BENCH_OUT') or os.path.join(HERE, 'results')
    os.makedirs(out, exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y-%m-%d-%H%M')
    for fname in ('%s-%s.md' % (name, stamp), '%s-latest.md' % name):
        with open(os.path.join(out, fname), 'w') as fh:
            fh.write(table)
