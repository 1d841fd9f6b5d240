# -*- coding: utf-8 -*-
"""The molecule scenarios (extensions/molecule/default, lio, nvmet) as pytest tests.

pytest-ansible finds every tracked ``molecule/*/molecule.yml`` and parametrizes the
``molecule_scenario`` fixture with them; ``MoleculeScenario.test()`` runs ``molecule test -s NAME``
from the scenario's parent directory. Run by tests/harness/molecule.sh (``make molecule``), which
selects the collection's own scenarios; the host tier does not collect this file (pytest.ini).

A scenario that cannot run on this host writes its reason to $CINDERKIT_MOLECULE_REPORT (see
extensions/molecule/shared/tasks/not_run.yml); it is reported as a skip, and tests/conftest.py
fails the run unless CINDERKIT_ALLOW_SKIP names the scenario (or "molecule", or 1).
"""

import pytest

from pytest_ansible.molecule import MoleculeScenario

from molecule_support import StageClock, write_record


def test_integration(molecule_scenario: MoleculeScenario, monkeypatch, tmp_path) -> None:
    """Run ``molecule test`` for one scenario; time and record every stage."""
    name = molecule_scenario.name
    report = tmp_path / 'not-run.txt'
    monkeypatch.setenv('CINDERKIT_MOLECULE_REPORT', str(report))
    # plain, unbuffered output: the clock sees each line when it is written
    monkeypatch.setenv('PYTHONUNBUFFERED', '1')
    monkeypatch.setenv('NO_COLOR', '1')
    monkeypatch.setenv('ANSIBLE_NOCOLOR', '1')
    with StageClock(name) as clock:
        proc = molecule_scenario.test()
    reason = report.read_text().strip() if report.exists() else None
    write_record(name, proc.returncode, clock, reason if proc.returncode else None)
    if proc.returncode != 0 and reason:
        pytest.skip('molecule scenario %s not run on this host: %s' % (name, reason))
    assert proc.returncode == 0, 'molecule test -s %s failed (rc %d) in stage %s' % (
        name, proc.returncode, clock.failed_stage() or '?')
