# -*- coding: utf-8 -*-
"""Units for nvmet ownership: which subsystems, ports and host entries are ours to change.

The decisions are pure functions; the helper's use of them runs here on a directory tree laid
out like nvmet's configfs (the VM tier runs the real one: test_export_nvmet.py).
"""

from __future__ import absolute_import, division, print_function

import json
import os
import stat

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import _locks
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import Conflict
from ansible_collections.cinderkit.storage.plugins.module_utils._options import resolve, target_opts
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _nvmet
from ansible_collections.cinderkit.storage.plugins.module_utils._record import OwnerRecord

NQN = 'nqn.nvme-subsystem-1-vol1'
SERIAL = '0123456789abcdef0123'
ADDR = dict(trtype='tcp', adrfam='ipv4', traddr='127.0.0.1', trsvcid='4420')


@pytest.mark.parametrize('serial,recorded,ours', [
    (SERIAL, SERIAL, True),             # made by us, unchanged
    (None, SERIAL, True),               # a kernel without attr_serial: the record alone
    (SERIAL, None, False),              # never made by us
    ('ffff', SERIAL, False),            # same name, re-made by another tool
    (None, None, False),
])
def test_subsystem_problem(serial, recorded, ours):
    problem = _nvmet.subsystem_problem(NQN, serial, recorded, '/etc/nvmet/cinderkit-nvmet.json')
    assert (problem is None) == ours
    if not ours:
        assert NQN in problem and 'left alone' in problem and 'remove it yourself' in problem


def test_serials_fit_nvmet_and_differ():
    serials = set(_nvmet.new_serial() for dummy in range(50))
    assert len(serials) == 50
    assert all(len(s) == 20 and all(0x20 <= ord(c) <= 0x7e for c in s) for s in serials)


@pytest.mark.parametrize('have,recorded,want', [
    (None, None, 'create'),                                  # no such port
    (None, 'tcp:ipv4:10.0.0.9:4420', 'create'),              # ours once, gone since
    (ADDR, _nvmet.port_key(ADDR), 'reuse'),                  # ours, the same address
    (ADDR, None, 'not ours'),                                # someone else's port
    (ADDR, 'tcp:ipv4:127.0.0.1:4421', 'not ours'),           # re-made by someone else
    (dict(ADDR, trsvcid='4421'), None, 'other address'),
    (dict(ADDR, trsvcid='4421'), 'tcp:ipv4:127.0.0.1:4421', 'other address'),
])
def test_port_decision(have, recorded, want):
    if want in ('create', 'reuse'):
        assert _nvmet.port_decision(2, have, ADDR, recorded) == want
        return
    with pytest.raises(Conflict) as info:
        _nvmet.port_decision(2, have, ADDR, recorded)
    assert 'nvmet port 2' in info.value.msg
    assert ('was not made by cinderkit' in info.value.msg) == (want == 'not ours')


class Owner(object):
    def __init__(self, check_mode=False):
        self.runner = CommandRunner(check_mode=check_mode)

    def lock(self):
        return _locks.host_lock('unit-record', 5)


def test_record_is_written_at_once_0600_and_not_in_check_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(_locks, 'LOCK_DIRS', (str(tmp_path / 'locks'),))
    path = str(tmp_path / 'etc' / 'record.json')
    rec = OwnerRecord(path, ('subsystems', 'ports'), Owner())
    rec.set('subsystems', NQN, SERIAL)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.load(open(path)) == dict(version=1, subsystems={NQN: SERIAL}, ports={})
    assert OwnerRecord(path, ('subsystems', 'ports'), Owner()).get('subsystems', NQN) == SERIAL
    rec.forget('subsystems', NQN)
    assert json.load(open(path))['subsystems'] == {}
    dry = OwnerRecord(path, ('subsystems', 'ports'), Owner(check_mode=True))
    dry.set('ports', '2', 'x')
    assert dry.get('ports', '2') == 'x' and json.load(open(path))['ports'] == {}


@pytest.mark.parametrize('text', ['', 'not json', '[1, 2]', '{"subsystems": [1]}',
                                  '{"subsystems": {"%s": "%s"}, "ports": 7}' % (NQN, SERIAL)])
def test_a_damaged_record_fails_closed(tmp_path, text):
    path = tmp_path / 'record.json'
    path.write_text(text)
    rec = OwnerRecord(str(path), ('subsystems', 'ports'), Owner())
    assert rec.section('ports') == {}
    assert rec.get('subsystems', NQN) in (None, SERIAL)


