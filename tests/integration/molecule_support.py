# -*- coding: utf-8 -*-
"""Support for the molecule tier (tests/integration/test_integration.py, run by tests/harness/molecule.sh).

``StageClock``: pytest-ansible's ``MoleculeScenario.test()`` runs ``molecule test -s NAME`` with
this process's stdout and stderr.  While it runs, both go through a pipe: every line is shown with
the time since the scenario started, and molecule's own stage lines (``[default > converge]
Executing`` ... ``[default > converge] Executed: Successful``) give each stage's outcome and time.

``write_record``: one JSON file per scenario in ``$CINDERKIT_MOLECULE_RESULTS`` (outcome, reason,
stages), which tests/harness/molecule.sh turns into its summary table.
"""

import json
import os
import re
import sys
import threading
import time

ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
# "INFO     [default > converge] Executing" (plain) or "default ➜ converge: Executing" (colours)
STAGE_LINE = re.compile(r'\[(?P<a>[^\]\s]+) > (?P<sa>[\w-]+)\]\s+(?P<ma>.*)$'
                        r'|^\S+\s+(?P<b>\S+) \u279c (?P<sb>[\w-]+): (?P<mb>.*)$')


def _clock(seconds):
    return '%02d:%02d' % divmod(int(seconds), 60)


class StageClock(object):
    """Time-stamp the output of a molecule run and record its stages (see the module docstring)."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.stages = []        # [{'stage', 'outcome', 'seconds'}] in the order molecule ran them
        self.seconds = None
        self._started = {}
        self._done = False      # after molecule's closing summary (DETAILS), stop parsing
        self._t0 = None
        self._saved = None
        self._out = None
        self._reader = None

    # -- context -------------------------------------------------------------------------------
    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self._t0 = time.monotonic()
        self._saved = (os.dup(1), os.dup(2))
        self._out = os.fdopen(os.dup(self._saved[0]), 'wb', buffering=0)
        r, w = os.pipe()
        os.dup2(w, 1)
        os.dup2(w, 2)
        os.close(w)
        self._reader = threading.Thread(target=self._pump, args=(r,), name='molecule-clock')
        self._reader.daemon = True
        self._reader.start()
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)     # the last write ends of the pipe close here: EOF
        os.dup2(self._saved[1], 2)
        os.close(self._saved[0])
        os.close(self._saved[1])
        self._reader.join(60)
        self.seconds = time.monotonic() - self._t0
        self._write('[%s] molecule %s: %d stages in %.0fs\n'
                    % (_clock(self.seconds), self.scenario, len(self.stages), self.seconds))
        self._out.close()
        return False

    # -- output ---------------------------------------------------------------------------------
    def _write(self, text):
        data = text.encode('utf-8', 'replace')
        while data:
            data = data[self._out.write(data):]

    def _pump(self, fd):
        with os.fdopen(fd, 'rb') as fh:
            for raw in fh:
                now = time.monotonic() - self._t0
                line = raw.decode('utf-8', 'replace').rstrip('\r\n')
                note = self.note(ANSI.sub('', line).strip(), now)
                self._write('[%s] %s\n' % (_clock(now), line))
                if note:
                    self._write(note)

    def note(self, line, now):
        """Track one output line; return a summary line when a stage ends."""
        if self._done:
            return None
        if line.startswith('DETAILS'):
            self._done = True
            return None
        m = STAGE_LINE.search(line)
        if not m:
            return None
        stage = m.group('sa') or m.group('sb')
        msg = (m.group('ma') if m.group('sa') else m.group('mb')).strip()
        if msg == 'Executing':
            self._started[stage] = now
            return None
        outcome = None
        if msg.startswith('Executed: '):
            outcome = msg[len('Executed: '):]
        elif msg.startswith('Skipping'):
            outcome = 'Skipped (%s)' % msg
        if outcome is None:
            return None
        outcome = re.sub(r'\s*\(Remove from \w+ to suppress\)', '', outcome)
        start = self._started.pop(stage, now)
        rec = dict(stage=stage, outcome=outcome[:200], seconds=round(now - start, 1))
        self.stages.append(rec)
        return '[%s] ==== molecule %s > %s: %s in %.1fs\n' % (
            _clock(now), self.scenario, stage, rec['outcome'], rec['seconds'])

    def failed_stage(self):
        for rec in self.stages:
            if rec['outcome'].startswith('Failed'):
                return rec['stage']
        return None


def write_record(scenario, returncode, clock, not_run_reason=None):
    """Write $CINDERKIT_MOLECULE_RESULTS/<scenario>.json (when that variable is set)."""
    out = os.environ.get('CINDERKIT_MOLECULE_RESULTS')
    if not out:
        return None
    if returncode == 0:
        result = 'passed'
    elif not_run_reason:
        result = 'not run'
    else:
        result = 'failed'
    rec = dict(scenario=scenario, result=result, returncode=returncode, reason=not_run_reason,
               failed_stage=clock.failed_stage(), seconds=round(clock.seconds or 0, 1),
               stages=clock.stages)
    if not os.path.isdir(out):
        os.makedirs(out)
    path = os.path.join(out, '%s.json' % scenario)
    with open(path, 'w') as fh:
        json.dump(rec, fh, indent=2)
    return path
