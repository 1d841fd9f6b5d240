# -*- coding: utf-8 -*-
"""Units for the tgt helper's bulk writes (issue 12), at the process boundary (a fake
tgtadm through CommandRunner's executor) and with real files in a temporary volumes_dir:

* one LUN update per export carries every LUN parameter (serial, id, write cache,
  read-only), and only the ones asked for;
* each include file is fsynced before its rename, the directory once per task (commit),
  and also after a failed step (the exports done before it stay saved);
* the runner looks a binary up once per PATH and reads the environment once per task,
  while options set on it later (LVM_SYSTEM_DIR) still reach each command.
"""

from __future__ import absolute_import, division, print_function

import os
import stat

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import _exports, _files
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import CinderkitError
from ansible_collections.cinderkit.storage.plugins.module_utils._options import resolve, target_opts
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
from ansible_collections.cinderkit.storage.plugins.module_utils.targets import (
    Backing, Chap, ExportSpec, _tgtadm)

INI = 'iqn.1994-05.com.example:host1'


class FakeTgtadm(object):
    """tgtadm at the process boundary: every call succeeds, except ``fail`` (argv substrings)."""

    def __init__(self, fail=None):
        self.calls = []
        self.fail = fail

    def __call__(self, argv, env, stdin):
        self.calls.append(argv)
        if '--mode' in argv and argv[argv.index('--mode') + 1] == 'portal':
            return 0, b'Portal: 0.0.0.0:3260,1\n', b''
        if self.fail and all(s in argv for s in self.fail):
            return 22, b'', b'tgtadm: this target already exists'
        return 0, b'', b''

    def updates(self):
        return [c for c in self.calls if '--op' in c and c[c.index('--op') + 1] == 'update']


class Fsyncs(object):
    """Counts os.fsync calls on files and on directories."""

    def __init__(self, monkeypatch):
        self.files = self.dirs = 0
        real = os.fsync

        def fsync(fd):
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                self.dirs += 1
            else:
                self.files += 1
            return real(fd)
        monkeypatch.setattr(os, 'fsync', fsync)


def helper(tmp_path, fake, **over):
    values = dict(volumes_dir=str(tmp_path / 'volumes'), target_ip_address='127.0.0.1',
                  target_port=3260, tgt_control_port=3999)
    values.update(over)
    return _tgtadm.TgtAdm(resolve(values, target_opts(), 'test'), CommandRunner(executor=fake))


def spec(tmp_path, name, read_only=False):
    path = tmp_path / ('%s.img' % name)
    path.write_bytes(b'\0' * 4096)
    auth = Chap('user-%s' % name, 'Secret-%s-123456' % name)
    return ExportSpec(name, Backing.from_path(str(path), read_only=read_only), auth, [INI])


@pytest.mark.parametrize('write_cache,read_only,extra', [
    ('off', True, ['mode_page=8:0:18:', 'readonly=1']),
    ('on', False, []),
])
def test_one_lun_update_carries_every_lun_parameter(tmp_path, write_cache, read_only, extra):
    fake = FakeTgtadm()
    h = helper(tmp_path, fake, iscsi_write_cache=write_cache)
    h.create_export(spec(tmp_path, 'vol1', read_only))
    updates = fake.updates()
    assert len(updates) == 1, updates
    params = updates[0][updates[0].index('--params') + 1]
    assert params.startswith('scsi_sn=vol1,scsi_id=vol1')
    for part in extra:
        assert part in params, params
    # negative control: what was not asked for is not set
    if not read_only:
        assert 'readonly' not in params and 'mode_page' not in params
    # new target, new LUN, the update, account new + bind, the initiator: six processes
    writes = [c for c in fake.calls if c[c.index('--op') + 1] != 'show']
    assert len(writes) == 6, writes


def test_include_files_fsync_each_file_and_the_directory_once_per_task(tmp_path, monkeypatch):
    fake = FakeTgtadm()
    h = helper(tmp_path, fake)
    count = Fsyncs(monkeypatch)
    for i in range(3):
        h.create_export(spec(tmp_path, 'vol%d' % i))
    assert (count.files, count.dirs) == (3, 0)
    h.commit()
    assert (count.files, count.dirs) == (3, 1)
    h.commit()                                  # nothing new: no second directory fsync
    assert count.dirs == 1
    vd = tmp_path / 'volumes'
    for i in range(3):
        f = vd / ('vol%d' % i)
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert 'incominguser user-vol%d Secret-vol%d-123456' % (i, i) in f.read_text()
    assert sorted(os.listdir(str(vd))) == ['vol0', 'vol1', 'vol2']     # no temporary left
    # negative control: a plain write_private fsyncs the directory every time
    _files.write_private(str(vd / 'x'), 'x\n')
    _files.write_private(str(vd / 'y'), 'y\n')
    assert count.dirs == 3


def test_a_failed_step_still_makes_the_done_exports_durable(tmp_path, monkeypatch):
    fake = FakeTgtadm(fail=['--mode', 'target', 'iqn.2010-10.org.openstack:vol1'])
    h = helper(tmp_path, fake)
    count = Fsyncs(monkeypatch)
    items = []
    for i in range(3):
        it = _exports.ExportItem('vol%d' % i, 'present')
        it.spec = spec(tmp_path, 'vol%d' % i)
        it.backing = it.spec.backing
        it.action = 'create'
        items.append(it)
    with pytest.raises(CinderkitError) as info:
        _exports.apply(h, items)
    assert info.value.result['done'] == [dict(volume='vol0', action='create')]
    assert info.value.result['failed_item']['volume'] == 'vol1'
    assert os.listdir(str(tmp_path / 'volumes')) == ['vol0']
    assert (count.files, count.dirs) == (1, 1)


def test_runner_looks_binaries_up_once_per_path_and_keeps_later_env(tmp_path, monkeypatch):
    seen = []
    r = CommandRunner(executor=lambda argv, env, stdin: (seen.append(env) or (0, b'', b'')))
    lookups = []
    real_which = _runner_which()

    def which(binary, path=None):
        lookups.append(binary)
        return real_which(binary, path=path)
    monkeypatch.setattr('shutil.which', which)
    assert r.which('sh') == r.which('sh') and lookups == ['sh']
    monkeypatch.setenv('PATH', '%s:%s' % (tmp_path, os.environ['PATH']))
    r.which('sh')
    assert lookups == ['sh', 'sh']          # another PATH: looked up again
    r.run(['true'])
    r.env['LVM_SYSTEM_DIR'] = '/etc/ck-test'    # set after the first command (the LVM client)
    r.run(['true'])
    assert 'LVM_SYSTEM_DIR' not in seen[0] and seen[1]['LVM_SYSTEM_DIR'] == '/etc/ck-test'
    assert seen[1]['LC_ALL'] == 'C' and seen[1]['PATH'].startswith(str(tmp_path))


def _runner_which():
    import shutil
    return shutil.which
