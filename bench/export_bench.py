# -*- coding: utf-8 -*-
"""Exports in bulk with tgtadm (issue 6): N exports converge in one task, a re-run
changes nothing, one task removes them; against raw tgtadm commands, in one run.

A private tgtd (own control port and portal) serves N file-backed LUNs.  Columns:

* cinderkit: one ``cinderkit.storage.export`` task with ``volumes:`` (CHAP generated per
  export, ACL of one initiator, include files under volumes_dir), through ansible-playbook;
  the count of target-state queries (``tgtadm --op show --mode target``) from the result;
* raw tgtadm: the same targets made with one tgtadm process per step (new target, LUN,
  account, bind account, bind initiator), no CHAP files, no persistence - a floor.

Medians of BENCH_RUNS (3) runs.  Prints a markdown table; writes bench/results/export-*.md.
"""

import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from support import Play  # noqa: E402
from export_support import GOOD_IQN, TgtDaemon, backing_file  # noqa: E402

N = int(os.environ.get('BENCH_EXPORTS', '20' if os.environ.get('BENCH_QUICK') else '200'))
RUNS = int(os.environ.get('BENCH_RUNS', '3'))


def cinderkit_run(tgtd, files, workdir):
    backend = dict(tgt_control_port=tgtd.control, target_port=tgtd.port, target_ip_address='127.0.0.1',
                   volumes_dir=os.path.join(workdir, 'volumes'))
    vols = [dict(volume=name, device_path=path) for name, path in files]
    play = Play(workdir)
    out = {}
    for scen, args in (('create', dict(volumes=vols, connector=dict(initiator=GOOD_IQN))),
                       ('rerun', dict(volumes=vols, connector=dict(initiator=GOOD_IQN))),
                       ('delete', dict(volumes=[dict(volume=v['volume']) for v in vols], state='absent'))):
        t0 = time.time()
        # the export result is censored in callbacks (it holds CHAP secrets): read the
        # registered variable through a debug task
        res = play.run([{'cinderkit.storage.export': dict(backend=backend, **args), 'register': 'r'},
                        {'ansible.builtin.debug': {'msg': {
                            'commands': '{{ r.commands }}',
                            'changed': "{{ r.exports | selectattr('changed') | list | length }}"}}}])
        secs = time.time() - t0
        task = res[0]
        if task.get('failed') or task.get('_status') == 'failed':
            raise RuntimeError('%s failed: %s' % (scen, task.get('msg')))
        cmds = res[1]['msg']['commands']
        changed = int(res[1]['msg']['changed'])
        out[scen] = dict(wall=secs, queries=sum(1 for c in cmds if '--op show --mode target' in c),
                         commands=len(cmds), changed=changed)
    return out


def raw_run(tgtd, files):
    def adm(*args):
        subprocess.run(['tgtadm', '-C', str(tgtd.control), '--lld', 'iscsi'] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    for tid, (name, path) in enumerate(files, 1):
        adm('--op', 'new', '--mode', 'target', '--tid', str(tid), '-T', 'iqn.2010-10.org.openstack:raw-%s' % name)
        adm('--op', 'new', '--mode', 'logicalunit', '--tid', str(tid), '--lun', '1', '-b', path)
        adm('--op', 'new', '--mode', 'account', '--user', 'u%d' % tid, '--password', 'secret%08d' % tid)
        adm('--op', 'bind', '--mode', 'account', '--tid', str(tid), '--user', 'u%d' % tid)
        adm('--op', 'bind', '--mode', 'target', '--tid', str(tid), '-I', GOOD_IQN)
    create = time.time() - t0
    t0 = time.time()
    adm('--op', 'show', '--mode', 'target')
    rerun = time.time() - t0
    t0 = time.time()
    for tid in range(1, len(files) + 1):
        adm('--op', 'delete', '--mode', 'target', '--tid', str(tid), '--force')
        adm('--op', 'delete', '--mode', 'account', '--user', 'u%d' % tid)
    delete = time.time() - t0
    return dict(create=dict(wall=create), rerun=dict(wall=rerun), delete=dict(wall=delete))


def main():
    results = {'cinderkit': [], 'raw': []}
    for run in range(RUNS):
        for col in ('cinderkit', 'raw'):
            workdir = tempfile.mkdtemp(prefix='ckbench-export-', dir='/var/tmp')
            tgtd = TgtDaemon()
            try:
                files = [('bx%03d' % i, backing_file(os.path.join(workdir, 'bx%03d.img' % i), 1024 * 1024))
                         for i in range(N)]
                res = cinderkit_run(tgtd, files, workdir) if col == 'cinderkit' else raw_run(tgtd, files)
            finally:
                tgtd.close()
                shutil.rmtree(workdir, ignore_errors=True)
            results[col].append(res)
            print('[bench] exports N=%d run %d/%d %-9s %s' % (N, run + 1, RUNS, col, ', '.join(
                '%s %.2f s' % (k, v['wall']) for k, v in res.items())), flush=True)
    table = render(results)
    print(table)
    out = os.path.join(HERE, 'results')
    os.makedirs(out, exist_ok=True)
    names = ['export-quick.md'] if os.environ.get('BENCH_QUICK') else \
        ['export-%s.md' % datetime.datetime.now().strftime('%Y-%m-%d-%H%M'), 'export-latest.md']
    for fname in names:
        with open(os.path.join(out, fname), 'w') as fh:
            fh.write(table)


def render(results):
    def med(col, scen, key='wall'):
        return statistics.median(r[scen][key] for r in results[col])
    ck = results['cinderkit'][0]
    now = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    with open('/proc/loadavg') as f:
        load = ' '.join(f.read().split()[:3])
    lines = ['# %d tgtadm exports in one task' % N, '',
             '- date: %s; load average at end: %s' % (now, load),
             '- medians of %d runs; a private tgtd per run; file-backed 1 MiB LUNs; CHAP per export' % RUNS,
             '- cinderkit = the whole ansible-playbook run of one `cinderkit.storage.export` task with '
             '`volumes:` (CHAP generated, ACL, include files written 0600, one save)',
             '- raw = one tgtadm process per step (target, LUN, account, bind account, bind initiator); '
             'no persistence, no secrets generated: a floor, not an equivalent', '',
             '| scenario | cinderkit: playbook | target-state queries | changed items | raw tgtadm | cinderkit / raw |',
             '|---|---|---|---|---|---|']
    for scen, label in (('create', 'converge %d exports' % N), ('rerun', 're-run, no change'),
                        ('delete', 'remove %d exports' % N)):
        c, r = med('cinderkit', scen), med('raw', scen)
        lines.append('| %s | %.2f s | %d | %d | %.2f s | %.2fx |' % (
            label, c, ck[scen]['queries'], ck[scen]['changed'], r, c / r if r else float('nan')))
    lines.append('')
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