# ------------------------------------------------------------- the helper on a tree
def configfs_rmdir(root, real_rmdir):
    """rmdir as configfs does it: a node's attribute files and its empty default groups go
    with it; a group that still holds a node (or a link) refuses (ENOTEMPTY)."""
    def rmdir(path):
        if str(path).startswith(str(root) + os.sep):
            for entry in os.listdir(path):
                full = os.path.join(path, entry)
                if os.path.isfile(full) and not os.path.islink(full):
                    os.unlink(full)
                elif os.path.isdir(full) and not os.path.islink(full) and not os.listdir(full):
                    real_rmdir(full)
        real_rmdir(path)
    return rmdir


def helper(tmp_path, monkeypatch):
    monkeypatch.setattr(_locks, 'LOCK_DIRS', (str(tmp_path / 'locks'),))
    root = tmp_path / 'nvmet'
    monkeypatch.setattr(os, 'rmdir', configfs_rmdir(root, os.rmdir))
    for d in ('subsystems', 'ports', 'hosts'):
        (root / d).mkdir(parents=True)
    cfg = resolve(dict(target_helper='nvmet', target_protocol='nvmet_tcp',
                       target_ip_address='127.0.0.1', target_port=4420,
                       target_prefix='nvme-subsystem-1'), target_opts(), 'test')
    h = _nvmet.Nvmet(cfg, CommandRunner(), root=str(root),
                     save_file=str(tmp_path / 'etc' / 'config.json'))
    return h, root


def subsystem(root, nqn, serial, hosts=()):
    s = root / 'subsystems' / nqn
    (s / 'namespaces').mkdir(parents=True)
    (s / 'allowed_hosts').mkdir()
    (s / 'attr_serial').write_text(serial + '\n')
    (s / 'attr_allow_any_host').write_text('0\n')
    for h in hosts:
        (root / 'hosts' / h).mkdir(exist_ok=True)
        os.symlink(str(root / 'hosts' / h), str(s / 'allowed_hosts' / h))
    return s


def test_list_exports_marks_what_is_not_ours(tmp_path, monkeypatch):
    h, root = helper(tmp_path, monkeypatch)
    subsystem(root, NQN, SERIAL)
    subsystem(root, 'nqn.nvme-subsystem-1-vol2', 'theirs')
    subsystem(root, 'nqn.nvme-subsystem-1-vol3', 'remade')
    subsystem(root, 'nqn.2014-08.org.example:unrelated', 'x')
    h.owned.set('subsystems', NQN, SERIAL)
    h.owned.set('subsystems', 'nqn.nvme-subsystem-1-vol3', 'the-one-we-gave')
    exports = h.list_exports()
    assert sorted(exports) == ['vol1', 'vol2', 'vol3']       # an unrelated NQN is not listed
    assert 'foreign' not in exports['vol1'].extra
    assert 'was not made by cinderkit' in exports['vol2'].extra['foreign']
    assert 'another tool re-made it' in exports['vol3'].extra['foreign']


def test_remove_and_update_refuse_a_foreign_subsystem_and_change_nothing(tmp_path, monkeypatch):
    h, root = helper(tmp_path, monkeypatch)
    s = subsystem(root, NQN, SERIAL, hosts=['nqn.h1'])
    before = sorted(os.walk(str(root)))
    actual = h.list_exports()['vol1']
    with pytest.raises(Conflict) as info:
        h.remove_export(actual)
    assert NQN in info.value.msg
    from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
        Backing, ExportSpec)
    with pytest.raises(Conflict):
        h.update_export(ExportSpec('vol1', Backing('block', '/dev/vg/vol1')), actual)
    assert sorted(os.walk(str(root))) == before and s.is_dir()
    # the negative control: recorded with its serial, the same subsystem is ours to remove
    h.owned.set('subsystems', NQN, SERIAL)
    h.remove_export(h.list_exports(refresh=True)['vol1'])
    assert not s.exists()


def test_removing_ours_keeps_host_entries_we_did_not_make(tmp_path, monkeypatch):
    h, root = helper(tmp_path, monkeypatch)
    subsystem(root, NQN, SERIAL, hosts=['nqn.ours', 'nqn.theirs'])
    h.owned.set('subsystems', NQN, SERIAL)
    h.owned.set('hosts', 'nqn.ours', True)
    h.remove_export(h.list_exports()['vol1'])
    h.commit()                      # the task's end: one sweep of our unused hosts, one write
    assert sorted(os.listdir(str(root / 'hosts'))) == ['nqn.theirs']
    assert h.owned.section('hosts') == {} and h.owned.section('subsystems') == {}
    on_disk = json.loads((tmp_path / 'etc' / _nvmet.RECORD_NAME).read_text())
    assert on_disk['hosts'] == {} and on_disk['subsystems'] == {}


def count_record_writes(h, monkeypatch):
    writes = []
    real = h.owned._save
    monkeypatch.setattr(h.owned, '_save', lambda: (writes.append(1), real())[1])
    return writes


