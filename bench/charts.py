# -*- coding: utf-8 -*-
"""Charts beside the benchmark tables: time against N, from a results file's .json twin.

    python bench/charts.py [--latest] bench/results/X.json ...

writes bench/results/X.svg for each file (matplotlib, no display; the SVG is reproducible:
no date, fixed ids).  The kind is read from the data:

* the volume bench (``lvm_bench.py``: keys ``N/column``): create, re-run and delete of N
  volumes for the cinderkit bulk task, looped community.general.lvol and raw LVM (one process
  per LV, and one ``lvm`` process / one ``lvremove``).  A looped lvol cell the bench did not
  measure (it extrapolates it) is drawn as a hollow point on a dotted line, labelled;
* the export bench (``export_bench.py``: ``meta`` + ``runs``): converge, re-run and remove of
  N tgt exports for the cinderkit playbook, the module in-process, raw tgtadm and the floor
  (a ping playbook + raw).

``--latest``: also write ``lvm-latest.svg`` / ``export-latest.svg`` for a dated full run.
Run it with the bench venv (bench/requirements-bench.txt has matplotlib); bench/run.sh does.
"""

import json
import os
import re
import shutil
import statistics
import sys


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def lvm_series(data):
    """{scenario: [(label, style, [(n, seconds, measured)])]} from lvm_bench's JSON."""
    runs = {}
    for key, value in data.items():
        n, col = key.split('/', 1)
        runs[(int(n), col)] = value
    sizes = sorted(set(n for n, dummy in runs))

    def cell(n, col, scen):
        rs = runs.get((n, col)) or []
        return _median([r[scen]['wall'] for r in rs if scen in r and not r[scen].get('error')])
    cols = [('cinderkit', 'cinderkit bulk task (playbook)', dict(color='C0', marker='o')),
            ('lvol', 'looped community.general.lvol (playbook)', dict(color='C3', marker='s')),
            ('raw', 'raw LVM: one process per LV', dict(color='C2', marker='^')),
            ('raw-batch', 'raw LVM: one lvm process (delete: one lvremove)',
             dict(color='C1', marker='v'))]
    out = {}
    for scen, title in (('create', 'create N volumes'), ('rerun', 're-run, nothing to change'),
                        ('delete', 'delete N volumes')):
        series = []
        for col, label, style in cols:
            if col == 'raw' and scen == 'rerun':
                label = 'raw LVM: the one lvs query'
            points = []
            for n in sizes:
                v = cell(n, col, scen)
                if v is not None:
                    points.append((n, v, True))
                elif col == 'lvol' and points:
                    # lvm_bench's extrapolation: the largest measured N, scaled linearly
                    last_n, last_v = points[-1][0], points[-1][1]
                    points.append((n, last_v * n / last_n, False))
            if points:
                series.append((label, style, points))
        out[title] = series
    return out


def export_series(data):
    sizes = sorted(int(n) for n in data['runs'])

    def cell(n, col, scen=None):
        rs = data['runs'][str(n)][col]
        return _median([r['wall'] if scen is None else r[scen]['wall'] for r in rs])
    out = {}
    for scen, title in (('create', 'converge N exports'), ('rerun', 're-run, nothing to change'),
                        ('delete', 'remove N exports')):
        series = [
            ('cinderkit export task (playbook)', dict(color='C0', marker='o'),
             [(n, cell(n, 'cinderkit', scen), True) for n in sizes]),
            ('the module in-process (no Ansible start-up)', dict(color='C4', marker='D'),
             [(n, cell(n, 'inproc', scen), True) for n in sizes]),
            ('raw tgtadm, one process per step', dict(color='C2', marker='^'),
             [(n, cell(n, 'raw', scen), True) for n in sizes]),
            ('floor: ping playbook + raw', dict(color='0.4', marker='', linestyle='--'),
             [(n, cell(n, 'ping') + cell(n, 'raw', scen), True) for n in sizes]),
        ]
        out[title] = [s for s in series if scen != 'rerun' or 'raw tgtadm' not in s[0]
                      or all(p[1] > 0 for p in s[2])]
    return out


def draw(panels, title, path):
    import matplotlib
    matplotlib.use('Agg')
    matplotlib.rcParams['svg.hashsalt'] = 'cinderkit-bench'
    matplotlib.rcParams['svg.fonttype'] = 'none'     # text stays text: small, greppable
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    for ax, (name, series) in zip(axes[0], panels.items()):
        for label, style, points in series:
            measured = [(n, v) for n, v, ok in points if ok and v and v > 0]
            guessed = [(n, v) for n, v, ok in points if not ok]
            style = dict(style)
            linestyle = style.pop('linestyle', '-')
            if measured:
                ax.plot([p[0] for p in measured], [p[1] for p in measured], label=label,
                        linestyle=linestyle, **style)
            if guessed:
                last = measured[-1:] if measured else []
                ax.plot([p[0] for p in last + guessed], [p[1] for p in last + guessed],
                        linestyle=':', color=style.get('color'))
                ax.plot([p[0] for p in guessed], [p[1] for p in guessed], linestyle='none',
                        marker=style.get('marker') or 'o', markerfacecolor='none',
                        color=style.get('color'), label='%s, extrapolated (not measured)' % label)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_title(name)
        ax.set_xlabel('N (log scale)')
        ax.set_ylabel('seconds, median (log scale)')
        ax.grid(True, which='both', alpha=0.3)
        sizes = sorted(set(p[0] for dummy, dummy2, pts in series for p in pts))
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(n) for n in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())     # N's own ticks only
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.suptitle(title)
    fig.legend(handles, labels, loc='lower center', ncol=2, frameon=False, fontsize='small')
    fig.tight_layout(rect=(0, 0.06 + 0.035 * ((len(labels) + 1) // 2), 1, 0.95))
    fig.savefig(path, format='svg', metadata={'Date': None})
    plt.close(fig)


def chart(json_path, latest=False):
    with open(json_path) as fh:
        data = json.load(fh)
    stem = os.path.splitext(json_path)[0]
    base = os.path.basename(stem)
    if 'meta' in data and 'runs' in data:
        meta = data['meta']
        title = 'tgt exports in one task (medians of %d runs; load average %s at start, %s at end)' % (
            meta.get('runs', 0), meta.get('load_start', '?'), meta.get('load_end', '?'))
        panels, kind = export_series(data), 'export'
    else:
        title = 'volumes in one task vs looped lvol vs raw LVM (%s)' % base
        panels, kind = lvm_series(data), 'lvm'
    out = stem + '.svg'
    draw(panels, title, out)
    written = [out]
    if latest and re.match(r'^(lvm|export)-\d{4}-\d{2}-\d{2}-\d{4}$', base):
        copy = os.path.join(os.path.dirname(out), '%s-latest.svg' % kind)
        shutil.copyfile(out, copy)
        written.append(copy)
    return written


def main(argv):
    latest = '--latest' in argv
    paths = [a for a in argv if a != '--latest']
    if not paths:
        sys.stderr.write(__doc__)
        return 2
    for p in paths:
        for out in chart(p, latest):
            print('[bench] chart %s' % os.path.relpath(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
