# -*- coding: utf-8 -*-
"""Host tier: the export module's failures tell what they changed; check mode meets the same
problems as the real run.

* a volumes_dir that cannot take include files is refused before any target is made;
* a write that still fails after the live target was made reports ``changed: true``, the
  item and what was done before it, and a re-run saves the export (the ensure path);
* check mode runs the same read-only readiness checks (tgtd's portals, volumes_dir).
"""

import os

from support import run_module
from export_support import GOOD_IQN, backing_file, free_port, iscsi_login_ok


def export(env, check=False, backend=None, **kw):
    b = dict(env.backend)
    b.update(backend or {})
    args = dict(backend=b, volume='vol1', device_path=env.file, connector=dict(initiator=GOOD_IQN))
    args.update(kw)
    return run_module('export', args, check=check)


def test_volumes_dir_that_is_a_file_fails_before_anything_is_made(tgt_env):
    env = tgt_env
    bad = env.dir / 'not-a-dir'
    bad.write_text('x')
    for check in (True, False):
        res = export(env, check=check, backend=dict(volumes_dir=str(bad)))
        assert res.failed, (check, res)
        assert "parameter 'backend.volumes_dir'" in res['msg'] and 'not a directory' in res['msg']
        assert not res.changed
        assert env.tgtd.targets() == {}
    sub = env.dir / 'not-a-dir' / 'volumes'      # below a file: cannot be made
    res = export(env, backend=dict(volumes_dir=str(sub)))
    assert res.failed and 'backend.volumes_dir' in res['msg'] and not res.changed, res
    assert env.tgtd.targets() == {}


def test_a_write_that_fails_after_the_target_is_live_reports_changed(tgt_env):
    env = tgt_env
    os.makedirs(os.path.join(env.volumes_dir, 'vol1'))     # the include file's path is taken
    res = export(env)
    assert res.failed, res
    assert res.changed is True, res
    assert 'cannot write the tgt include file' in res['msg'] and 'live but not saved' in res['msg']
    assert res['failed_item'] == dict(volume='vol1', action='create', changed=True)
    assert res['target'] == 'iqn.2010-10.org.openstack:vol1' and res['persisted'] is False
    assert list(env.tgtd.targets()) == ['iqn.2010-10.org.openstack:vol1']
    os.rmdir(os.path.join(env.volumes_dir, 'vol1'))
    again = export(env)
    assert not again.failed, again.get('msg')
    assert again.changed and again['export']['action'] == 'restore'
    assert again['export']['persisted'] is True
    assert os.path.isfile(os.path.join(env.volumes_dir, 'vol1'))
    data = again['connection_info']['data']
    assert iscsi_login_ok(env.tgtd.port, data['target_iqn'], data['auth_username'],
                          data['auth_password'])[0]
    assert not export(env).changed


def test_a_bulk_that_fails_midway_names_what_it_did(tgt_env):
    env = tgt_env
    vols = [dict(volume='m%d' % i, device_path=backing_file(str(env.dir / ('m%d.img' % i)),
                                                            1024 ** 2)) for i in range(3)]
    os.makedirs(os.path.join(env.volumes_dir, 'm1'))
    res = run_module('export', dict(backend=env.backend, volumes=vols,
                                    connector=dict(initiator=GOOD_IQN)))
    assert res.failed and res.changed is True, res
    assert res['done'] == [dict(volume='m0', action='create')]
    assert res['failed_item']['volume'] == 'm1'
    assert 'done before the failure (kept): create m0' in res['msg']
    assert sorted(env.tgtd.targets()) == ['iqn.2010-10.org.openstack:m0',
                                          'iqn.2010-10.org.openstack:m1']


def test_check_mode_meets_the_readiness_problems_of_the_real_run(tgt_env):
    env = tgt_env
    port = free_port()
    for check in (True, False):
        res = export(env, check=check, backend=dict(target_port=port))
        assert res.failed, (check, res)
        assert 'tgtd does not listen on 127.0.0.1:%d' % port in res['msg']
        assert not res.changed
    assert env.tgtd.targets() == {}
    ok = export(env, check=True)
    assert not ok.failed and ok.changed and env.tgtd.targets() == {}
