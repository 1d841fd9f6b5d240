# -*- coding: utf-8 -*-
"""Host tier, data safety: nothing exported is deleted, a failure after a change says
what it changed, and a bad name in a bulk is found before anything is made.

Real LVM metadata on loop devices (activation off) and a real, isolated tgtd.  Each
refusal is checked against the end state (``lvs`` before and after), and each has a
negative control: the same step succeeds once the holder is gone.
"""

from support import run_module
from export_support import GOOD_IQN

MiB = 1024 ** 2


def backend(vg, env, **over):
    b = vg.backend(**env.backend)
    b.update(over)
    return b


def export(b, env, volume, **kw):
    args = dict(backend=b, volume=volume, device_path=env.file,
                connector=dict(initiator=GOOD_IQN, host='compute01', ip='127.0.0.1'))
    args.update(kw)
    return run_module('export', args)


def wrote(res):
    return [c for c in res.get('commands', [])
            if c.split()[0].rsplit('/', 1)[-1] in ('lvremove', 'blkdiscard', 'dd', 'lvchange', 'lvm')]


def test_an_exported_volume_is_not_deleted_and_nothing_changes(vg, tgt_env):
    b = backend(vg, tgt_env)
    assert not run_module('volume', dict(backend=b, volumes=[
        dict(name='keep', size='8M'), dict(name='exp', size='8M')])).failed
    res = export(b, tgt_env, 'exp')
    assert not res.failed, res
    iqn = res['connection_info']['data']['target_iqn']
    before = vg.lvs()

    # alone, and in a bulk with a volume that could be deleted: both refused whole
    for args in (dict(name='exp', state='absent'),
                 dict(volumes=[dict(name='keep', state='absent'), dict(name='exp', state='absent')])):
        r = run_module('volume', dict(args, backend=b))
        assert r.failed and not r.changed, r
        assert 'exported' in r['msg'] and iqn in r['msg'] and 'nothing was changed' in r['msg'], r['msg']
        assert not wrote(r), r['commands']
        assert vg.lvs() == before
    assert iqn in tgt_env.tgtd.targets()

    # control: once the export is gone the same delete goes through
    assert not export(b, tgt_env, 'exp', state='absent').failed
    r = run_module('volume', dict(backend=b, name='exp', state='absent'))
    assert not r.failed and r.changed, r
    assert 'exp' not in vg.lvs() and 'keep' in vg.lvs()


def test_a_saved_but_not_live_export_also_holds_its_volume(vg, tgt_env):
    b = backend(vg, tgt_env)
    assert not run_module('volume', dict(backend=b, name='saved', size='8M')).failed
    assert not export(b, tgt_env, 'saved').failed
    tgt_env.tgtd.restart()                     # a crash: the include file is all that is left
    assert tgt_env.tgtd.targets() == {}
    r = run_module('volume', dict(backend=b, name='saved', state='absent'))
    assert r.failed and 'saved, not live' in r['msg'], r
    assert 'saved' in vg.lvs()


def test_bulk_create_that_lvm_refuses_in_part_reports_what_it_made(loop_vg):
    """The capacity check passes (vg_free counts a PV that takes no allocation) and
    LVM then refuses part of the bulk: the volumes made are intact and reported."""
    vg = loop_vg(size_gb=0.25, pvs=2)
    vg.lvm(['pvchange', '--yes', '--allocatable', 'n', vg.loops[1]])
    b = vg.backend()
    vols = [dict(name='part%d' % i, size='64M') for i in range(6)]     # 384 MiB > one 252 MiB PV
    r = run_module('volume', dict(backend=b, volumes=vols))
    assert r.failed and r.changed, r
    made = sorted(n for n in vg.lvs() if n.startswith('part'))
    assert 0 < len(made) < 6, made
    assert sorted(r['created']) == made
    assert sorted(r['not_created']) == sorted(set('part%d' % i for i in range(6)) - set(made))
    outcomes = dict((v['name'], v['outcome']) for v in r['volumes'])
    assert all(outcomes[n] == 'done' for n in made), outcomes
    assert all(outcomes[n] == 'not done' for n in r['not_created']), outcomes
    assert 'done before the failure' in r['msg'] and r['not_created'][0] in r['msg'], r['msg']
    for n in made:
        assert int(vg.lvs()[n]['lv_size']) == 64 * MiB
    # control: with the second PV allocatable again the same task completes the set
    vg.lvm(['pvchange', '--yes', '--allocatable', 'y', vg.loops[1]])
    r = run_module('volume', dict(backend=b, volumes=vols))
    assert not r.failed and r.changed, r
    assert sorted(n for n in vg.lvs() if n.startswith('part')) == sorted(v['name'] for v in vols)


