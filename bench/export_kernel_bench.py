# -*- coding: utf-8 -*-
"""Bulk exports on the kernel targets (issue 12, Build 2): LIO and nvmet against raw writes.

Needs a kernel with LIO and nvmet (and device-mapper for the LVs): on this lab's hosts run it
in the guest, ``bench/export_kernel.sh`` (``tests/harness/vm.sh run``).  For each helper and N:

* cinderkit, task: one ``cinderkit.storage.export`` task with ``volumes:`` (N exports, one
  initiator ACL / allowed host each, CHAP for LIO), through ansible-playbook;
* cinderkit, module: the same module's ``main()`` in-process (no Ansible start-up, no
  AnsiballZ): what the module itself costs;
* raw: the same objects made directly, then saved once: rtslib-fb objects (block backstore,
  target, TPG, LUN, portal, node ACL with CHAP, mapped LUN) and ``saveconfig`` for LIO;
  configfs mkdir/writes (subsystem, namespace, port link, host link) for nvmet.  No ownership
  record, no checks: a floor, not an equivalent.

Removal is measured the same way.  Medians of BENCH_RUNS (3).  Writes
bench/results/export-kernel-latest.md.
"""

from __future__ import print_function

import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
sys.path.insert(0, os.path.join(ROOT, '.build', 'collections'))

from support import LoopVG, Play, run_module, sh  # noqa: E402

SIZES = [int(x) for x in os.environ.get('BENCH_KERNEL_EXPORTS', '50').split(',')]
RUNS = int(os.environ.get('BENCH_RUNS', '3'))
RESULTS = os.environ.get('BENCH_RESULTS', os.path.join(HERE, 'results'))
COLUMNS = os.environ.get('BENCH_KERNEL_COLUMNS', 'task,module,raw').split(',')
PROFILE = os.environ.get('BENCH_PROFILE') == '1'
HELPERS = os.environ.get('BENCH_KERNEL_HELPERS', 'lioadm,nvmet').split(',')
INITIATOR = 'iqn.1994-05.com.example:bench'
HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:0b6c1f2e-3d4a-4b5c-8d6e-7f8091a2b3c4'
NVMET = '/sys/kernel/config/nvmet'


def backend(vg, helper):
    if helper == 'lioadm':
        return vg.backend(target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260,
                          use_chap_auth=True)
    return vg.backend(target_helper='nvmet', target_protocol='nvmet_tcp', target_ip_address='127.0.0.1',
                      target_port=4420, target_prefix='nvme-bench', nvmet_port_id=7)


def connector(helper):
    return dict(initiator=INITIATOR) if helper == 'lioadm' else dict(nqn=HOSTNQN)


def export_args(vg, helper, names, state):
    args = dict(backend=backend(vg, helper), volumes=[dict(volume=n) for n in names])
    if state == 'present':
        args['connector'] = connector(helper)
    else:
        args['state'] = 'absent'
    return args


def ck_task(play, vg, helper, names, state):
    args = export_args(vg, helper, names, state)
    t0 = time.time()
    res = play.run([{'cinderkit.storage.export': args}])
    wall = time.time() - t0
    if res[0].get('failed'):
        raise RuntimeError('export %s failed: %s' % (state, res[0].get('msg')))
    return wall


def ck_module(vg, helper, names, state):
    args = export_args(vg, helper, names, state)
    t0 = time.time()
    if PROFILE:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        res = prof.runcall(run_module, 'export', args)
        wall = time.time() - t0
        log('profile of the %s %s module run (%.2f s):' % (helper, state, wall))
        pstats.Stats(prof, stream=sys.stderr).sort_stats('cumulative').print_stats(30)
    else:
        res = run_module('export', args)
        wall = time.time() - t0
    if res.failed:
        raise RuntimeError('export %s failed: %s' % (state, res.get('msg')))
    return wall


def raw_lio(vg, names, state):
    from rtslib_fb import root as rroot
    from rtslib_fb import target as rtarget
    from rtslib_fb import tcm
    from rtslib_fb.fabric import ISCSIFabricModule
    t0 = time.time()
    root = rroot.RTSRoot()
    if state == 'present':
        fabric = ISCSIFabricModule()
        for n in names:
            so = tcm.BlockStorageObject('raw-' + n, dev='/dev/%s/%s' % (vg.name, n))
            tgt = rtarget.Target(fabric, 'iqn.2010-10.org.bench:raw-' + n)
            tpg = rtarget.TPG(tgt, 1)
            lun = rtarget.LUN(tpg, 0, so)
            rtarget.NetworkPortal(tpg, '127.0.0.1', 3261)
            acl = rtarget.NodeACL(tpg, INITIATOR)
            acl.chap_userid = 'u' + n[-6:]
            acl.chap_password = 'p' * 16
            rtarget.MappedLUN(acl, 0, lun)
            tpg.enable = True
    else:
        want = set('iqn.2010-10.org.bench:raw-' + n for n in names)
        for t in list(root.targets):
            if t.wwn in want:
                t.delete()
        for so in list(root.storage_objects):
            if so.name.startswith('raw-'):
                so.delete()
    root.save_to_file()
    return time.time() - t0


