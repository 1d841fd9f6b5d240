# -*- coding: utf-8 -*-
"""cinderkit.storage LVM benchmark: one table, honest medians.

Run it through ``make bench`` (or ``make bench-quick``); see bench/README.md.

For every N and every run, each column gets a NEW loop VG made the same way
(tests/integration/support.py ``LoopVG``: sparse file -> loop device -> PV with
a 16 MiB metadata area -> VG, its own lvm.conf with activation off and LVM's
archive/backup off), so every column sees the same LVM setup.  Columns run
interleaved (run 1 of every column, then run 2 ...) so background noise is
spread over all of them.

Columns
  cinderkit   one ``cinderkit.storage.volume`` task with ``volumes:`` (create,
              re-run, delete) and one ``backend_facts`` task, each its own
              ansible-playbook run (controller: .venv)
  lvol        ``community.general.lvol`` in a loop, one item per LV
              (controller: .venv-bench, the ``ansible`` package from PyPI)
  raw         one LVM process per LV (``lvcreate`` / ``lvremove``): the floor
  raw-batch   one ``lvm`` process fed every lvcreate on stdin; one
              ``lvremove`` naming every LV

Times: "playbook" is the wall time of the whole ansible-playbook process;
"task" is measured by bench/callback_plugins/cinderkit_bench.py from the
task's start to its result on the controller (AnsiballZ, the module's Python
start and, for lvol, every loop item included).
"""

from __future__ import print_function

import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, os.path.join(ROOT, '.build', 'collections'))

from support import LoopVG  # noqa: E402

VENV = os.path.join(ROOT, '.venv')
VENV_BENCH = os.environ.get('BENCH_VENV', os.path.join(ROOT, '.venv-bench'))
PYTHON = os.path.join(VENV, 'bin', 'python')
LV_SIZE_MIB = 16
VG_SIZE_GB = 40
TAG = 'ck.kind=volume'      # raw columns write the same tag cinderkit writes

QUICK = os.environ.get('BENCH_QUICK') == '1'
SIZES = [int(x) for x in os.environ.get('BENCH_SIZES', '10' if QUICK else '10,100,1000').split(',')]
RUNS = int(os.environ.get('BENCH_RUNS', '3'))
# lvol above this N: once | all | extrapolate | skip
LVOL_LARGE_N = int(os.environ.get('BENCH_LVOL_LARGE_N', '1000'))
LVOL_LARGE = os.environ.get('BENCH_LVOL_LARGE', 'extrapolate')
LVOL_TIMEOUT = int(os.environ.get('BENCH_LVOL_TIMEOUT', '3600'))
NOTE = os.environ.get('BENCH_NOTE', '')
RESULTS = os.environ.get('BENCH_RESULTS', os.path.join(HERE, 'results'))
COLUMNS = [c for c in os.environ.get('BENCH_COLUMNS', 'cinderkit,lvol,raw,raw-batch').split(',') if c]


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def names(n):
    return ['bv%05d' % i for i in range(n)]


