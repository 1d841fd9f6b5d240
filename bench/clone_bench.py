# -*- coding: utf-8 -*-
"""Clone of a thick volume with 10% of it written: cinderkit vs plain dd (issue 3).

Runs where device-mapper is (bench/clone.sh starts it in the test VM here).  One
VG, one source volume with 10% of its extents written (1 MiB pieces spread over
the whole volume, the rest never written), then CLONE_RUNS times (default 3), the
columns interleaved:

* cinderkit: ``cinderkit.storage.volume`` with ``source: {volume: ...}`` (module run
  in this process), which copies through a temporary snapshot with ``qemu-img
  convert`` (zero runs become write-zeroes, not data);
* dd: a new LV of the same size and ``dd if=SRC of=DST bs=1M oflag=direct``;
* the floors: reading the whole source, and the raw ``qemu-img convert`` cinderkit
  runs, straight from the source into a fresh LV.

For each: seconds, and what landed in the loop file under the VG, from its extent
map (FIEMAP through ``filefrag``): bytes of data extents (really written) and bytes
of unwritten extents (ranges the kernel zeroed without writing data, as
write-zeroes requests become on ext4).  The block layer's own counters cannot tell
the two apart (write-zeroes count as writes there).  Prints a markdown table and
writes it to $BENCH_OUT (default bench/results/).
"""

import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))

from support import LoopVG, run_module  # noqa: E402
from results_io import save_table  # noqa: E402
from sparse_source import GiB, MiB, SIZE, WRITTEN, write_spread  # noqa: E402


