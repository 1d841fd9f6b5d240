# -*- coding: utf-8 -*-
"""Clone of a sparse ``file``-driver volume with 10% written: cinderkit vs dd and cp (issue 12).

Runs on this host (no device-mapper needed): one ``file_volume_dir`` under
$CINDERKIT_TEST_WORKDIR (default /tmp), one source volume of CLONE_GB GiB made by the
``volume`` module, 1 MiB of random data every 10 MiB (CLONE_WRITTEN), the rest never
written.  Then, per run (CLONE_RUNS, default 3, columns interleaved):

* cinderkit: ``cinderkit.storage.volume`` with ``source: {volume: src}`` (module run in
  this process): a reflink where the file system shares extents, else only the allocated
  ranges (SEEK_DATA/SEEK_HOLE, ``copy_file_range``);
* ``dd bs=1M`` (the issue's peer) and ``dd bs=1M conv=sparse`` (skips all-zero blocks,
  but reads all of them);
* ``cp --sparse=always`` (coreutils: SEEK_DATA/SEEK_HOLE, like cinderkit);
* the floor of a copy that cannot tell data from holes: reading the whole source
  (``dd bs=1M of=/dev/null``).

Each copy ends with fsync.  "data written" is the allocated size of the copy (st_blocks).
Every copy is compared with the source (cmp).  Prints a markdown table (medians) and
writes it to bench/results/clone-file-*.md.
"""

import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))

from support import run_module  # noqa: E402
from results_io import save_table  # noqa: E402
from sparse_source import GiB, MiB, SIZE, WRITTEN, write_spread  # noqa: E402
RUNS = int(os.environ.get('CLONE_RUNS', '3'))


def sh(*argv):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_ten_percent(path):
    return write_spread(path, SIZE, WRITTEN)


def copy_kind(directory):
    """What the file driver does here: 'reflink' where the file system shares extents."""
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._file import reflink
    a, b = (os.path.join(directory, '.probe-%s' % x) for x in 'ab')
    with open(a, 'w+b') as fa, open(b, 'wb') as fb:
        fa.write(b'x' * 4096)
        fa.flush()
        shared = reflink(fa.fileno(), fb.fileno())
    os.unlink(a)
    os.unlink(b)
    return ('a reflink (extents shared, no data moved)' if shared else
            'no reflink on this file system: a copy of the allocated ranges only '
            '(SEEK_DATA/SEEK_HOLE + copy_file_range)')


def fs_type(path):
    return sh('stat', '-f', '-c', '%T', path).strip()


def main():
    base = tempfile.mkdtemp(prefix='ck-clone-file-', dir=os.environ.get('CINDERKIT_TEST_WORKDIR', '/tmp'))
    vdir = os.path.join(base, 'volumes')
    os.mkdir(vdir)
    b = dict(volume_driver='file', file_volume_dir=vdir)
    load0 = os.getloadavg()
    started = datetime.datetime.now()
    try:
        r = run_module('volume', dict(backend=b, name='src', size='%dM' % (SIZE // MiB)))
        assert not r.get('failed'), r.get('msg')
        src = os.path.join(vdir, 'src')
        data = write_ten_percent(src)

        def ck(dst):
            res = run_module('volume', dict(backend=b, name=os.path.basename(dst), source={'volume': 'src'}))
            assert not res.get('failed'), res.get('msg')
            return res

        columns = (
            ('cinderkit clone (file driver)', ck, True),
            ('dd bs=1M', lambda dst: sh('dd', 'if=%s' % src, 'of=%s' % dst, 'bs=1M', 'status=none'), True),
            ('dd bs=1M conv=sparse', lambda dst: sh('dd', 'if=%s' % src, 'of=%s' % dst, 'bs=1M',
                                                    'conv=sparse', 'status=none'), True),
            ('cp --sparse=always', lambda dst: sh('cp', '--sparse=always', src, dst), True),
            ('floor without an allocation map: read the whole source (dd bs=1M of=/dev/null)',
             lambda dst: sh('dd', 'if=%s' % src, 'of=/dev/null', 'bs=1M', 'status=none'), False),
        )
        times = {c[0]: [] for c in columns}
        written = {}
        # the first clone of the task imports the copy path: not part of any timed column
        run_module('volume', dict(backend=b, name='warm', size='1M'))
        ck(os.path.join(vdir, 'warm-clone'))
        how = copy_kind(vdir)
        for run in range(RUNS):
            for i, (label, fn, makes) in enumerate(columns):
                dst = os.path.join(vdir, 'copy%d-%d' % (i, run))
                os.sync()
                t0 = time.time()
                fn(dst)
                if makes:
                    fsync_path(dst)
                times[label].append(time.time() - t0)
                if makes:
                    written[label] = os.stat(dst).st_blocks * 512
                    if sh('cmp', '--bytes=%d' % SIZE, src, dst) != '':
                        raise AssertionError('%s differs from the source' % label)
                    if label.startswith('cinderkit'):
                        res = run_module('volume', dict(backend=b, name=os.path.basename(dst), state='absent'))
                        assert not res.get('failed'), res.get('msg')
                    else:
                        os.unlink(dst)
        table = render(columns, times, written, data, load0, os.getloadavg(), started, fs_type(vdir), how)
        print(table)
        save_table('clone-file', table)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def render(columns, times, written, data, load0, load1, started, fstype, how):
    med = {k: statistics.median(v) for k, v in times.items()}
    dd = med['dd bs=1M']
    lines = ['# Clone of a %g GiB sparse file-driver volume with %d%% written (this host)'
             % (SIZE / GiB, round(WRITTEN * 100)), '',
             '- started %s, ended %s; kernel %s; file system %s; medians of %d runs, columns interleaved'
             % (started.strftime('%Y-%m-%d %H:%M'), datetime.datetime.now().strftime('%H:%M'),
                platform.release(), fstype, RUNS),
             '- load average at start: %.2f %.2f %.2f; at end: %.2f %.2f %.2f' % (load0 + load1),
             '- source: %d MiB of random data in 1 MiB pieces spread over the volume, never-written '
             'ranges are holes' % (data // MiB),
             '- each copy ends with fsync; "data written" = the copy\'s allocated size (st_blocks); '
             'every copy compared with cmp against the source: identical',
             '- what cinderkit does here: %s' % how,
             '- cinderkit = the `volume` module\'s main() in this process (warm imports, no Ansible start)', '',
             '| copy | seconds (median) | runs | vs dd bs=1M | data written |',
             '|---|---|---|---|---|']
    for label, _fn, makes in columns:
        lines.append('| %s | %.2f | %s | %.1fx faster | %s |'
                     % (label, med[label], ' / '.join('%.2f' % t for t in times[label]),
                        dd / max(med[label], 1e-6),
                        '%.0f MiB' % (written[label] / MiB) if makes else '- (reads only)'))
    ck = 'cinderkit clone (file driver)'
    lines += ['', '- target (issue 12): at least 5x faster than dd, data written at most 1.1x the data: '
              '%s (%.1fx faster; %.0f MiB written for %.0f MiB of data = %.2fx)'
              % ('MET' if dd / med[ck] >= 5 and written[ck] <= 1.1 * data else 'NOT MET',
                 dd / med[ck], written[ck] / MiB, data / MiB, written[ck] / data), '']
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
