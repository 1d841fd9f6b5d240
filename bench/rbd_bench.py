#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RBD at scale: one ``volume`` task with a bulk ``volumes:`` list vs raw python-rbd loops.

On the host tier's one-node Ceph (tests/harness/ceph.sh through ceph_fixtures.cluster, or
CINDERKIT_CEPH_REUSE=DIR).  Per N and repetition, in the same run and the same pool:
a raw ``RBD().create`` loop, a raw ``RBD().remove`` loop (same size, order and features as
the driver), then cinderkit create / re-run / backend_facts / delete (the module's main()
in-process, so the columns compare cluster work, not Ansible's process start).  Medians
of RBD_BENCH_REPS (3).  The cluster calls of backend_facts are counted through
tests/integration/host/ceph_calls.py.  Writes bench/results/rbd-latest.md (and a dated
copy).  Timings never fail the run; a wrong result does.

  RBD_BENCH_N="100 1000"  RBD_BENCH_REPS=3  RBD_BENCH_CALLS_N="10 1000"
  RBD_BENCH_PROFILE=N (cProfile one create/re-run/
  delete of N images, top entries to stderr, no table)
  RBD_BENCH_THREADS="1 4 8 16" (create/delete of the first RBD_BENCH_N with each pool size)
"""

import cProfile
import datetime
import io
import os
import pstats
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path[:0] = [os.path.join(ROOT, 'tests', 'integration', 'host'),
                os.path.join(ROOT, 'tests', 'integration'), os.path.join(ROOT, '.build', 'collections')]

import ceph_fixtures  # noqa: E402
import ceph_calls  # noqa: E402
from support import run_module  # noqa: E402

SIZE = 64 * 1024 ** 2


def ck(module, **args):
    r = run_module(module, args)
    if r.get('failed'):
        raise SystemExit('%s failed: %s' % (module, r.get('msg')))
    return r


def volumes(ceph, names, state='present'):
    return ck('volume', backend=ceph.backend(), volumes=[
        dict(name=n, size='64M', state=state) for n in names])


def facts(ceph):
    return ck('backend_facts', backend=dict(ceph.backend(), volume_backend_name='b'))


def timed(fn, *args):
    t0 = time.time()
    out = fn(*args)
    return time.time() - t0, out


def driver_features(ceph):
    import rbd
    raw = ceph.client.conf_get('rbd_default_features')
    try:
        return int(raw) or rbd.RBD_FEATURE_LAYERING
    except (TypeError, ValueError):
        return rbd.RBD().features_from_string(raw) if raw else rbd.RBD_FEATURE_LAYERING


def raw_create(ceph, names):
    import rbd
    features = driver_features(ceph)
    with ceph.ioctx() as io:
        r = rbd.RBD()
        for n in names:
            r.create(io, n, SIZE, order=22, old_format=False, features=features)


def raw_remove(ceph, names):
    import rbd
    with ceph.ioctx() as io:
        r = rbd.RBD()
        for n in names:
            r.remove(io, n)


def facts_calls(ceph):
    with ceph_calls.counting() as calls:
        facts(ceph)
    return calls


def one_rep(ceph, n, rep):
    names = ['b%d-%05d' % (rep, i) for i in range(n)]
    raw = ['raw%d-%05d' % (rep, i) for i in range(n)]
    row = {}
    row['raw_create'] = timed(raw_create, ceph, raw)[0]
    row['raw_remove'] = timed(raw_remove, ceph, raw)[0]
    row['create'], r = timed(volumes, ceph, names)
    assert r['changed'] and len(ceph.images()) == n, (r.get('msg'), len(ceph.images()))
    row['rerun'], r = timed(volumes, ceph, names)
    assert not r['changed'], 're-run changed something'
    row['facts'], r = timed(facts, ceph)
    assert r['ansible_facts']['cinderkit_backends']['b']['pools'][0]['total_volumes'] == n
    row['facts_calls'] = facts_calls(ceph).total
    row['delete'], r = timed(volumes, ceph, names, 'absent')
    assert r['changed'] and not ceph.images(), ceph.images()[:5]
    return row


def profile(ceph, n):
    names = ['p-%05d' % i for i in range(n)]
    for label, state in (('create', 'present'), ('re-run', 'present'), ('delete', 'absent')):
        prof = cProfile.Profile()
        with ceph_calls.counting() as calls:
            t0 = time.time()
            prof.enable()
            volumes(ceph, names, state)
            prof.disable()
            took = time.time() - t0
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats('tottime').print_stats(12)
        sys.stderr.write('== %s N=%d: %.2f s, %d binding calls (%.1f per image)\n%s\n%s\n' % (
            label, n, took, calls.total, calls.total / float(n),
            ', '.join('%s %d' % kv for kv in calls.counts.most_common()), out.getvalue()))
    with ceph_calls.counting() as calls:
        facts(ceph)
    sys.stderr.write('== backend_facts N=0: %d calls: %s\n' % (calls.total, dict(calls.counts)))


def sweep(ceph, n, reps, threads):
    """Create and delete N images with the driver's pool of each size (in-process)."""
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _rbd
    saved = _rbd.WRITE_THREADS
    lines = ['load average %.2f %.2f %.2f; N = %d, medians of %d' % (os.getloadavg() + (n, reps)), '',
             '| threads | raw create loop | create | raw remove loop | delete |', '|---|---|---|---|---|']
    try:
        for t in threads:
            _rbd.WRITE_THREADS = t
            rows = []
            for rep in range(reps):
                names = ['t%d-%d-%05d' % (t, rep, i) for i in range(n)]
                raw = ['tr%d-%d-%05d' % (t, rep, i) for i in range(n)]
                rows.append((timed(raw_create, ceph, raw)[0], timed(volumes, ceph, names)[0],
                             timed(raw_remove, ceph, raw)[0], timed(volumes, ceph, names, 'absent')[0]))
            med = [statistics.median(r[i] for r in rows) for i in range(4)]
            lines.append('| %d | %.2f s | %.2f s | %.2f s | %.2f s |' % tuple([t] + med))
    finally:
        _rbd.WRITE_THREADS = saved
    return '\n'.join(lines)


def main():
    ns = [int(x) for x in os.environ.get('RBD_BENCH_N', '100 1000').split()]
    reps = int(os.environ.get('RBD_BENCH_REPS', '3'))
    gen = ceph_fixtures.cluster()
    ceph = next(gen)
    try:
        ceph.empty_pool()
        if os.environ.get('RBD_BENCH_PROFILE'):
            profile(ceph, int(os.environ['RBD_BENCH_PROFILE']))
            return 0
        if os.environ.get('RBD_BENCH_THREADS'):
            print(sweep(ceph, int(os.environ.get('RBD_BENCH_N', '100').split()[0]), reps,
                        [int(x) for x in os.environ['RBD_BENCH_THREADS'].split()]))
            return 0
        load0 = os.getloadavg()
        rows = {}
        for n in ns:
            runs = [one_rep(ceph, n, rep) for rep in range(reps)]
            rows[n] = dict((k, statistics.median(r[k] for r in runs)) for k in runs[0])
            sys.stderr.write('[rbd-bench] N=%d done: %s\n' % (n, rows[n]))
        calls = {}
        for n in [int(x) for x in os.environ.get('RBD_BENCH_CALLS_N', '10 1000').split()]:
            names = ['c-%05d' % i for i in range(n)]
            volumes(ceph, names)
            calls[n] = facts_calls(ceph)
            volumes(ceph, names, 'absent')
        load1 = os.getloadavg()
    finally:
        ceph.empty_pool()
        try:
            next(gen)
        except StopIteration:
            pass
    print(table(ns, reps, rows, calls, load0, load1))
    return 0


def table(ns, reps, rows, calls, load0, load1):
    stamp = datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')
    lines = ['# RBD at scale (bench/rbd_bench.py, %s)' % stamp, '',
             'One-node Ceph of the host tier (tests/harness/ceph.sh, 1 bluestore OSD on a sparse '
             'file), 64 MiB images. Medians of %d; every column measured in the same run. '
             'cinderkit: the `volume` module with a bulk `volumes:` list, in-process (no Ansible '
             'process start). Load average at start %.2f %.2f %.2f, at end %.2f %.2f %.2f.'
             % ((reps,) + tuple(load0) + tuple(load1)), '',
             '| N | raw create loop | cinderkit create | ratio | re-run | raw remove loop | '
             'cinderkit delete | ratio | backend_facts |',
             '|---|---|---|---|---|---|---|---|---|']
    for n in ns:
        r = rows[n]
        lines.append('| %d | %.2f s | %.2f s | %.2fx | %.2f s | %.2f s | %.2f s | %.2fx | %.2f s |' % (
            n, r['raw_create'], r['create'], r['create'] / r['raw_create'], r['rerun'],
            r['raw_remove'], r['delete'], r['delete'] / r['raw_remove'], r['facts']))
    lines += ['', '| images | backend_facts librados/librbd calls | by call |', '|---|---|---|']
    for n in sorted(calls):
        lines.append('| %d | %d | %s |' % (n, calls[n].total, ', '.join(
            '%s %d' % kv for kv in sorted(calls[n].counts.items()))))
    text = '\n'.join(lines) + '\n'
    out = os.path.join(ROOT, 'bench', 'results')
    for name in ('rbd-latest.md', 'rbd-%s.md' % datetime.datetime.utcnow().strftime('%Y-%m-%d-%H%M')):
        with open(os.path.join(out, name), 'w') as fh:
            fh.write(text)
    return text


if __name__ == '__main__':
    sys.exit(main())