def sh(*argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout


def extents(path):
    """(bytes in data extents, bytes in unwritten extents) of ``path`` (filefrag -v)."""
    out = sh('filefrag', '-v', path)
    block = 4096
    data = unwritten = 0
    for line in out.splitlines():
        if 'blocksize of' in line:
            block = int(line.split('blocksize of')[1].split()[0].rstrip(')'))
            continue
        parts = line.split(':')
        if len(parts) < 4 or not parts[0].strip().isdigit():
            continue
        length = int(parts[3].strip().split()[0]) * block
        if 'unwritten' in line:
            unwritten += length
        else:
            data += length
    return data, unwritten


def write_ten_percent(dev):
    return write_spread(dev, SIZE, WRITTEN)


def measure(fn, backing):
    os.sync()
    d0, u0 = extents(backing)
    t0 = time.time()
    fn()
    os.sync()
    secs = time.time() - t0
    d1, u1 = extents(backing)
    return secs, d1 - d0, u1 - u0


RUNS = int(os.environ.get('CLONE_RUNS', '3'))
LABELS = ('cinderkit clone (temporary snapshot + qemu-img convert)',
          'plain dd bs=1M oflag=direct',
          'floor: read the source only (dd bs=1M iflag=direct of=/dev/null)',
          'qemu-img convert -t none -T none from the source (what cinderkit runs, no snapshot)')


def main():
    vg = LoopVG(size_gb=SIZE * 4.4 / GiB + 1, activation=True)
    load0 = os.getloadavg()
    try:
        # the temporary snapshot of a clone only holds what changes during the copy: 25%
        b = vg.backend(lvm_snapshot_cow_percent=25, volume_clear='none')
        r = run_module('volume', dict(backend=b, name='src', size='%dM' % (SIZE // MiB)))
        assert not r.get('failed'), r.get('msg')
        src = '/dev/%s/src' % vg.name
        # make the whole source LV hold zeros first, so "unwritten" means zeros for every copy
        sh('blkdiscard', '--zeroout', src)
        data = write_ten_percent(src)
        backing = vg.files[0]

        def fresh_lv(name):
            vg.lvm(['lvcreate', '--yes', '--zero', 'n', '-n', name, '-L', '%db' % SIZE, vg.name])
            return '/dev/%s/%s' % (vg.name, name)

        def drop(name):
            vg.lvm(['lvremove', '--yes', '%s/%s' % (vg.name, name)])

        def punch_free():
            # every copy starts on never-written space: the VG's free extents are discarded
            # (holes in the loop file), so "data written" counts only what this copy wrote
            vg.lvm(['lvcreate', '--yes', '--zero', 'n', '-n', 'free-space', '-l', '100%FREE', vg.name])
            sh('blkdiscard', '--force', '/dev/%s/free-space' % vg.name)
            drop('free-space')

        def same(name):
            if sh('cmp', '--bytes=%d' % SIZE, src, '/dev/%s/%s' % (vg.name, name)) != '':
                raise AssertionError('%s differs from the source' % name)

        def ck_clone():
            res = run_module('volume', dict(backend=b, name='ck-clone', source={'volume': 'src'}))
            assert not res.get('failed'), res.get('msg')

        samples = dict((label, []) for label in LABELS)
        # the columns interleaved, RUNS times; every cinderkit clone compared with the source, the
        # raw copies in the first run (a compare reads 2 x CLONE_GB: minutes in a TCG guest)
        for run in range(RUNS):
            sys.stderr.write('[clone bench %s] run %d of %d\n' % (time.strftime('%H:%M:%S'), run + 1, RUNS))
            sys.stderr.flush()
            punch_free()
            samples[LABELS[0]].append(measure(ck_clone, backing))
            same('ck-clone')
            drop('ck-clone')
            punch_free()
            dst = fresh_lv('dd-copy')
            samples[LABELS[1]].append(measure(
                lambda: sh('dd', 'if=%s' % src, 'of=%s' % dst, 'bs=1M', 'oflag=direct', 'status=none'),
                backing))
            if run == 0:
                same('dd-copy')
            drop('dd-copy')
            # the floors under any copy of a thick source, which cannot tell written from
            # unwritten ranges: reading all of it, and qemu-img convert itself into a fresh LV
            samples[LABELS[2]].append(measure(
                lambda: sh('dd', 'if=%s' % src, 'of=/dev/null', 'bs=1M', 'iflag=direct', 'status=none'),
                backing))
            punch_free()
            qdst = fresh_lv('qi-copy')
            samples[LABELS[3]].append(measure(
                lambda: sh('qemu-img', 'convert', '-n', '-f', 'raw', '-O', 'raw', '-t', 'none',
                           '-T', 'none', src, qdst), backing))
            if run == 0:
                same('qi-copy')
            drop('qi-copy')
        rows = [(label,) + tuple(statistics.median(s[i] for s in samples[label]) for i in range(3))
                + (samples[label],) for label in LABELS]
        table = render(rows, data, load0, os.getloadavg())
        print(table)
        save_table('clone', table)
    finally:
        vg.close()


def render(rows, data, load0, load1):
    now = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    where = os.environ.get('BENCH_WHERE', 'this host')
    lines = ['# Clone of a %d GiB thick volume with %d%% written' % (SIZE // GiB, round(WRITTEN * 100)), '',
             '- date: %s; kernel %s; %s; medians of %d runs, the columns interleaved'
             % (now, platform.release(), where, RUNS),
             '- load average at start: %s; at end: %s' % (' '.join('%.2f' % x for x in load0),
                                                          ' '.join('%.2f' % x for x in load1)),
             '- source: %d MiB of random data in 1 MiB pieces spread over the volume, the rest zeros'
             % (data // MiB),
             '- "data written" / "zeroed, no data": growth of the data / unwritten extents of the loop '
             'file under the VG (FIEMAP); the source had been zeroed with blkdiscard -z first, and the VG\'s '
             'free extents are discarded before each copy',
             '- compared with cmp against the source, identical: every cinderkit clone, the raw '
             'copies of the first run', '',
             '| copy | seconds (median) | each run | data written | zeroed, no data |',
             '|---|---|---|---|---|']
    for name, secs, w, z, runs in rows:
        lines.append('| %s | %.1f | %s | %.0f MiB | %.0f MiB |' % (
            name, secs, ', '.join('%.1f' % r[0] for r in runs), w / MiB, z / MiB))
    ck, dd, floor, qi = rows
    lines += ['',
              '- cinderkit wrote %.1fx less data than dd (%.0f vs %.0f MiB) and was %.2fx faster.'
              % (dd[2] / max(ck[2], MiB), ck[2] / MiB, dd[2] / MiB, dd[1] / ck[1]),
              '- the floor of any copy of a thick source (it must be read in full: nothing in it '
              'tells written from never-written ranges) is %.1f s, so no copy can be more than '
              '%.1fx faster than dd here; cinderkit is %.2fx that floor and %.2fx the raw qemu-img '
              'convert it runs (the rest: the module, the temporary snapshot, the LV create).'
              % (floor[1], dd[1] / floor[1], ck[1] / floor[1], ck[1] / qi[1]), '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
