# -*- coding: utf-8 -*-
"""VM tier: the driver contract (tests/integration/contract/scenarios.py) on LVM's bytes.

The host tier runs the same scenarios on LVM's metadata, the file driver and RBD; here
device-mapper lets every scenario read back what it wrote.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'contract'))

import rigs  # noqa: E402
from scenarios import SCENARIOS, applies  # noqa: E402
from support import LoopVG  # noqa: E402


class _Probe(object):
    driver, data = 'lvm', True


CASES = [s for s in sorted(SCENARIOS) if applies(_Probe(), s)]


@pytest.fixture(scope='module')
def contract_vg():
    vg = LoopVG(size_gb=2, activation=True)
    yield vg
    vg.close()


def test_every_scenario_applies_to_lvm():
    assert CASES == sorted(SCENARIOS)


@pytest.mark.parametrize('scenario', CASES)
def test_lvm_contract(contract_vg, tmp_path, scenario):
    SCENARIOS[scenario][0](rigs.LvmRig(contract_vg), tmp_path)