def specs(names):
    from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (
        Backing, ExportSpec)
    return [ExportSpec(n, Backing('block', '/dev/vg/' + n)) for n in names]


def test_a_batch_of_creates_is_recorded_in_one_write_before_any_subsystem_exists(tmp_path, monkeypatch):
    h, root = helper(tmp_path, monkeypatch)
    writes = count_record_writes(h, monkeypatch)
    names = ['vol%d' % i for i in range(5)]
    h.reserve(specs(names))
    assert len(writes) == 1 and not os.listdir(str(root / 'subsystems'))
    on_disk = json.loads((tmp_path / 'etc' / _nvmet.RECORD_NAME).read_text())['subsystems']
    assert sorted(on_disk) == sorted(h.target_name(n) for n in names)
    assert len(set(on_disk.values())) == 5              # one new serial each
    # the creates use the reserved serials: no further write
    for n in names[:3]:
        nqn = h.target_name(n)
        (root / 'subsystems' / nqn).mkdir()
        h._set_serial(str(root / 'subsystems' / nqn), h.owned.get('subsystems', nqn))
        h.owned.set('subsystems', nqn, on_disk[nqn])
    assert len(writes) == 1
    # the task ends with two creates not made (a failed step): their reservations go, in one write
    h.flush()
    assert len(writes) == 2
    left = json.loads((tmp_path / 'etc' / _nvmet.RECORD_NAME).read_text())['subsystems']
    assert sorted(left) == sorted(h.target_name(n) for n in names[:3])


def test_reserve_keeps_the_serial_a_restore_needs(tmp_path, monkeypatch):
    h, root = helper(tmp_path, monkeypatch)
    nqn = h.target_name('vol1')
    h.owned.set('subsystems', nqn, SERIAL)           # saved, live subsystem gone (a reboot)
    writes = count_record_writes(h, monkeypatch)
    h.reserve(specs(['vol1']))
    h.flush()                                        # even unmade, it was ours before: kept
    assert writes == [] and h.owned.get('subsystems', nqn) == SERIAL


def test_a_batch_of_removals_is_written_once(tmp_path, monkeypatch):
    h, root = helper(tmp_path, monkeypatch)
    names = ['vol%d' % i for i in range(4)]
    for n in names:
        subsystem(root, h.target_name(n), SERIAL + n[-1], hosts=['nqn.ours'])
        h.owned.set('subsystems', h.target_name(n), SERIAL + n[-1])
    h.owned.set('hosts', 'nqn.ours', True)
    writes = count_record_writes(h, monkeypatch)
    exports = h.list_exports()
    for n in names[:3]:
        h.remove_export(exports[n])
    assert writes == []
    h.commit()
    assert len(writes) == 1
    assert (root / 'hosts' / 'nqn.ours').is_dir()     # vol3 still allows it
    rec = json.loads((tmp_path / 'etc' / _nvmet.RECORD_NAME).read_text())
    assert sorted(rec['subsystems']) == [h.target_name('vol3')] and rec['hosts'] == {'nqn.ours': True}


def test_a_foreign_port_on_our_address_is_refused_before_any_write(tmp_path, monkeypatch):
    h, root = helper(tmp_path, monkeypatch)
    port = root / 'ports' / '1'
    port.mkdir()
    (port / 'subsystems').mkdir()
    for k, v in ADDR.items():
        (port / ('addr_' + k)).write_text(v + '\n')
    with pytest.raises(Conflict) as info:
        h.check_ports()
    assert 'nvmet port 1' in info.value.msg and 'not made by cinderkit' in info.value.msg
    h.owned.set('ports', '1', _nvmet.port_key(ADDR))          # control: ours, the check passes
    h._state = None
    h.check_ports()


def test_the_check_after_commit_reads_the_walk_commit_saved(tmp_path, monkeypatch):
    h, root = helper(tmp_path, monkeypatch)
    subsystem(root, NQN, SERIAL)
    h.owned.set('subsystems', NQN, SERIAL)
    walks = []
    real = _nvmet.NvmetState.__init__
    monkeypatch.setattr(_nvmet.NvmetState, '__init__', lambda self, *a, **k: (walks.append(1), real(self, *a, **k))[1])
    h.list_exports()
    h.commit()
    assert len(walks) == 2
    assert sorted(h.list_exports(refresh=True)) == ['vol1'] and len(walks) == 2   # commit's walk
    # control: the next refresh walks configfs again, and sees what changed since
    subsystem(root, 'nqn.nvme-subsystem-1-vol2', 'theirs')
    assert sorted(h.list_exports(refresh=True)) == ['vol1', 'vol2'] and len(walks) == 3