def _write(path, value):
    with open(path, 'w') as fh:
        fh.write(value)


def raw_nvmet(vg, names, state):
    t0 = time.time()
    port = os.path.join(NVMET, 'ports', '8')
    host = os.path.join(NVMET, 'hosts', HOSTNQN)
    if state == 'present':
        if not os.path.isdir(host):
            os.mkdir(host)
        if not os.path.isdir(port):
            os.mkdir(port)
            for k, v in (('addr_trtype', 'tcp'), ('addr_adrfam', 'ipv4'), ('addr_traddr', '127.0.0.1'),
                         ('addr_trsvcid', '4425')):
                _write(os.path.join(port, k), v)
        for n in names:
            sub = os.path.join(NVMET, 'subsystems', 'nqn.raw-bench:' + n)
            os.mkdir(sub)
            _write(os.path.join(sub, 'attr_allow_any_host'), '0')
            os.symlink(host, os.path.join(sub, 'allowed_hosts', HOSTNQN))
            ns = os.path.join(sub, 'namespaces', '1')
            os.mkdir(ns)
            _write(os.path.join(ns, 'device_path'), '/dev/%s/%s' % (vg.name, n))
            _write(os.path.join(ns, 'enable'), '1')
            os.symlink(sub, os.path.join(port, 'subsystems', 'nqn.raw-bench:' + n))
        save = []
        for n in names:  # one save, as a JSON dump of what was made (nvmetcli's format is similar)
            save.append(dict(nqn='nqn.raw-bench:' + n, device='/dev/%s/%s' % (vg.name, n)))
        with open(os.path.join(tempfile.gettempdir(), 'raw-nvmet.json'), 'w') as fh:
            json.dump(save, fh)
            fh.flush()
            os.fsync(fh.fileno())
    else:
        for n in names:
            sub = os.path.join(NVMET, 'subsystems', 'nqn.raw-bench:' + n)
            os.unlink(os.path.join(port, 'subsystems', 'nqn.raw-bench:' + n))
            os.unlink(os.path.join(sub, 'allowed_hosts', HOSTNQN))
            _write(os.path.join(sub, 'namespaces', '1', 'enable'), '0')
            os.rmdir(os.path.join(sub, 'namespaces', '1'))
            os.rmdir(sub)
        os.rmdir(port)
        os.rmdir(host)
    return time.time() - t0


RAW = {'lioadm': raw_lio, 'nvmet': raw_nvmet}


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def secs(value):
    return 'not measured' if value is None else '%.2f s' % value


def ratio(value, floor):
    return 'n/a' if value is None or floor is None else '%.2fx' % (value / max(floor, 1e-6))


def measure(vg, helper, n, play):
    names = ['kx%04d' % i for i in range(n)]
    row = {}
    for run in range(RUNS):
        log('%s N=%d run %d of %d' % (helper, n, run + 1, RUNS))
        for col, fn in (('task', lambda s: ck_task(play, vg, helper, names, s)),
                        ('module', lambda s: ck_module(vg, helper, names, s)),
                        ('raw', lambda s: RAW[helper](vg, names, s))):
            if col not in COLUMNS:
                continue
            for state in ('present', 'absent'):
                row.setdefault((col, state), []).append(fn(state))
    return dict((k, statistics.median(v)) for k, v in row.items())


def main():
    for m in ('target_core_mod', 'iscsi_target_mod', 'target_core_iblock', 'nvmet', 'nvmet-tcp'):
        sh(['modprobe', m])
    load0 = os.getloadavg()
    table = []
    with LoopVG(size_gb=4, activation=True) as vg:
        n_max = max(SIZES)
        res = run_module('volume', dict(backend=vg.backend(), volumes=[
            dict(name='kx%04d' % i, size='4M') for i in range(n_max)]))
        if res.failed:
            raise RuntimeError(res.get('msg'))
        play = Play()
        for helper in HELPERS:
            for n in SIZES:
                table.append((helper, n, measure(vg, helper, n, play)))
    load1 = os.getloadavg()
    lines = ['# Bulk exports on LIO and nvmet (in the VM guest)', '',
             '- date: %s; medians of %d runs; %s' % (time.strftime('%Y-%m-%d %H:%M'), RUNS, os.uname().release),
             '- load average at start: %.2f %.2f %.2f; at end: %.2f %.2f %.2f' % (load0 + load1),
             '- task = the whole ansible-playbook run of one export task; module = main() in-process; '
             'raw = rtslib-fb objects + one saveconfig (LIO), configfs writes + one JSON save (nvmet)',
             '',
             '| helper | N | create: task | create: module | create: raw | module / raw | '
             'remove: task | remove: module | remove: raw | module / raw |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for helper, n, r in table:
        cells = [helper, str(n)]
        for state in ('present', 'absent'):
            cells += [secs(r.get((col, state))) for col in ('task', 'module', 'raw')]
            cells.append(ratio(r.get(('module', state)), r.get(('raw', state))))
        lines.append('| %s |' % ' | '.join(cells))
    text = '\n'.join(lines) + '\n'
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, 'export-kernel-latest.md'), 'w') as fh:
        fh.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
