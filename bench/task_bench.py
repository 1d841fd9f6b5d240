# -*- coding: utf-8 -*-
"""Per-task overhead (issue 12, Build 3): one single-volume task against its floor.

Columns, measured interleaved in one run on one loop VG (tests/integration/support.py
``LoopVG``, activation off, as bench/lvm_bench.py):

  cinderkit   a playbook with one ``cinderkit.storage.volume`` task that creates one
              16 MiB volume (a new name each run)
  ping        a playbook with one ``ansible.builtin.ping`` task: Ansible's own floor
  raw         the LVM commands the task needs, run directly: one ``lvs`` report and one
              ``lvcreate``

The target is cinderkit <= 1.1 x (ping + raw).  Also printed: the AnsiballZ payload size
of each module and the module's import time on the managed node's Python (``-X importtime``,
from the extracted payload, so it includes compiling from the zip as Ansible does).

Knobs: BENCH_TASK_RUNS (default 7; 3 with BENCH_QUICK=1), BENCH_RESULTS.
"""

from __future__ import print_function

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lvm_bench  # noqa: E402
from lvm_bench import LoopVG, PYTHON, ROOT, VENV, ck_backend, ck_play, playbook  # noqa: E402

QUICK = os.environ.get('BENCH_QUICK') == '1'
RUNS = int(os.environ.get('BENCH_TASK_RUNS', '3' if QUICK else '7'))
RESULTS = os.environ.get('BENCH_RESULTS', os.path.join(HERE, 'results'))
MODULES = ('volume', 'snapshot', 'extend', 'export', 'manage_existing', 'attachment', 'backend_facts')


def _raw(vg, name):
    t0 = time.time()
    lvm_bench._lvm(vg, lvm_bench.LVS_Q + [vg.name])
    lvm_bench._lvm(vg, lvm_bench._create_argv(vg, name))
    return time.time() - t0


def payloads(workdir):
    """AnsiballZ payload bytes per module, and the volume module's import time from it."""
    coll = os.path.join(ROOT, '.build', 'collections')
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=coll)
    code = ('import sys, json\n'
            'from ansible.executor.module_common import modify_module\n'
            'from ansible.plugins.loader import module_loader, init_plugin_loader\n'
            'from ansible.template import Templar\n'
            'from ansible.parsing.dataloader import DataLoader\n'
            'init_plugin_loader()\n'
            'out = {}\n'
            'for m in sys.argv[1:]:\n'
            '    path = module_loader.find_plugin("cinderkit.storage." + m)\n'
            '    data = modify_module(module_name="cinderkit.storage." + m, module_path=path, module_args={},\n'
            '                         templar=Templar(loader=DataLoader()),\n'
            '                         task_vars={"ansible_python_interpreter": sys.executable})\n'
            '    out[m] = len(data.b_module_data)\n'
            'print(json.dumps(out))\n')
    proc = subprocess.run([os.path.join(VENV, 'bin', 'python'), '-c', code] + list(MODULES), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if proc.returncode != 0:
        return {'error': proc.stderr.strip().splitlines()[-1:]}
    import json
    return json.loads(proc.stdout)


def import_time():
    """Wall time of importing the volume module on the managed node's Python, best of 3."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, '.build', 'collections'), PYTHONDONTWRITEBYTECODE='1')
    best = None
    for _attempt in range(3):
        t0 = time.time()
        subprocess.run([PYTHON, '-B', '-c',
                        'import ansible_collections.cinderkit.storage.plugins.modules.volume'],
                       env=env, check=True)
        dt = time.time() - t0
        best = dt if best is None else min(best, dt)
    t0 = time.time()
    subprocess.run([PYTHON, '-B', '-c', 'import ansible.module_utils.basic'], env=env, check=True)
    return best, time.time() - t0


def main():
    load0 = os.getloadavg()
    rows = {'cinderkit': [], 'cinderkit task': [], 'ping': [], 'ping task': [], 'raw': []}
    with tempfile.TemporaryDirectory(prefix='ck-taskbench-') as workdir, LoopVG(size_gb=4, activation=False) as vg:
        coll = os.path.join(ROOT, '.build', 'collections')
        for i in range(RUNS):
            r = playbook(VENV, ck_play({'name': 'one', 'cinderkit.storage.volume':
                                        dict(backend=ck_backend(vg), name='tv%03d' % i, size='16M')}),
                         workdir, coll)
            if r['error'] or not r['result'].get('changed'):
                print('cinderkit run failed: %s' % (r['error'] or r['result']), file=sys.stderr)
                return 1
            rows['cinderkit'].append(r['wall'])
            rows['cinderkit task'].append(r['task'])
            r = playbook(VENV, ck_play({'name': 'ping', 'ansible.builtin.ping': {}}), workdir, coll)
            if r['error']:
                print('ping failed: %s' % r['error'], file=sys.stderr)
                return 1
            rows['ping'].append(r['wall'])
            rows['ping task'].append(r['task'])
            rows['raw'].append(_raw(vg, 'rv%03d' % i))
    load1 = os.getloadavg()
    med = {k: statistics.median(v) for k, v in rows.items()}
    floor = med['ping'] + med['raw']
    imp, basic = import_time()
    sizes = payloads(tempfile.gettempdir())
    lines = ['# One single-volume task against its floor', '',
             '- date: %s; medians of %d interleaved runs; one loop VG, activation off' % (
                 time.strftime('%Y-%m-%d %H:%M'), RUNS),
             '- load average at start: %.2f %.2f %.2f; at end: %.2f %.2f %.2f' % (load0 + load1),
             '- controller and managed node: the project venv, connection local, no pipelining',
             '',
             '| column | playbook | task |', '|---|---|---|',
             '| cinderkit: one `volume` task creating one LV | %.2f s | %.2f s |' % (
                 med['cinderkit'], med['cinderkit task']),
             '| ping: one `ansible.builtin.ping` task | %.2f s | %.2f s |' % (med['ping'], med['ping task']),
             '| raw: `lvs` + `lvcreate` | %.2f s | - |' % med['raw'],
             '| floor: ping + raw | %.2f s | %.2f s |' % (floor, med['ping task'] + med['raw']),
             '| cinderkit / floor (target <= 1.10x) | %.2fx | %.2fx |' % (
                 med['cinderkit'] / floor, med['cinderkit task'] / (med['ping task'] + med['raw'])),
             '',
             '- `import` of the volume module on the managed node\'s Python, no bytecode cache (best of 3): '
             '%.2f s, of which a bare `ansible.module_utils.basic` import takes %.2f s' % (imp, basic),
             '- AnsiballZ payload per module (bytes): %s' % ', '.join(
                 '%s %s' % (k, v) for k, v in sorted(sizes.items())),
             '']
    text = '\n'.join(lines)
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, 'task-latest.md'), 'w') as fh:
        fh.write(text)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    finally:  # lvm_bench makes its work directory when imported; this bench does not use it
        shutil.rmtree(lvm_bench.WORKDIR, ignore_errors=True)
