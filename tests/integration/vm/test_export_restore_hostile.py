# -*- coding: utf-8 -*-
"""VM tier: hostile values never reach LIO's or nvmet's saved configs, and the boot-time
restores of those files (``targetctl restore``, the target_helper role's
cinderkit-nvmet-restore, which reads nvmetcli's layout) run nothing injected and admit no
foreign initiator.

Each hostile export is refused with nothing changed (the saved file is byte-identical);
then all runtime target state is cleared, as at a reboot, and restored from the files.
"""

import json
import os
import subprocess

import pytest

from support import ROOT, LoopVG, run_module, sh

GOOD_IQN = 'iqn.1994-05.com.example:restore-host'
GOOD_NQN = 'nqn.2014-08.org.nvmexpress:uuid:7d1e2c3b-4a5f-4e6d-9c8b-1a2b3c4d5e6f'
NVMET_SAVE = '/etc/nvmet/config.json'


def marker(tmp):
    return os.path.join(str(tmp), 'injected')


def hostile_cases(tmp, kind):
    m = marker(tmp)
    inj = '$(touch %s)' % m
    common = [
        ('device-path-newline', dict(device_path='/dev/null\n    initiator-address ALL')),
        ('device-path-injection', dict(device_path='/dev/%s' % inj)),
    ]
    if kind == 'lio':
        return common + [
            ('chap-user-injection', dict(auth=dict(username='u' + inj, password='Aa1-long-secret-ok'))),
            ('chap-secret-injection', dict(auth=dict(username='alice', password='Aa1' + inj))),
            ('initiator-with-space', dict(connector=dict(initiator='iqn.1994-05.com.example:a b'))),
            ('initiator-injection', dict(connector=dict(initiator='iqn.1994-05.com.example:' + inj))),
        ]
    return common + [
        ('nqn-with-space', dict(connector=dict(nqn='nqn.2014-08.org.nvmexpress:a b'))),
        ('nqn-injection', dict(connector=dict(nqn='nqn.2014-08.org.nvmexpress:' + inj))),
    ]


def _read(path):
    try:
        with open(path, 'rb') as fh:
            return fh.read()
    except IOError:
        return None


def refused_with_nothing_changed(tmp, kind, base_args, save):
    """Every hostile case of ``kind`` fails clearly and leaves the saved config as it was."""
    saved = _read(save)
    for name, over in hostile_cases(tmp, kind):
        args = dict(base_args)
        args.update(over)
        r = run_module('export', args)
        assert r.failed and not r.changed, (name, r)
        assert 'internal error' not in r['msg'], (name, r['msg'])
        assert _read(save) == saved, '%s changed the saved config' % name
    return saved


@pytest.fixture(scope='module')
def vg(kernel_targets):
    for m in ('target_core_mod', 'iscsi_target_mod', 'target_core_iblock', 'nvmet', 'nvmet-tcp'):
        sh(['modprobe', m])
    v = LoopVG(size_gb=1, activation=True)
    assert not run_module('volume', dict(backend=v.backend(), name='rh', size='8M')).failed
    yield v
    v.close()


def test_lio_hostile_exports_then_targetctl_restore(vg, tmp_path):
    import rtslib_fb.root
    save = rtslib_fb.root.default_save_file
    b = vg.backend(target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260)
    good = run_module('export', dict(backend=b, volume='rh', connector=dict(initiator=GOOD_IQN)))
    assert not good.failed, good
    iqn = good['connection_info']['data']['target_iqn']
    try:
        refused_with_nothing_changed(tmp_path, 'lio', dict(
            backend=b, volume='rh', connector=dict(initiator=GOOD_IQN)), save)
        # a reboot: LIO's runtime state goes, the boot service restores the saved file
        sh(['targetctl', 'clear'])
        assert not any(t.wwn == iqn for t in rtslib_fb.root.RTSRoot().targets)
        sh(['targetctl', 'restore', save])
        assert not os.path.exists(marker(tmp_path)), 'the restore ran an injected command'
        targets = dict((t.wwn, t) for t in rtslib_fb.root.RTSRoot().targets)
        assert iqn in targets, 'our target did not come back'
        tpg = next(iter(targets[iqn].tpgs))
        assert [a.node_wwn for a in tpg.node_acls] == [GOOD_IQN]
        assert tpg.get_attribute('generate_node_acls') == '0', 'the restore admits any initiator'
        # the export task sees the restored target as its own: nothing to do
        again = run_module('export', dict(backend=b, volume='rh', connector=dict(initiator=GOOD_IQN)))
        assert not again.failed and not again.changed, again
    finally:
        run_module('export', dict(backend=b, volume='rh', state='absent'))


def test_nvmet_hostile_exports_then_the_role_restore(vg, tmp_path):
    b = vg.backend(target_helper='nvmet', target_protocol='nvmet_tcp', target_ip_address='127.0.0.1',
                   target_port=4422, target_prefix='nvme-rh', nvmet_port_id=3)
    good = run_module('export', dict(backend=b, volume='rh', connector=dict(nqn=GOOD_NQN)))
    assert not good.failed, good
    nqn = 'nqn.nvme-rh-rh'
    sub = '/sys/kernel/config/nvmet/subsystems/' + nqn
    try:
        saved = refused_with_nothing_changed(tmp_path, 'nvmet', dict(
            backend=b, volume='rh', connector=dict(nqn=GOOD_NQN)), NVMET_SAVE)
        conf = json.loads(saved)
        assert [s for s in conf['subsystems'] if s['nqn'] == nqn]
        # a reboot of nvmet: drop our subsystem from configfs, restore from the saved file
        for link in os.listdir('/sys/kernel/config/nvmet/ports/3/subsystems'):
            os.unlink(os.path.join('/sys/kernel/config/nvmet/ports/3/subsystems', link))
        for h in os.listdir(sub + '/allowed_hosts'):
            os.unlink(os.path.join(sub, 'allowed_hosts', h))
        for ns in os.listdir(sub + '/namespaces'):
            with open(os.path.join(sub, 'namespaces', ns, 'enable'), 'w') as fh:
                fh.write('0')
            os.rmdir(os.path.join(sub, 'namespaces', ns))
        os.rmdir(sub)
        script = os.path.join(ROOT, 'roles', 'target_helper', 'files', 'cinderkit-nvmet-restore')
        subprocess.check_call(['python3', script, NVMET_SAVE])
        assert not os.path.exists(marker(tmp_path)), 'the restore ran an injected command'
        assert os.path.isdir(sub)
        assert open(sub + '/attr_allow_any_host').read().strip() == '0', 'the restore admits any host'
        assert sorted(os.listdir(sub + '/allowed_hosts')) == [GOOD_NQN]
        again = run_module('export', dict(backend=b, volume='rh', connector=dict(nqn=GOOD_NQN)))
        assert not again.failed and not again.changed, again
    finally:
        run_module('export', dict(backend=b, volume='rh', state='absent'))
