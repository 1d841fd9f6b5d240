# -*- coding: utf-8 -*-
"""Exports in bulk with tgtadm (issues 6 and 12): N exports converge in one task, a re-run
changes nothing, one task removes them; against raw tgtadm commands, in one run.

A private tgtd (own control port and portal) serves N file-backed LUNs.  Columns, each on a
NEW tgtd and new files, interleaved per run (run 1 of every column, then run 2 ...):

* cinderkit: one ``cinderkit.storage.export`` task with ``volumes:`` (CHAP generated per
  export, ACL of one initiator, include files under volumes_dir), through ansible-playbook;
  the count of target-state queries (``tgtadm --op show --mode target``) from the result;
* in-process: the same module's ``main()`` called in this Python (warm imports, no Ansible
  start-up, no AnsiballZ): the module's own time, with its tgtadm processes counted and
  timed at the process boundary (``subprocess.run``) and its fsyncs counted;
* raw tgtadm: the same targets made with one tgtadm process per step (new target, LUN,
  account, bind account, bind initiator), no CHAP files, no persistence - a floor;
* ping playbook: ansible-playbook with one ``ansible.builtin.ping`` task and the same
  ``debug`` task the cinderkit play has: what Ansible costs before any module work.

Sizes: BENCH_EXPORT_SIZES (default 20,100,200; 20 with BENCH_QUICK; BENCH_EXPORTS=N for one
size); medians of BENCH_RUNS (3) runs.  Prints a markdown table; writes bench/results/
export-*.md and its .json twin (``--render FILE.json`` rebuilds the .md from it).
"""

import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, 'results')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

QUICK = bool(os.environ.get('BENCH_QUICK'))
DEFAULT_SIZES = [20, 100, 200]
if os.environ.get('BENCH_EXPORTS'):
    SIZES = [int(os.environ['BENCH_EXPORTS'])]
elif os.environ.get('BENCH_EXPORT_SIZES'):
    SIZES = [int(n) for n in os.environ['BENCH_EXPORT_SIZES'].split(',')]
else:
    SIZES = [20] if QUICK else DEFAULT_SIZES
RUNS = int(os.environ.get('BENCH_RUNS', '3'))
COLUMNS = ('cinderkit', 'inproc', 'raw', 'ping')
SCENARIOS = (('create', 'converge'), ('rerun', 're-run, no change'), ('delete', 'remove'))
RAW_PER_EXPORT = dict(create=5, rerun=0, delete=2)


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def backend_of(tgtd, workdir):
    return dict(tgt_control_port=tgtd.control, target_port=tgtd.port, target_ip_address='127.0.0.1',
                volumes_dir=os.path.join(workdir, 'volumes'))


def task_args(scen, files):
    from export_support import GOOD_IQN
    vols = [dict(volume=name, device_path=path) for name, path in files]
    if scen == 'delete':
        return dict(volumes=[dict(volume=v['volume']) for v in vols], state='absent')
    return dict(volumes=vols, connector=dict(initiator=GOOD_IQN))


def cinderkit_run(tgtd, files, workdir):
    from support import Play
    backend = backend_of(tgtd, workdir)
    play = Play(workdir)
    out = {}
    for scen, dummy in SCENARIOS:
        t0 = time.time()
        # the export result is censored in callbacks (it holds CHAP secrets): read the
        # registered variable through a debug task
        res = play.run([{'cinderkit.storage.export': dict(backend=backend, **task_args(scen, files)),
                         'register': 'r'},
                        {'ansible.builtin.debug': {'msg': {
                            'commands': '{{ r.commands }}',
                            'changed': "{{ r.exports | selectattr('changed') | list | length }}"}}}])
        secs = time.time() - t0
        task = res[0]
        if task.get('failed') or task.get('_status') == 'failed':
            raise RuntimeError('%s failed: %s' % (scen, task.get('msg')))
        cmds = res[1]['msg']['commands']
        out[scen] = dict(wall=secs, queries=sum(1 for c in cmds if '--op show --mode target' in c),
                         commands=len(cmds), changed=int(res[1]['msg']['changed']))
    return out


class Meter(object):
    """Counts and times the module's processes (subprocess.run) and fsyncs, in this process."""

    def __init__(self):
        self.spawns = self.spawn_s = self.fsyncs = 0
        self.fsync_s = 0.0

    def __enter__(self):
        self._run, self._fsync = subprocess.run, os.fsync

        def run(*a, **kw):
            t0 = time.time()
            try:
                return self._run(*a, **kw)  # pylint: disable=subprocess-run-check  # the caller's check
            finally:
                self.spawns += 1
                self.spawn_s += time.time() - t0

        def fsync(fd):
            t0 = time.time()
            try:
                return self._fsync(fd)
            finally:
                self.fsyncs += 1
                self.fsync_s += time.time() - t0
        subprocess.run, os.fsync = run, fsync
        return self

    def __exit__(self, *exc):
        subprocess.run, os.fsync = self._run, self._fsync


