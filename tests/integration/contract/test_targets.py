# -*- coding: utf-8 -*-
"""The target-helper contract on tgt (an isolated tgtd; libiscsi and qemu-img initiators).
LIO and nvmet run the same scenarios in the VM (tests/integration/vm/test_contract_targets.py)."""

import hashlib
import os

import pytest

from export_support import (GOOD_IQN, OTHER_IQN, TgtDaemon, backing_file, iscsi_login_ok,
                            iscsi_read)
from support import pattern
from target_scenarios import TARGET_SCENARIOS

MiB = 1024 ** 2


class TgtRig(object):
    volume_type = 'iscsi'
    initiator, other = GOOD_IQN, OTHER_IQN
    volume = 'ctvol'

    def __init__(self, tgtd, tmp_path):
        self.tgtd = tgtd
        self.volumes_dir = str(tmp_path / 'volumes')
        self.backend = dict(tgt_control_port=tgtd.control, target_port=tgtd.port,
                            target_ip_address='127.0.0.1', volumes_dir=self.volumes_dir)
        self.data = pattern(11, MiB)
        self.device = backing_file(str(tmp_path / 'ct.img'), 32 * MiB, self.data)

    def _creds(self, res):
        d = res['connection_info']['data']
        return d['target_iqn'], d.get('auth_username'), d.get('auth_password')

    def read(self, res, size):
        iqn, user, password = self._creds(res)
        return iscsi_read(self.tgtd.port, iqn, user, password, size, initiator=self.initiator)

    def login_refused(self, res):
        iqn, user, password = self._creds(res)
        return not iscsi_login_ok(self.tgtd.port, iqn, user, password, initiator=self.initiator)[0]

    def state(self):
        files = []
        if os.path.isdir(self.volumes_dir):
            for f in sorted(os.listdir(self.volumes_dir)):
                with open(os.path.join(self.volumes_dir, f), 'rb') as fh:
                    files.append((f, hashlib.sha256(fh.read()).hexdigest()))
        return self.tgtd.targets(), files


@pytest.fixture
def tgt_rig(need, tmp_path):
    need('tgtd', 'tgtadm', 'tgt-admin', 'iscsi-readcapacity16', 'qemu-img')
    d = TgtDaemon()
    yield TgtRig(d, tmp_path)
    d.close()


@pytest.mark.parametrize('scenario', sorted(TARGET_SCENARIOS))
def test_tgt_contract(tgt_rig, scenario):
    TARGET_SCENARIOS[scenario](tgt_rig)


def test_the_target_contract_reads_the_bytes(tgt_rig):
    """The negative control: expecting other bytes than the device holds fails the scenario."""
    tgt_rig.data = pattern(12, MiB)
    with pytest.raises(AssertionError) as info:
        TARGET_SCENARIOS['export_lifecycle'](tgt_rig)
    assert 'the initiator read other bytes' in str(info.value)
