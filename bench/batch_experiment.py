# -*- coding: utf-8 -*-
"""How should N lvcreates be fed to LVM?  (a one-off measurement, not part of `make bench`)

Same loop VG setup as the bench (tests/integration/support.py LoopVG, activation off,
backup/archive off, 16 MiB metadata area).  For N new 16 MiB LVs it times:

  each      one lvcreate process per LV (the floor of the issue)
  shell     one `lvm` process fed all N commands on stdin (what the driver does)
  chunks    N/CHUNK `lvm` processes in sequence, CHUNK commands each
  parallelK K `lvm` processes at once, N/K commands each (K defaults to 2; LVM's VG lock
            serialises the metadata update, the rest of each command overlaps)
  aio0      like shell, with --config global/use_aio=0 on every line

Usage: .venv/bin/python bench/batch_experiment.py [N] [modes...]   (root; N defaults to 1000)
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
from support import LoopVG  # noqa: E402

CHUNK = 100


def line(vg, i, extra=''):
    return 'lvcreate --yes --name v%04d --size 16m --addtag ck.kind=volume%s %s' % (i, extra, vg)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    modes = sys.argv[2:] or ['each', 'shell', 'chunks', 'parallel', 'aio0']
    for mode in modes:
        with LoopVG(size_gb=40, activation=False) as vg:
            env = dict(os.environ, **vg.env)
            lines = [line(vg.name, i, ' --config global/use_aio=0' if mode == 'aio0' else '')
                     for i in range(n)]
            t0 = time.time()
            if mode == 'each':
                for ln in lines:
                    subprocess.run(ln.split(), env=env, check=True, capture_output=True)
            elif mode in ('shell', 'aio0'):
                subprocess.run(['lvm'], input='\n'.join(lines) + '\n', env=env, check=True,
                               capture_output=True, text=True)
            elif mode == 'chunks':
                for k in range(0, n, CHUNK):
                    subprocess.run(['lvm'], input='\n'.join(lines[k:k + CHUNK]) + '\n', env=env,
                                   check=True, capture_output=True, text=True)
            elif mode.startswith('parallel'):
                k = int(mode[len('parallel'):] or 2)
                procs = [subprocess.Popen(['lvm'], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, env=env, text=True)
                         for dummy in range(k)]
                for p, part in zip(procs, [lines[i::k] for i in range(k)]):
                    p.stdin.write('\n'.join(part) + '\n')
                    p.stdin.close()
                for p in procs:
                    p.wait()
            secs = time.time() - t0
            made = len(vg.lvs())
            print('%-9s N=%d  %.1f s  (%.1f ms per LV, %d LVs made)' % (mode, n, secs, secs / n * 1000, made),
                  flush=True)


if __name__ == '__main__':
    main()