def inproc_run(tgtd, files, workdir):
    from support import run_module
    from export_support import GOOD_IQN
    backend = backend_of(tgtd, workdir)
    # warm imports (the playbook column pays them in its module's start-up): an empty bulk task
    run_module('export', dict(backend=backend, volumes=[], connector=dict(initiator=GOOD_IQN)))
    out = {}
    for scen, dummy in SCENARIOS:
        with Meter() as m:
            t0 = time.time()
            res = run_module('export', dict(backend=backend, **task_args(scen, files)))
            secs = time.time() - t0
        if res.get('failed'):
            raise RuntimeError('in-process %s failed: %s' % (scen, res.get('msg')))
        cmds = res.get('commands') or []
        out[scen] = dict(wall=secs, spawns=m.spawns, spawn_s=m.spawn_s, fsyncs=m.fsyncs,
                         fsync_s=m.fsync_s, commands=len(cmds),
                         queries=sum(1 for c in cmds if '--op show --mode target' in c),
                         changed=sum(1 for e in res.get('exports') or () if e.get('changed')))
    return out


def raw_run(tgtd, files):
    from export_support import GOOD_IQN

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


def ping_run(workdir):
    from support import Play
    t0 = time.time()
    res = Play(workdir).run([{'ansible.builtin.ping': {}, 'register': 'r'},
                             {'ansible.builtin.debug': {'msg': {'ping': '{{ r.ping }}'}}}])
    secs = time.time() - t0
    if res[0].get('failed'):
        raise RuntimeError('ping playbook failed: %s' % res[0].get('msg'))
    return dict(wall=secs)


def one(col, n):
    from export_support import TgtDaemon, backing_file
    workdir = tempfile.mkdtemp(prefix='ckbench-export-', dir='/var/tmp')
    try:
        if col == 'ping':
            return ping_run(workdir)
        tgtd = TgtDaemon()
        try:
            files = [('bx%03d' % i, backing_file(os.path.join(workdir, 'bx%03d.img' % i), 1024 * 1024))
                     for i in range(n)]
            if col == 'cinderkit':
                return cinderkit_run(tgtd, files, workdir)
            if col == 'inproc':
                return inproc_run(tgtd, files, workdir)
            return raw_run(tgtd, files)
        finally:
            tgtd.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    started = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    data = dict(meta=dict(started=started, load_start=loadavg(), runs=RUNS, sizes=SIZES,
                          quick=QUICK), runs={})
    for n in SIZES:
        runs = data['runs'].setdefault(str(n), dict((c, []) for c in COLUMNS))
        for run in range(RUNS):
            for col in COLUMNS:
                if col == 'ping' and QUICK and run:
                    continue    # the quick tier: Ansible's floor once (it does not depend on N)
                res = one(col, n)
                runs[col].append(res)
                shown = ('playbook %.2f s' % res['wall']) if col == 'ping' else ', '.join(
                    '%s %.2f s' % (k, v['wall']) for k, v in res.items())
                print('[bench] exports N=%d run %d/%d %-9s %s' % (n, run + 1, RUNS, col, shown), flush=True)
    data['meta']['load_end'] = loadavg()
    data['meta']['ended'] = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    table = render(data)
    print(table)
    os.makedirs(RESULTS, exist_ok=True)
    if QUICK:
        stems = ['export-quick']
    elif SIZES == DEFAULT_SIZES:
        stems = ['export-%s' % datetime.datetime.now().strftime('%Y-%m-%d-%H%M'), 'export-latest']
    else:
        stems = ['export-custom-%s' % datetime.datetime.now().strftime('%Y-%m-%d-%H%M')]
    for stem in stems:
        with open(os.path.join(RESULTS, stem + '.md'), 'w') as fh:
            fh.write(table)
        with open(os.path.join(RESULTS, stem + '.json'), 'w') as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
    return 0


def med(runs, col, scen=None, key='wall'):
    values = [r[key] if scen is None else r[scen][key] for r in runs[col]]
    return statistics.median(values)


def ratio(a, b):
    return '%.2fx' % (a / b) if b else '-'