def test_a_name_too_long_for_lvm_is_refused_before_anything_is_made(vg):
    b = vg.backend()
    limit = 124 - len(vg.name)                # LVM: len(VG) + len(LV) + 3 <= 127
    before = vg.lvs()
    r = run_module('volume', dict(backend=b, volumes=[
        dict(name='fine', size='8M'), dict(name='x' * (limit + 1), size='8M')]))
    assert r.failed and not r.changed, r
    assert 'volumes[1].name' in r['msg'] and 'at most %d' % limit in r['msg'], r['msg']
    assert vg.lvs() == before
    # control: the longest name LVM takes is taken
    r = run_module('volume', dict(backend=b, name='x' * limit, size='8M'))
    assert not r.failed, r
    assert 'x' * limit in vg.lvs()


def test_two_plays_at_once_on_one_vg_both_succeed_and_leave_exactly_their_volumes(vg, tmp_path):
    """Two ansible-playbook processes started together, each creating 50 volumes and
    deleting 25 of its own: both succeed and exactly the 50 expected LVs remain."""
    import threading
    from support import Play
    b = vg.backend()

    def tasks(tag):
        vols = [dict(name='%s%02d' % (tag, i), size='%dM' % (4 * (1 + i % 3))) for i in range(50)]
        return [dict(name='create', **{'cinderkit.storage.volume': dict(backend=b, volumes=vols)}),
                dict(name='delete half', **{'cinderkit.storage.volume': dict(backend=b, volumes=[
                    dict(name=v['name'], state='absent') for v in vols[::2]])})]

    out = {}

    def run(tag):
        d = tmp_path / tag
        d.mkdir()
        out[tag] = Play(str(d)).run(tasks(tag))
    threads = [threading.Thread(target=run, args=(t,)) for t in ('a', 'b')]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tag in ('a', 'b'):
        res = out[tag]
        assert [r.get('failed', False) for r in res] == [False, False], res
    lvs = vg.lvs()
    want = dict(('%s%02d' % (tag, i), 4 * (1 + i % 3) * MiB) for tag in 'ab' for i in range(1, 50, 2))
    assert dict((n, int(r['lv_size'])) for n, r in lvs.items()) == want


def test_tgtd_killed_hard_comes_back_with_the_same_iqn_lun_and_chap(tgt_env):
    """SIGKILL leaves no target behind; the ensure path (the same export task) restores
    it from its include file: same IQN, LUN and CHAP, proven by logins and the bytes."""
    from export_support import EVIL_IQN, iscsi_login_ok, iscsi_read
    env = tgt_env
    res = export(env.backend, env, 'vol1')
    assert not res.failed, res
    data = res['connection_info']['data']
    iqn, lun = data['target_iqn'], data['target_lun']
    user, password = data['auth_username'], data['auth_password']
    env.tgtd.kill_hard()
    assert env.tgtd.targets() == {}
    assert not iscsi_login_ok(env.tgtd.port, iqn, user, password, lun=lun)[0]   # control
    again = export(env.backend, env, 'vol1')
    assert not again.failed and again.changed and again['export']['action'] == 'restore', again
    assert again['connection_info'] == res['connection_info']
    assert iscsi_read(env.tgtd.port, iqn, user, password, len(env.data), lun=lun) == env.data
    assert not iscsi_login_ok(env.tgtd.port, iqn, user, password[::-1], lun=lun)[0]
    assert not iscsi_login_ok(env.tgtd.port, iqn, user, password, initiator=EVIL_IQN, lun=lun)[0]
    assert not export(env.backend, env, 'vol1').changed


def test_extend_whose_export_refresh_fails_reports_changed(vg):
    """The LV grows, then the target layer cannot be reached (LIO not loaded): the task
    fails, and says it changed something (it said changed: false before)."""
    import os
    import pytest
    if os.path.isdir('/sys/kernel/config/target'):
        pytest.fail('LIO is loaded on this host: this test needs a host where it is not '
                    '(rmmod target_core_mod, or run it on a host without LIO)')
    assert not run_module('volume', dict(backend=vg.backend(), name='grow', size='8M')).failed
    r = run_module('extend', dict(backend=vg.backend(target_helper='lioadm'), name='grow', size='16M'))
    assert r.failed and r.changed, r
    assert 'LIO' in r['msg'], r['msg']
    assert int(vg.lvs()['grow']['lv_size']) == 16 * MiB


def test_cow_size_on_rbd_is_refused_alike_in_check_mode_and_the_real_run(ceph):
    """RBD snapshots have no CoW area of their own: check mode passed and the real run
    raised a TypeError.  Both now refuse it, naming the parameter, with nothing made."""
    b = ceph.backend()
    assert not run_module('volume', dict(backend=b, name='cw', size='8M')).failed
    before = ceph.state()
    for check in (True, False):
        r = run_module('snapshot', dict(backend=b, volume='cw', name='cw-s', cow_size='4M'), check=check)
        assert r.failed and not r.changed, r
        assert "parameter 'cow_size'" in r['msg'] and 'internal error' not in r['msg'], r['msg']
        assert ceph.state() == before
    # control: without cow_size the same snapshot is made
    r = run_module('snapshot', dict(backend=b, volume='cw', name='cw-s'))
    assert not r.failed and r.changed, r