# -- Ansible ------------------------------------------------------------------
def playbook(controller_venv, play, workdir, collections=None, timeout=None):
    """Run one play; return dict(wall, task, result) for its first task."""
    import yaml
    path = os.path.join(workdir, 'play-%d.yml' % int(time.time() * 1000))
    with open(path, 'w') as fh:
        yaml.safe_dump([play], fh, default_flow_style=False)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith('ANSIBLE_'):
            del env[k]
    env.update(ANSIBLE_STDOUT_CALLBACK='cinderkit_bench',
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False',
               ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='False',
               ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-local'),
               ANSIBLE_REMOTE_TMP=os.path.join(workdir, 'ansible-remote'))
    if collections:
        env['ANSIBLE_COLLECTIONS_PATH'] = collections
    argv = [os.path.join(controller_venv, 'bin', 'ansible-playbook'), path, '-i', 'localhost,',
            '-c', 'local', '-e', 'ansible_python_interpreter=%s' % PYTHON]
    t0 = time.time()
    try:
        proc = subprocess.run(argv, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                              universal_newlines=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(wall=time.time() - t0, task=None, result=None,
                    error='timed out after %d s' % timeout, timeout=True)
    wall = time.time() - t0
    out = proc.stdout
    try:
        data = json.loads(out[out.index('{'):])
        task = data['tasks'][0]
        res = task['hosts']['localhost']
    except (ValueError, KeyError, IndexError):
        return dict(wall=wall, task=None, result=None,
                    error='ansible-playbook rc=%d: %s %s' % (proc.returncode, out[-800:], proc.stderr[-800:]))
    err = None
    if res.get('status') != 'ok' or proc.returncode != 0:
        err = 'task failed: %s' % (res.get('msg') or proc.stderr[-500:])
    return dict(wall=wall, task=task['duration'], result=res, error=err)


def ck_backend(vg):
    return vg.backend(lvm_type='default', volume_clear='none')


def ck_play(task):
    return dict(hosts='localhost', gather_facts=False, tasks=[task])


def col_cinderkit(vg, n, workdir):
    coll = os.path.join(ROOT, '.build', 'collections')
    vols = [dict(name=x, size='%dM' % LV_SIZE_MIB) for x in names(n)]
    out = {}
    r = playbook(VENV, ck_play({'name': 'bulk create', 'cinderkit.storage.volume':
                                dict(backend=ck_backend(vg), volumes=vols)}), workdir, coll)
    out['create'] = _check(r, n, 'changed', lambda: len(vg.lvs()) == n and all(
        int(x['lv_size']) == LV_SIZE_MIB * 2 ** 20 for x in vg.lvs().values()))
    r = playbook(VENV, ck_play({'name': 'bulk re-run', 'cinderkit.storage.volume':
                                dict(backend=ck_backend(vg), volumes=vols)}), workdir, coll)
    out['rerun'] = _check(r, 0, 'changed')
    r = playbook(VENV, ck_play({'name': 'facts', 'cinderkit.storage.backend_facts':
                                dict(backend=ck_backend(vg))}), workdir, coll)
    if not r['error']:
        facts = r['result']['ansible_facts']['cinderkit_backends']
        stats = list(facts.values())[0]
        r['total_volumes'] = stats['pools'][0]['total_volumes']
        r['lvm_commands'] = len(r['result'].get('commands', []))
        if r['total_volumes'] != n:
            r['error'] = 'backend_facts reported total_volumes=%s, expected %d' % (r['total_volumes'], n)
    r['module'] = facts_in_process(vg)
    out['facts'] = r
    r = playbook(VENV, ck_play({'name': 'bulk delete', 'cinderkit.storage.volume':
                                dict(backend=ck_backend(vg), state='absent',
                                     volumes=[dict(name=x) for x in names(n)])}), workdir, coll)
    out['delete'] = _check(r, n, 'changed', lambda: len(vg.lvs()) == 0)
    return out


def facts_in_process(vg):
    """backend_facts' own time: main() in this Python process (imports warm)."""
    from support import run_module
    t0 = time.time()
    res = run_module('backend_facts', dict(backend=ck_backend(vg)))
    secs = time.time() - t0
    return None if res.failed else secs


def _check(r, want_changed, what, verify=None):
    if r['error']:
        return r
    res = r['result']
    got = res.get('items_changed')
    r['items'] = res.get('items')
    r['items_changed'] = got
    if got != want_changed:
        r['error'] = '%s of %s items reported %s (expected %d)' % (got, res.get('items'), what, want_changed)
    elif verify is not None and not verify():
        r['error'] = 'LVM state after the task is not what was asked'
    return r


def col_lvol(vg, n, workdir):
    env = dict(LVM_SYSTEM_DIR=vg.conf_dir, LVM_SUPPRESS_FD_WARNINGS='1')

    def play(name, args):
        args = dict(args, vg=vg.name, lv='{{ item }}')
        return dict(hosts='localhost', gather_facts=False, environment=env, vars=dict(lv_names=names(n)),
                    tasks=[{'name': name, 'community.general.lvol': args, 'loop': '{{ lv_names }}'}])
    out = {}
    # active: false -- with activation off an LV is never active, and the
    # default (active: true) would report every LV as changed on each re-run.
    present = dict(size='%dm' % LV_SIZE_MIB, active=False)
    r = playbook(VENV_BENCH, play('lvol create', present), workdir, timeout=LVOL_TIMEOUT)
    out['create'] = _check(r, n, 'changed', lambda: len(vg.lvs()) == n)
    if r['error']:
        return out
    r = playbook(VENV_BENCH, play('lvol re-run', present), workdir, timeout=LVOL_TIMEOUT)
    out['rerun'] = _check(r, 0, 'changed')
    r = playbook(VENV_BENCH, play('lvol delete', dict(state='absent', force=True)), workdir,
                 timeout=LVOL_TIMEOUT)
    out['delete'] = _check(r, n, 'changed', lambda: len(vg.lvs()) == 0)
    return out


# -- raw LVM --------------------------------------------------------------------
def _lvm(vg, argv, stdin=None):
    env = dict(os.environ, **vg.env)
    proc = subprocess.run(argv, env=env, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                          universal_newlines=True)
    if proc.returncode != 0:
        raise RuntimeError('%s: rc=%d %s' % (' '.join(argv[:3]), proc.returncode, proc.stderr[-300:]))
    return proc.stdout


def _timed(fn):
    t0 = time.time()
    try:
        fn()
    except RuntimeError as exc:
        return dict(wall=time.time() - t0, error=str(exc))
    return dict(wall=time.time() - t0, error=None)


def _create_argv(vg, name):
    return ['lvcreate', '--yes', '--name', name, '--size', '%dm' % LV_SIZE_MIB, '--addtag', TAG, vg.name]


LVS_Q = ['lvs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'lv_name,lv_size,lv_tags']
VGS_Q = ['vgs', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'vg_name,vg_size,vg_free']


def col_raw(vg, n, workdir):
    out = {}
    out['create'] = _timed(lambda: [_lvm(vg, _create_argv(vg, x)) for x in names(n)])
    out['rerun'] = _timed(lambda: _lvm(vg, LVS_Q + [vg.name]))
    out['facts'] = _timed(lambda: (_lvm(vg, VGS_Q + [vg.name]), _lvm(vg, LVS_Q + [vg.name])))
    if len(vg.lvs()) != n:
        out['create']['error'] = 'LV count after create is wrong'
    out['delete'] = _timed(lambda: [_lvm(vg, ['lvremove', '--yes', '--force', '%s/%s' % (vg.name, x)])
                                    for x in names(n)])
    return out


def col_raw_batch(vg, n, workdir):
    out = {}
    script = ''.join(' '.join(_create_argv(vg, x)) + '\n' for x in names(n))
    out['create'] = _timed(lambda: _lvm(vg, ['lvm'], stdin=script))
    if len(vg.lvs()) != n:
        out['create']['error'] = 'LV count after create is wrong (the lvm shell does not report failures)'
    out['delete'] = _timed(lambda: _lvm(vg, ['lvremove', '--yes', '--force', '--']
                                        + ['%s/%s' % (vg.name, x) for x in names(n)]))
    return out


RUNNERS = {'cinderkit': col_cinderkit, 'lvol': col_lvol, 'raw': col_raw, 'raw-batch': col_raw_batch}


# -- measuring ------------------------------------------------------------------
def lvol_plan(n):
    """How many lvol runs at this N: (runs, note)."""
    if n < LVOL_LARGE_N or LVOL_LARGE == 'all':
        return RUNS, None
    if LVOL_LARGE == 'once':
        return 1, 'once'
    return 0, LVOL_LARGE     # extrapolate | skip


def _stop(signum, frame):
    raise SystemExit('stopped by signal %d' % signum)


WORKDIR = tempfile.mkdtemp(prefix='ckbench-', dir=os.environ.get('CINDERKIT_TEST_WORKDIR', '/var/tmp'))


def measure(progress=None):
    """Every column RUNS times per N, interleaved; ``progress(data, notes)`` after each."""
    data = {}       # (n, column) -> list of run dicts
    notes = {}
    workdir = WORKDIR

    def one(n, col, run, runs):
        t0 = time.time()
        with LoopVG(size_gb=VG_SIZE_GB, activation=False) as vg:
            try:
                res = RUNNERS[col](vg, n, workdir)
            except Exception as exc:  # report, do not hide
                res = dict(error='%s: %s' % (type(exc).__name__, exc))
        data.setdefault((n, col), []).append(res)
        log('N=%d run %d/%d %-9s %6.1f s  %s' % (n, run + 1, runs, col, time.time() - t0, _brief(res)))
        if progress is not None:
            progress(data, notes)

    for n in SIZES:
        lvol_runs, notes[(n, 'lvol')] = lvol_plan(n)
        late = 'lvol' in COLUMNS and lvol_runs < RUNS     # a single long lvol run goes last
        for run in range(RUNS):
            for col in COLUMNS:
                if col == 'lvol' and (late or run >= lvol_runs):
                    continue
                one(n, col, run, RUNS)
        if late:
            for run in range(lvol_runs):
                one(n, 'lvol', run, lvol_runs)
    return data, notes


def _brief(res):
    parts = []
    for sc in ('create', 'rerun', 'facts', 'delete'):
        r = res.get(sc) if isinstance(res, dict) else None
        if isinstance(r, dict):
            parts.append('%s %.2f%s' % (sc, r['wall'], ' ERR' if r.get('error') else ''))
    if isinstance(res, dict) and res.get('error'):
        parts.append('ERROR %s' % res['error'])
    return ', '.join(parts)


# -- reporting ------------------------------------------------------------------
def med(runs, scen, key='wall'):
    vals = [r[scen][key] for r in runs if isinstance(r.get(scen), dict) and not r[scen].get('error')
            and r[scen].get(key) is not None]
    return statistics.median(vals) if vals else None


def errors(runs, scen):
    out = []
    for r in runs:
        if r.get('error'):
            out.append(r['error'])
        elif isinstance(r.get(scen), dict) and r[scen].get('error'):
            out.append(r[scen]['error'])
    return out


def fmt(s):
    if s is None:
        return '-'
    if s >= 100:
        return '%.0f s' % s
    if s >= 10:
        return '%.1f s' % s
    return '%.2f s' % s


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x, approx=False):
    if x is None:
        return '-'
    return '%s%s' % ('~' if approx else '', ('%.0fx' % x) if x >= 100 else ('%.1fx' % x) if x >= 10 else ('%.2fx' % x))


def build(data, notes):
    """(markdown table, targets list, per-cell values)."""
    rows = []
    head = ('| scenario | N | cinderkit bulk: playbook (task) | looped lvol: playbook (task) | '
            'raw: one LVM process per LV | raw: one `lvm` process / one `lvremove` | '
            'cinderkit ÷ raw | lvol ÷ cinderkit |')
    rows.append(head)
    rows.append('|' + '---|' * 8)
    values = {}
    for scen, label in (('create', 'create N'), ('rerun', 're-run, no change'),
                        ('facts', 'backend_facts on N LVs'), ('delete', 'delete N')):
        for n in SIZES:
            ck = data.get((n, 'cinderkit'), [])
            lv = data.get((n, 'lvol'), [])
            raw = data.get((n, 'raw'), [])
            rb = data.get((n, 'raw-batch'), [])
            v = dict(ck=med(ck, scen), ck_task=med(ck, scen, 'task'), lvol=med(lv, scen),
                     lvol_task=med(lv, scen, 'task'), raw=med(raw, scen), rb=med(rb, scen))
            values[(scen, n)] = v
            c_ck = _cell(ck, scen, v['ck'], v['ck_task'])
            if scen == 'facts' and ck:
                cmds = sorted(set(r['facts'].get('lvm_commands') for r in ck if isinstance(r.get('facts'), dict)
                                  and r['facts'].get('lvm_commands') is not None))
                mod = med(ck, 'facts', 'module')
                c_ck += '; module %s in-process; LVM commands: %s' % (fmt(mod), '/'.join(str(c) for c in cmds))
                v['module'] = mod
                v['cmds'] = cmds
            # lvol
            lnote = notes.get((n, 'lvol'))
            approx = False
            if scen == 'facts':
                c_lv = 'no equivalent module'
            elif 'lvol' not in COLUMNS:
                c_lv = 'not run'
            elif lnote == 'skip':
                c_lv = 'not run (BENCH_LVOL_LARGE=skip)'
            elif lnote == 'extrapolate':
                base_n = max([m for m in SIZES if m < n and data.get((m, 'lvol'))] or [0])
                base = values.get((scen, base_n), {}).get('lvol') if base_n else None
                if base is not None:
                    v['lvol'] = base * n / float(base_n)
                    v['lvol_approx'] = approx = True
                    c_lv = '~%s (extrapolated x%d from N=%d, not measured)' % (fmt(v['lvol']), n // base_n, base_n)
                else:
                    c_lv = 'not measured (nothing to extrapolate from)'
            else:
                c_lv = _cell(lv, scen, v['lvol'], v['lvol_task'])
                if lnote == 'once' and v['lvol'] is not None:
                    c_lv += ', 1 run (not a median)'
            # raw
            if scen == 'create':
                c_raw = _cell(raw, scen, v['raw'], None) + ' (lvcreate per LV)'
                c_rb = _cell(rb, scen, v['rb'], None) + ' (one lvm, N lines)'
                r1 = fmt_ratio(ratio(v['ck'], v['raw']))
                r1 += ' of per-LV floor (task: %s); %s of one lvm' % (fmt_ratio(ratio(v['ck_task'], v['raw'])),
                                                                      fmt_ratio(ratio(v['ck'], v['rb'])))
            elif scen == 'rerun':
                c_raw = _cell(raw, scen, v['raw'], None) + ' (one `lvs` query)'
                c_rb = '-'
                r1 = '-'
            elif scen == 'facts':
                c_raw = _cell(raw, scen, v['raw'], None) + ' (`vgs` + `lvs`)'
                c_rb = '-'
                r1 = '-'
            else:
                c_raw = _cell(raw, scen, v['raw'], None) + ' (lvremove per LV)'
                c_rb = _cell(rb, scen, v['rb'], None) + ' (one lvremove, N LVs)'
                r1 = '%s of per-LV floor; %s of one lvremove (task: %s)' % (
                    fmt_ratio(ratio(v['ck'], v['raw'])), fmt_ratio(ratio(v['ck'], v['rb'])),
                    fmt_ratio(ratio(v['ck_task'], v['rb'])))
            r2 = '-' if scen == 'facts' else fmt_ratio(ratio(v['lvol'], v['ck']), approx)
            rows.append('| %s | %d | %s | %s | %s | %s | %s | %s |' % (label, n, c_ck, c_lv, c_raw, c_rb, r1, r2))
    return '\n'.join(rows), values


def _cell(runs, scen, wall, task):
    if not runs:
        return 'not run'
    errs = errors(runs, scen)
    if wall is None:
        return 'FAILED: %s' % (errs[0][:200] if errs else 'no data')
    s = fmt(wall)
    if task is not None:
        s += ' (%s)' % fmt(task)
    if errs:
        s += ' [%d of %d runs failed: %s]' % (len(errs), len(runs), errs[0][:120])
    return s


def _cmds(v):
    return '/'.join(str(c) for c in v.get('cmds') or []) or '?'


def _lvol(v):
    if v.get('lvol_approx'):
        return '~%s (extrapolated from a smaller N, not measured: an estimate)' % fmt(v['lvol'])
    return fmt(v['lvol'])


def targets(values):
    n = 1000
    if n not in SIZES:
        return ['Targets are judged at N=1000; this run measured N=%s only.' % ', '.join(str(s) for s in SIZES)]
    out = []

    def line(ok, text):
        out.append('- %s %s' % ('HOLDS:' if ok else ('NOT MET:' if ok is False else 'NOT MEASURED:'), text))
    c = values[('create', n)]
    r = ratio(c['ck'], c['raw'])
    line(None if r is None else r <= 1.3,
         'create 1,000 within 1.3x of the raw-lvcreate floor: cinderkit playbook %s vs one lvcreate per LV %s '
         '= %s (task alone: %s; vs one lvm process: %s)' % (
             fmt(c['ck']), fmt(c['raw']), fmt_ratio(r), fmt_ratio(ratio(c['ck_task'], c['raw'])),
             fmt_ratio(ratio(c['ck'], c['rb']))))
    r = ratio(c['lvol'], c['ck'])
    line(None if r is None else r >= 10, 'create 1,000 at least 10x faster than looped lvol: lvol %s vs %s = %s faster'
         % (_lvol(c), fmt(c['ck']), fmt_ratio(r, c.get('lvol_approx'))))
    c = values[('rerun', n)]
    line(None if c['ck'] is None else c['ck'] < 3,
         're-run 1,000 under 3 s in total: %s for the whole ansible-playbook run (task %s)'
         % (fmt(c['ck']), fmt(c['ck_task'])))
    r = ratio(c['lvol'], c['ck'])
    line(None if r is None else r >= 100, 're-run at least 100x faster than looped lvol: lvol %s vs %s = %s'
         % (_lvol(c), fmt(c['ck']), fmt_ratio(r, c.get('lvol_approx'))))
    f = values[('facts', n)]
    f10 = values.get(('facts', min(SIZES)), {})
    fixed = f.get('cmds') and f10.get('cmds') and len(f['cmds']) == 1 and f['cmds'] == f10['cmds']
    line(None if f.get('module') is None else bool(fixed and f['module'] < 1),
         'backend_facts on 1,000 LVs: LVM commands %s at N=1000 and %s at N=%d (fixed); module time %s '
         '(main() in-process, judged against 1 s); the whole task as Ansible runs it (AnsiballZ, Python '
         'start, imports): %s; playbook %s' % (
             _cmds(f), _cmds(f10), min(SIZES), fmt(f.get('module')), fmt(f.get('ck_task')),
             fmt(f.get('ck'))))
    d = values[('delete', n)]
    r = ratio(d['ck'], d['raw'])
    line(None if r is None else r <= 1.3,
         'delete 1,000 within 1.3x of the raw-lvremove floor, judged against one lvremove per LV (the same '
         'kind of floor as create): playbook %s vs %s = %s' % (fmt(d['ck']), fmt(d['raw']), fmt_ratio(r)))
    r2 = ratio(d['ck'], d['rb'])
    line(None if r2 is None else r2 <= 1.3,
         'against ONE lvremove naming all 1,000 LVs (%s), the stricter floor: playbook %s = %s, task %s = %s. '
         'cinderkit runs that same single lvremove; the rest is ansible-playbook and module start-up, '
         'queries and results' % (fmt(d['rb']), fmt(d['ck']), fmt_ratio(r2), fmt(d['ck_task']),
                                  fmt_ratio(ratio(d['ck_task'], d['rb']))))
    out.append('- 200 tgtadm exports, converge + re-run: measured by bench/export_bench.py in the same '
               '`make bench` run, table in bench/results/export-latest.md')
    return out


def _cmd(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False,
                              universal_newlines=True).stdout.strip()
    except OSError:
        return ''


def machine():
    cpu = ''
    try:
        with open('/proc/cpuinfo') as fh:
            cpu = next((ln.split(':', 1)[1].strip() for ln in fh if ln.startswith('model name')), '')
        with open('/proc/meminfo') as fh:
            mem = int(next(ln.split()[1] for ln in fh if ln.startswith('MemTotal'))) // 1024 // 1024
    except (OSError, StopIteration):
        mem = 0
    osname = ''
    if os.path.exists('/etc/os-release'):
        m = re.search(r'PRETTY_NAME="([^"]+)"', open('/etc/os-release').read())
        osname = m.group(1) if m else ''
    return dict(host=socket.gethostname(), cpu=cpu, cores=os.cpu_count(), mem_gib=mem,
                kernel=platform.release(), os=osname,
                fs=_cmd(['df', '-hT', os.environ.get('CINDERKIT_TEST_WORKDIR', '/var/tmp')]).splitlines()[-1:])


def versions():
    def core(venv):
        return _cmd([os.path.join(venv, 'bin', 'ansible'), '--version']).splitlines()[:1]
    bench_py = os.path.join(VENV_BENCH, 'bin', 'python')
    pkg = _cmd([bench_py, '-c', 'import importlib.metadata as m; print(m.version("ansible"))'])
    cg = _cmd([bench_py, '-c', 'import json, os, importlib.util as u; '
               'd = list(u.find_spec("ansible_collections.community.general").submodule_search_locations)[0]; '
               'print(json.load(open(os.path.join(d, "MANIFEST.json")))["collection_info"]["version"])'])
    gal = open(os.path.join(ROOT, 'galaxy.yml')).read()
    m = re.search(r'^version:\s*(\S+)', gal, re.M)
    head = _cmd(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'])
    dirty = _cmd(['git', '-C', ROOT, 'status', '--porcelain', '--', 'plugins'])
    return dict(lvm=[' '.join(_cmd(['lvm', 'version']).splitlines()[0].split())], core=core(VENV), core_bench=core(VENV_BENCH),
                ansible=pkg, community_general=cg, python=_cmd([PYTHON, '--version']),
                cinderkit='%s (git %s%s)' % (m.group(1) if m else '?', head, ', plugins/ modified' if dirty else ''))


LVOL_LABEL = {'once': 'ONE run (it takes ~0.7-1.5 s per item per task)',
              'extrapolate': 'not run, extrapolated linearly from the largest smaller N (an estimate)',
              'skip': 'not run'}


def report(table, tgt, info, started, load0, load1, elapsed):
    m, v = info
    lines = ['# cinderkit.storage LVM benchmark%s' % (' (quick: N=10 only)' if QUICK else ''), '',
             '- date: %s (took %.0f min)' % (started, elapsed / 60.0),
             '- machine: %s; %s; %s cores; %s GiB RAM; %s; kernel %s' % (
                 m['host'], m['cpu'], m['cores'], m['mem_gib'], m['os'], m['kernel']),
             '- load average (1/5/15 min) at start: %s; at end: %s%s' % (
                 load0, load1, ('; note: %s' % NOTE) if NOTE else ''),
             '- versions: %s; controller for cinderkit: %s; controller for lvol: %s (ansible %s, '
             'community.general %s); %s; cinderkit.storage %s' % (
                 ' '.join(v['lvm']).strip(), ' '.join(v['core']), ' '.join(v['core_bench']), v['ansible'],
                 v['community_general'], v['python'], v['cinderkit']),
             '- LVM setup (the same for every column and run): a new VG per column and run on a loop device '
             'over a sparse %d GB file (%s), PV metadata area 16 MiB, extent 4 MiB, own lvm.conf with '
             '`global/activation=0` and `backup { backup=0 archive=0 }`; LVs of %d MiB, tagged `%s` '
             '(raw columns too)' % (VG_SIZE_GB, ' '.join((m['fs'] or [''])[0].split()[:2]), LV_SIZE_MIB, TAG),
             '- runs: median of %d per cell%s; columns interleaved run by run' % (
                 RUNS, '' if LVOL_LARGE == 'all' else '; looped lvol at N>=%d: %s' % (
                     LVOL_LARGE_N, LVOL_LABEL.get(LVOL_LARGE, LVOL_LARGE))),
             '- times: "playbook" = wall time of the whole ansible-playbook process; "(task)" = the task alone, '
             'measured on the controller by bench/callback_plugins/cinderkit_bench.py (AnsiballZ, module start '
             'and every loop item included); raw columns = wall time of the LVM processes, started from Python',
             '- controller settings for both Ansible columns: ansible-core defaults (no ansible.cfg, no '
             'pipelining), connection local, `ansible_python_interpreter` = the project venv\'s Python; lvol '
             'with `active: false` (activation is off, so the default `active: true` would report every LV '
             'as changed on each re-run) and LVM_SYSTEM_DIR set by the play\'s `environment`',
             '']
    return '\n'.join(lines) + '\n' + report_tail(table, tgt)


def report_tail(table, tgt):
    lines = [table, '', '## Targets (issue 6)', ''] + tgt + [
        '', 'Exports in bulk (200 tgtadm exports): bench/results/export-latest.md, from the same run.', '']
    return '\n'.join(lines)


def main():
    # a stopped run still removes its loop VGs (LoopVG closes on SystemExit)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    try:
        return _main()
    finally:
        shutil.rmtree(WORKDIR, ignore_errors=True)


def _main():
    started = datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S %Z').strip()
    load0 = ' '.join(open('/proc/loadavg').read().split()[:3])
    t0 = time.time()
    log('sizes %s, %d runs, columns %s%s' % (SIZES, RUNS, ', '.join(COLUMNS), ' (quick)' if QUICK else ''))
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y-%m-%d-%H%M')
    info = (machine(), versions())
    partial = os.path.join(RESULTS, 'partial-%s.md' % stamp)

    def progress(data, notes):
        # the table so far, in case a long run is stopped (bench/results/partial-*, not committed)
        load = ' '.join(open('/proc/loadavg').read().split()[:3])
        table, values = build(data, notes)
        with open(partial, 'w') as fh:
            fh.write(report(table, ['(partial: run still going or stopped)'], info, started, load0, load,
                            time.time() - t0) + '\n')
    try:
        data, notes = measure(progress)
    finally:
        shutil.rmtree(WORKDIR, ignore_errors=True)
    load1 = ' '.join(open('/proc/loadavg').read().split()[:3])
    table, values = build(data, notes)
    tgt = targets(values)
    text = report(table, tgt, info, started, load0, load1, time.time() - t0)
    print(text)
    if os.path.exists(partial):
        os.remove(partial)
    if QUICK or SIZES != [10, 100, 1000]:
        paths = [os.path.join(RESULTS, 'quick.md' if QUICK else 'custom-%s.md' % stamp)]
    else:
        paths = [os.path.join(RESULTS, 'lvm-%s.md' % stamp), os.path.join(RESULTS, 'latest.md')]
    for p in paths:
        with open(p, 'w') as fh:
            fh.write(text + '\n')
    with open(os.path.splitext(paths[0])[0] + '.json', 'w') as fh:
        json.dump(dict(('%d/%s' % k, v) for k, v in data.items()), fh, indent=1, default=str)
    log('wrote %s' % ', '.join(os.path.relpath(p, ROOT) for p in paths))
    # correctness failures fail the run; timings never do
    bad = [(k, e) for k, runs in data.items() for sc in ('create', 'rerun', 'facts', 'delete')
           for e in errors(runs, sc) if k[1] == 'cinderkit']
    if bad:
        log('cinderkit column FAILED: %s' % bad[:3])
        return 1
    return 0


def render(md_path):
    """Rebuild the table and targets of a results file from its .json twin
    (same data; for a change of the report code).  The header is kept."""
    with open(os.path.splitext(md_path)[0] + '.json') as fh:
        raw = json.load(fh)
    data = {}
    for key, runs in raw.items():
        n, col = key.split('/', 1)
        data[(int(n), col)] = runs
    notes = dict(((n, 'lvol'), lvol_plan(n)[1]) for n in SIZES)
    table, values = build(data, notes)
    old = open(md_path).read().split('\n')
    start = next(i for i, ln in enumerate(old) if ln.startswith('| scenario'))
    text = '\n'.join(old[:start]) + '\n' + report_tail(table, targets(values))
    with open(md_path, 'w') as fh:
        fh.write(text + '\n')
    print(text)
    return 0


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--render':
        sys.exit(render(sys.argv[2]))
    sys.exit(main())