def render(data):
    meta = data['meta']
    sizes = sorted(int(n) for n in data['runs'])
    lines = ['# tgtadm exports in one task, against raw tgtadm', '',
             '- started %s, ended %s; load average at start: %s; at end: %s' % (
                 meta['started'], meta.get('ended', '?'), meta['load_start'], meta.get('load_end', '?')),
             '- medians of %d runs, every column in the same run, interleaved; a private tgtd '
             'and new file-backed 1 MiB LUNs for every column and run; CHAP per export' % meta['runs'],
             '- **cinderkit** = the whole ansible-playbook run of one `cinderkit.storage.export` task '
             'with `volumes:` (CHAP generated, ACL, include files written 0600, one save), plus one '
             '`debug` task that reads the registered result',
             '- **module in-process** = the same module\'s `main()` in the bench\'s Python (warm '
             'imports): the module\'s own time, without Ansible\'s start-up and AnsiballZ',
             '- **raw** = one tgtadm process per step (target, LUN, account, bind account, bind '
             'initiator; delete target, delete account), started from Python with output to '
             '/dev/null; no persistence, no secrets generated, no serial number: a floor, not an '
             'equivalent',
             '- **ping playbook** = ansible-playbook with one `ansible.builtin.ping` task and the same '
             '`debug` task: Ansible\'s cost before any module work%s. **floor** = ping playbook + raw: '
             'what a module with no overhead of its own would take' % (
                 ' (one run in the quick tier)' if meta.get('quick') else ''), '',
             '| scenario | N | cinderkit: playbook | module in-process | raw tgtadm | ping playbook '
             '| playbook / raw | in-process / raw | floor (ping + raw) / raw | tgtadm processes per '
             'export (all of the task / N): cinderkit / raw | target-state queries |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for scen, label in SCENARIOS:
        for n in sizes:
            runs = data['runs'][str(n)]
            c, i, r, p = (med(runs, 'cinderkit', scen), med(runs, 'inproc', scen),
                          med(runs, 'raw', scen), med(runs, 'ping'))
            spawns = med(runs, 'inproc', scen, 'spawns')
            queries = runs['cinderkit'][0][scen]['queries']
            per = '%.2f / %d' % (spawns / n, RAW_PER_EXPORT[scen]) if scen != 'rerun' else \
                '%d in all / 1' % spawns
            lines.append('| %s | %d | %.2f s | %.2f s | %.2f s | %.2f s | %s | %s | %s | %s | %d |' % (
                label, n, c, i, r, p, ratio(c, r), ratio(i, r), ratio(p + r, r), per, queries))
    n = sizes[-1]
    runs = data['runs'][str(n)]
    lines += ['', '## Where the time goes, per export (N = %d, module in-process, medians)' % n, '',
              '| scenario | module in-process per export | tgtadm processes per export | time in '
              'tgtadm processes per export | raw tgtadm per export | fsyncs per task | the module\'s '
              'own Python (+ fsyncs) per export |',
              '|---|---|---|---|---|---|---|']
    for scen, label in (('create', 'converge'), ('delete', 'remove')):
        i, r = med(runs, 'inproc', scen), med(runs, 'raw', scen)
        sp, sps = med(runs, 'inproc', scen, 'spawns'), med(runs, 'inproc', scen, 'spawn_s')
        fs = med(runs, 'inproc', scen, 'fsyncs')
        lines.append('| %s | %.1f ms | %.3f (%d in all, %d of them target-state queries) | %.1f ms '
                     '| %.1f ms (%d processes) | %d | %.1f ms |' % (
                         label, 1000 * i / n, sp / n, sp, runs['cinderkit'][0][scen]['queries'],
                         1000 * sps / n, 1000 * r / n, RAW_PER_EXPORT[scen], fs, 1000 * (i - sps) / n))
    lines += ['', '## Targets (issue 12)', '']
    c, i, r, p = (med(runs, 'cinderkit', 'create'), med(runs, 'inproc', 'create'),
                  med(runs, 'raw', 'create'), med(runs, 'ping'))
    lines.append('- converge %d, target <= 1.5x raw: %s: playbook %.2f s vs raw %.2f s = %.2fx; the '
                 'module in-process %.2f s = %.2fx; Ansible alone (ping playbook) is %.2f s = %.2fx '
                 'of raw, so the floor for any module is %.2fx' % (
                     n, 'HOLDS' if c <= 1.5 * r else 'NOT MET', c, r, c / r, i, i / r, p, p / r,
                     (p + r) / r))
    c, i, r = med(runs, 'cinderkit', 'delete'), med(runs, 'inproc', 'delete'), med(runs, 'raw', 'delete')
    lines.append('- remove %d, target <= 2x raw: %s: playbook %.2f s vs raw %.2f s = %.2fx; the module '
                 'in-process %.2f s = %.2fx; the floor (ping + raw) is %.2fx' % (
                     n, 'HOLDS' if c <= 2 * r else 'NOT MET', c, r, c / r, i, i / r, (p + r) / r))
    lines.append('')
    return '\n'.join(lines)


def render_file(path):
    with open(path) as fh:
        data = json.load(fh)
    text = render(data)
    with open(os.path.splitext(path)[0] + '.md', 'w') as fh:
        fh.write(text)
    print(text)
    return 0


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--render':
        sys.exit(render_file(sys.argv[2]))
    sys.exit(main())
