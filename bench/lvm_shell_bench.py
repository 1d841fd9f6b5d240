# -*- coding: utf-8 -*-
"""A task's LVM commands in one ``lvm`` shell against one process per command (issue 12).

Runs where device-mapper is (bench/lvm_shell.sh starts it in the test VM here, where starting
LVM is most of an LVM command's cost).  One volume's life, each step one module call in this
process, on two loop VGs that differ only in whether their LVM_SYSTEM_DIR has LVM's
``lvmdbusd`` command profile (with it, the modules run their LVM commands in one shell per
task, plugins/module_utils/_lvm_shell.py; without it, one process per command, as before).
The two kinds of run alternate; medians of BENCH_RUNS (default 3).  Also in the same run, the
floor: the same step's LVM commands typed as processes (raw).  Prints a markdown table and
writes it to $BENCH_OUT (default bench/results/).
"""

import datetime
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))

from support import LoopVG, run_module  # noqa: E402
from results_io import save_table  # noqa: E402

RUNS = int(os.environ.get('BENCH_RUNS', '3'))
STEPS = (
    ('create a 16 MiB volume', 'volume', dict(name='v1', size='16M')),
    ('re-run it (no change)', 'volume', dict(name='v1', size='16M')),
    ('snapshot it', 'snapshot', dict(volume='v1', name='s1')),
    ('clone the snapshot', 'volume', dict(name='v2', source=dict(snapshot='s1'))),
    ('extend the clone', 'extend', dict(name='v2', size='32M')),
    ('delete the snapshot', 'snapshot', dict(volume='v1', name='s1', state='absent')),
    ('delete the clone', 'volume', dict(name='v2', state='absent')),
    ('delete the volume', 'volume', dict(name='v1', state='absent')),
)


def life(shell):
    vg = LoopVG(size_gb=2, activation=True, shell_profile=shell)
    try:
        b = vg.backend(lvm_type='default', volume_clear='none')
        secs = []
        for _label, module, args in STEPS:
            t0 = time.time()
            r = run_module(module, dict(args, backend=b))
            secs.append(time.time() - t0)
            if r.get('failed'):
                raise AssertionError('%s: %s' % (module, r.get('msg')))
        # the floor: what the create and delete steps run, typed as processes
        t0 = time.time()
        vg.lvm(['lvs', vg.name])
        vg.lvm(['lvcreate', '--yes', '-n', 'raw', '-L', '16m', vg.name])
        raw_create = time.time() - t0
        t0 = time.time()
        vg.lvm(['lvs', vg.name])
        vg.lvm(['lvremove', '--yes', '%s/raw' % vg.name])
        raw_delete = time.time() - t0
        return secs, raw_create, raw_delete
    finally:
        vg.close()


def main():
    run_module('backend_facts', dict(backend=dict(volume_driver='lvm', volume_group='ck-none')))  # imports
    runs = {True: [], False: []}
    raws = []
    for _run in range(RUNS):
        for shell in (False, True):
            secs, rc, rd = life(shell)
            runs[shell].append(secs)
            raws.append((rc, rd))
    med = statistics.median
    rows = []
    for i, (label, _m, _a) in enumerate(STEPS):
        rows.append((label, med([r[i] for r in runs[False]]), med([r[i] for r in runs[True]])))
    total_p = med([sum(r) for r in runs[False]])
    total_s = med([sum(r) for r in runs[True]])
    now = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    where = os.environ.get('BENCH_WHERE', 'this host')
    lines = ['# One volume\'s life: LVM commands in one `lvm` shell per task vs one process each', '',
             '%s, %s, %s, Python %s, load average %s; medians of %d runs, the two kinds alternating.'
             % (now, where, platform.machine(), platform.python_version(),
                ' '.join(open('/proc/loadavg').read().split()[:3]), RUNS), '',
             '| step (one module call) | processes, s | lvm shell, s | shell / processes |',
             '|---|---|---|---|']
    for label, p, s in rows:
        lines.append('| %s | %.2f | %.2f | %.2fx |' % (label, p, s, s / p))
    lines.append('| **all eight** | **%.2f** | **%.2f** | **%.2fx** |' % (total_p, total_s, total_s / total_p))
    lines += ['', 'Floor in the same run (raw LVM commands as processes): `lvs` + `lvcreate` %.2f s, '
              '`lvs` + `lvremove` %.2f s.' % (med([r[0] for r in raws]), med([r[1] for r in raws])), '']
    table = '\n'.join(lines)
    print(table)
    save_table('lvm-shell', table)


if __name__ == '__main__':
    sys.exit(main())
