# -*- coding: utf-8 -*-
"""Clone of a thick volume with 10% of it written: cinderkit vs plain dd (issue 3).

Runs where device-mapper is (bench/clone.sh starts it in the test VM here).  One
VG, one source volume with 10% of its extents written (1 MiB pieces spread over
the whole volume, the rest never written), then in the same run:

* cinderkit: ``cinderkit.storage.volume`` with ``source: {volume: ...}`` (module run
  in this process), which copies through a temporary snapshot with ``qemu-img
  convert`` (zero runs become write-zeroes, not data);
* dd: a new LV of the same size and ``dd if=SRC of=DST bs=1M oflag=direct``.

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
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))

from support import LoopVG, run_module  # noqa: E402
from results_io import save_table  # noqa: E402

MiB = 1024 ** 2
GiB = 1024 ** 3
SIZE = int(float(os.environ.get('CLONE_GB', '4')) * GiB)
WRITTEN = float(os.environ.get('CLONE_WRITTEN', '0.10'))


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
    """1 MiB of random data every 1/WRITTEN MiB across the volume."""
    step = int(MiB / WRITTEN)
    chunk = os.urandom(MiB)
    fd = os.open(dev, os.O_WRONLY)
    written = 0
    try:
        for off in range(0, SIZE, step):
            os.pwrite(fd, chunk, off)
            written += MiB
        os.fsync(fd)
    finally:
        os.close(fd)
    return written


def measure(fn, backing):
    os.sync()
    d0, u0 = extents(backing)
    t0 = time.time()
    fn()
    os.sync()
    secs = time.time() - t0
    d1, u1 = extents(backing)
    return secs, d1 - d0, u1 - u0


def main():
    vg = LoopVG(size_gb=SIZE * 4.4 / GiB + 1, activation=True)
    try:
        # the temporary snapshot of a clone only holds what changes during the copy: 25%
        b = vg.backend(lvm_snapshot_cow_percent=25, volume_clear='none')
        r = run_module('volume', dict(backend=b, name='src', size='%dM' % (SIZE // MiB)))
        assert not r.get('failed'), r.get('msg')
        src = '/dev/%s/src' % vg.name
        # make the whole source LV hold zeros first, so "unwritten" means zeros for both copies
        sh('blkdiscard', '--zeroout', src)
        data = write_ten_percent(src)
        backing = vg.files[0]

        def ck_clone():
            res = run_module('volume', dict(backend=b, name='ck-clone', source={'volume': 'src'}))
            assert not res.get('failed'), res.get('msg')

        rows = []
        secs, data_b, zero_b = measure(ck_clone, backing)
        rows.append(('cinderkit clone (temporary snapshot + qemu-img convert)', secs, data_b, zero_b))

        vg.lvm(['lvcreate', '--yes', '--zero', 'n', '-n', 'dd-copy', '-L', '%db' % SIZE, vg.name])
        dst = '/dev/%s/dd-copy' % vg.name

        def dd():
            sh('dd', 'if=%s' % src, 'of=%s' % dst, 'bs=1M', 'oflag=direct', 'status=none')
        secs, data_b, zero_b = measure(dd, backing)
        rows.append(('plain dd bs=1M oflag=direct', secs, data_b, zero_b))

        # the floors under any copy of a thick source, which cannot tell written from unwritten
        # ranges: reading it all, and qemu-img convert itself (as cinderkit runs it, and with
        # out-of-order writes and 16 coroutines) into a fresh LV
        def read_only():
            sh('dd', 'if=%s' % src, 'of=/dev/null', 'bs=1M', 'iflag=direct', 'status=none')
        secs, data_b, zero_b = measure(read_only, backing)
        rows.append(('floor: read the source only (dd bs=1M iflag=direct of=/dev/null)', secs, data_b, zero_b))
        variants = (('qemu-img convert -t none -T none (what cinderkit runs)', []),
                    ('qemu-img convert -t none -T none -W -m 16', ['-W', '-m', '16']))
        for i, (label, extra) in enumerate(variants):
            name = 'qi-copy%d' % i
            vg.lvm(['lvcreate', '--yes', '--zero', 'n', '-n', name, '-L', '%db' % SIZE, vg.name])
            qdst = '/dev/%s/%s' % (vg.name, name)

            def qi(qdst=qdst, extra=extra):
                sh('qemu-img', 'convert', '-n', '-f', 'raw', '-O', 'raw', '-t', 'none', '-T', 'none',
                   *(extra + [src, qdst]))
            secs, data_b, zero_b = measure(qi, backing)
            rows.append((label, secs, data_b, zero_b))
            if sh('cmp', '--bytes=%d' % SIZE, src, qdst) != '':
                raise AssertionError('%s differs from the source' % name)
            vg.lvm(['lvremove', '--yes', '%s/%s' % (vg.name, name)])

        for name in ('ck-clone', 'dd-copy'):
            if sh('cmp', '--bytes=%d' % SIZE, src, '/dev/%s/%s' % (vg.name, name)) != '':
                raise AssertionError('%s differs from the source' % name)
        table = render(rows, data)
        print(table)
        save_table('clone', table)
    finally:
        vg.close()


def render(rows, data):
    now = datetime.datetime.now().strftime('%Y-%m-%d %H:%M')
    where = os.environ.get('BENCH_WHERE', 'this host')
    lines = ['# Clone of a %d GiB thick volume with %d%% written' % (SIZE // GiB, round(WRITTEN * 100)), '',
             '- date: %s; kernel %s; %s' % (now, platform.release(), where),
             '- source: %d MiB of random data in 1 MiB pieces spread over the volume, the rest zeros'
             % (data // MiB),
             '- "data written" / "zeroed, no data": growth of the data / unwritten extents of the loop '
             'file under the VG (FIEMAP); the source had been zeroed with blkdiscard -z first',
             '- every copy compared with cmp against the source: identical', '',
             '| copy | seconds | data written | zeroed, no data |',
             '|---|---|---|---|']
    for name, secs, w, z in rows:
        lines.append('| %s | %.1f | %.0f MiB | %.0f MiB |' % (name, secs, w / MiB, z / MiB))
    base = rows[1]
    ck = rows[0]
    lines += ['', '- cinderkit wrote %.1fx less data than dd (%.0f vs %.0f MiB) in %.2fx the time.'
              % (base[2] / max(ck[2], 1), ck[2] / MiB, base[2] / MiB, ck[1] / base[1]), '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
