# -*- coding: utf-8 -*-
"""Host tier: multiattach and read-only snapshot exports through tgtd, real libiscsi initiators.

* two initiator names attached to one export (``connectors``) log in and read the same
  bytes; removing one connector's access (``state: absent`` + ``connector``) refuses that
  initiator and leaves the other; removing the last one removes the target and its
  include file;
* a file-driver snapshot exported read-only (``snapshot``): the initiator reads the
  snapshot's bytes, not the volume's, and a write through libiscsi (qemu-io) fails; the
  same write on a writable export succeeds (the negative control);
* bad input: refused with the parameter named, nothing changed.
"""

import os
import shutil
import tempfile

from support import WORKDIR, pattern, run_module, sh
from export_support import GOOD_IQN, OTHER_IQN, EVIL_IQN, iscsi_login_ok, iscsi_read

MiB = 1024 ** 2
NODE1 = dict(initiator=GOOD_IQN, host='node1', ip='127.0.0.1', multipath=False)
NODE2 = dict(initiator=OTHER_IQN, host='node2', ip='127.0.0.1', multipath=False)
IQN = 'iqn.2010-10.org.openstack:vol1'


def export(env, **kw):
    args = dict(backend=env.backend, volume='vol1', device_path=env.file)
    args.update(kw)
    for key in [k for k, v in args.items() if v is None]:
        del args[key]
    return run_module('export', args)


def creds(res):
    d = res['connection_info']['data']
    return d['auth_username'], d['auth_password']


def state(env):
    """What tgtd and volumes_dir hold: compared before and after a refused task."""
    files = sorted(os.listdir(env.volumes_dir)) if os.path.isdir(env.volumes_dir) else []
    contents = dict((f, open(os.path.join(env.volumes_dir, f)).read()) for f in files)
    show = env.tgtd.tgtadm('--op', 'show', '--mode', 'target').stdout
    return show, contents


def iscsi_write(port, iqn, user, password, initiator, data_byte=0x5a, lun=1):
    """(ok, output): write 4 KiB at offset 0 through libiscsi (qemu-io's iscsi driver)."""
    d = tempfile.mkdtemp(prefix='ckwrite-', dir=WORKDIR)
    try:
        secret = os.path.join(d, 'secret')
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, password.encode())
        os.close(fd)
        opts = ('driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=127.0.0.1:%d,'
                'file.target=%s,file.lun=%d,file.user=%s,file.password-secret=sec0,'
                'file.initiator-name=%s' % (port, iqn, lun, user, initiator))
        p = sh(['qemu-io', '--object', 'secret,id=sec0,file=%s' % secret, '--image-opts', opts,
                '-c', 'write -P %d 0 4096' % data_byte], check=False, timeout=120)
        out = p.stdout + p.stderr
        # qemu-io exits 0 after a failed command: its output tells
        ok = p.returncode == 0 and 'wrote 4096/4096 bytes' in out
        return ok, out
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------ multiattach
def test_two_connectors_read_the_same_bytes_and_detach_one_at_a_time(tgt_env):
    env = tgt_env
    res = export(env, connectors=[NODE1, NODE2])
    assert not res.failed, res
    assert res.changed and res['export']['action'] == 'create'
    assert res['export']['initiators'] == sorted([GOOD_IQN, OTHER_IQN])
    # connection_info: the first connector's; connections: one per host
    assert set(res['connections']) == {'node1', 'node2'}
    assert res['connections']['node1'] == res['connection_info']
    assert res['connections']['node2']['data']['target_iqn'] == IQN
    user, password = creds(res)
    port = env.tgtd.port
    a = iscsi_read(port, IQN, user, password, len(env.data), initiator=GOOD_IQN)
    b = iscsi_read(port, IQN, user, password, len(env.data), initiator=OTHER_IQN)
    assert a == b == env.data
    assert not iscsi_login_ok(port, IQN, user, password, initiator=EVIL_IQN)[0]

    # idempotent: the same connectors again change nothing
    again = export(env, connectors=[NODE1, NODE2])
    assert not again.changed and again['export']['action'] == 'none', again['commands']

    # check mode first: reports the detach, changes nothing
    before = state(env)
    dry = run_module('export', dict(backend=env.backend, volume='vol1', device_path=env.file,
                                    state='absent', connector=NODE1), check=True, diff=True)
    assert dry.changed and dry['export']['action'] == 'detach', dry
    assert dry['diff']['before']['vol1']['initiators'] == sorted([GOOD_IQN, OTHER_IQN])
    assert dry['diff']['after']['vol1']['initiators'] == [OTHER_IQN]
    assert state(env) == before

    # the first connector goes: node1 is refused, node2 logs in again and reads
    gone = export(env, state='absent', connector=NODE1)
    assert not gone.failed, gone
    assert gone.changed and gone['export']['action'] == 'detach'
    assert gone['export']['removed_initiators'] == [GOOD_IQN]
    assert gone['export']['initiators'] == [OTHER_IQN]
    assert IQN in env.tgtd.targets()
    assert not iscsi_login_ok(port, IQN, user, password, initiator=GOOD_IQN)[0]
    assert iscsi_login_ok(port, IQN, user, password, initiator=OTHER_IQN)[0]
    assert iscsi_read(port, IQN, user, password, len(env.data), initiator=OTHER_IQN) == env.data
    # saved without node1: a restart of tgt (tgt-admin over the include file) keeps it out
    text = open(os.path.join(env.volumes_dir, 'vol1')).read()
    assert 'initiator-name %s' % GOOD_IQN not in text
    assert 'initiator-name %s' % OTHER_IQN in text
    # removing node1 again changes nothing
    twice = export(env, state='absent', connector=NODE1)
    assert not twice.changed and twice['export']['action'] == 'none'

    # the last connector goes: so does the target and its include file
    last = export(env, state='absent', connector=NODE2)
    assert not last.failed, last
    assert last.changed and last['export']['action'] == 'delete'
    assert IQN not in env.tgtd.targets()
    assert not os.path.exists(os.path.join(env.volumes_dir, 'vol1'))
    assert not iscsi_login_ok(port, IQN, user, password, initiator=OTHER_IQN)[0]


def test_a_further_connector_adds_access_and_keeps_the_first(tgt_env):
    env = tgt_env
    first = export(env, connector=NODE1)
    assert not first.failed, first
    user, password = creds(first)
    second = export(env, connector=NODE2)
    assert second.changed and second['export']['action'] == 'update'
    assert second['export']['initiators'] == sorted([GOOD_IQN, OTHER_IQN])
    assert creds(second) == (user, password)
    assert list(second['connections']) == ['node2']
    for ini in (GOOD_IQN, OTHER_IQN):
        assert iscsi_login_ok(env.tgtd.port, IQN, user, password, initiator=ini)[0], ini
    # state: absent without a connector removes the whole export, whatever the ACL
    gone = export(env, state='absent')
    assert gone.changed and gone['export']['action'] == 'delete'
    assert env.tgtd.targets() == {}


def test_bulk_form_with_connectors_attaches_every_volume_to_both(tgt_env):
    env = tgt_env
    other = str(env.dir / 'vol2.img')
    with open(other, 'wb') as fh:
        fh.truncate(8 * MiB)
    vols = [dict(volume='vol1', device_path=env.file), dict(volume='vol2', device_path=other)]
    args = dict(backend=env.backend, volumes=vols, connectors=[NODE1, NODE2])
    dry = run_module('export', args, check=True)
    assert dry.changed and [e['action'] for e in dry['exports']] == ['create', 'create'], dry
    assert env.tgtd.targets() == {}
    res = run_module('export', args)
    assert not res.failed, res
    for rec in res['exports']:
        assert rec['initiators'] == sorted([GOOD_IQN, OTHER_IQN])
        assert set(rec['connections']) == {'node1', 'node2'}
        assert rec['connections']['node1'] == rec['connection_info']
    assert not run_module('export', args).changed
    gone = run_module('export', dict(backend=env.backend, volumes=vols, state='absent',
                                     connector=NODE2))
    assert [e['action'] for e in gone['exports']] == ['detach', 'detach'], gone
    assert all(e['initiators'] == [GOOD_IQN] for e in gone['exports'])


def test_connectors_bad_input_changes_nothing(tgt_env):
    env = tgt_env
    base = export(env, connector=NODE1)
    assert not base.failed, base
    before = state(env)
    cases = [
        (dict(connectors=[NODE1, dict(initiator='iqn.2004-1.com.example:x', host='bad')]),
         ['connectors[1].initiator', 'iSCSI qualified name']),
        (dict(connectors=[NODE1, NODE2], initiators=[GOOD_IQN]),
         ['mutually exclusive', 'connectors', 'initiators']),
        (dict(connectors=[NODE1], connector=NODE2), ['mutually exclusive', 'connectors']),
        (dict(connectors=[NODE1, dict(NODE1, host='again')]),
         ['connectors[1].initiator', 'also given in connectors[0]']),
        (dict(connectors=[]), ['connectors', 'is empty']),
        (dict(connectors=[dict(host='nohost')]), ['connectors[0]', 'no initiator']),
        (dict(state='absent', connectors=[dict(initiator='iqn.bad')]),
         ['connectors[0].initiator', 'iSCSI qualified name']),
    ]
    for over, words in cases:
        res = export(env, **over)
        assert res.failed, (over, res)
        for w in words:
            assert w in res['msg'], (over, w, res['msg'])
        assert not res.get('changed'), over
        assert state(env) == before, over


# -------------------------------------------------------------- snapshot exports
def file_backend(env, **over):
    b = dict(env.backend, volume_driver='file', file_volume_dir=str(env.dir / 'files'))
    b.update(over)
    return b


def make_snapshot(env, b):
    """A 32 MiB file volume holding ``old``, snapshot ``snap1``, then ``new`` written to the
    volume: the snapshot's bytes are ``old``."""
    res = run_module('volume', dict(backend=b, name='fvol', size='32M'))
    assert not res.failed, res
    path = os.path.join(b['file_volume_dir'], 'fvol')
    old, new = pattern(11, 1 * MiB), pattern(12, 1 * MiB)
    with open(path, 'r+b') as fh:
        fh.write(old)
    res = run_module('snapshot', dict(backend=b, name='snap1', volume='fvol'))
    assert not res.failed, res
    with open(path, 'r+b') as fh:
        fh.write(new)
    return old, new


def test_file_snapshot_exported_read_only_through_tgt(tgt_env):
    env = tgt_env
    b = file_backend(env)
    old, new = make_snapshot(env, b)
    args = dict(backend=b, snapshot='snap1', connector=NODE1)
    dry = run_module('export', args, check=True, diff=True)
    assert not dry.failed, dry
    assert dry.changed and dry['export']['action'] == 'create'
    assert dry['export']['read_only'] is True and dry['export']['snapshot'] == 'snap1'
    assert dry['diff']['after']['snap1']['read_only'] is True
    assert env.tgtd.targets() == {}
    res = run_module('export', args)
    assert not res.failed, res
    ex = res['export']
    assert res.changed and ex['action'] == 'create'
    assert ex['snapshot'] == 'snap1' and ex['volume'] == 'fvol' and ex['read_only'] is True
    info = res['connection_info']
    assert info['driver_volume_type'] == 'iscsi'
    siqn = 'iqn.2010-10.org.openstack:snap1'
    assert info['data']['target_iqn'] == siqn and info['data']['volume_id'] == 'snap1'
    assert info['data']['target_lun'] == 1
    user, password = creds(res)
    port = env.tgtd.port
    got = iscsi_read(port, siqn, user, password, len(old), initiator=GOOD_IQN)
    assert got == old and got != new
    ok, out = iscsi_write(port, siqn, user, password, GOOD_IQN)
    assert not ok, 'a write to the read-only snapshot export succeeded: %s' % out
    assert 'write protected' in out, out     # refused by the target's LUN, not a failed login
    assert iscsi_read(port, siqn, user, password, len(old), initiator=GOOD_IQN) == old
    # the include file keeps it read-only for tgt-admin's restore
    text = open(os.path.join(env.volumes_dir, 'snap1')).read()
    assert '    readonly 1' in text
    # idempotent
    again = run_module('export', args)
    assert not again.changed and again['export']['action'] == 'none', again['commands']
    # a restart of tgtd, then ensure_all: back, and still read-only
    env.tgtd.restart()
    back = run_module('export', dict(backend=b, ensure_all=True))
    assert not back.failed, back
    assert [e['action'] for e in back['exports']] == ['restore']
    assert back['exports'][0]['read_only'] is True
    assert not iscsi_write(port, siqn, user, password, GOOD_IQN)[0]
    assert iscsi_read(port, siqn, user, password, len(old), initiator=GOOD_IQN) == old

    # the snapshot is held by its export: deleting it is refused, naming the export
    snaps_dir = os.path.join(b['file_volume_dir'])
    files_before = sorted(os.walk(snaps_dir))
    refused = run_module('snapshot', dict(backend=b, name='snap1', state='absent'))
    assert refused.failed, refused
    assert 'snapshot snap1 is exported' in refused['msg'] and siqn in refused['msg'], refused['msg']
    assert not refused.get('changed')
    assert sorted(os.walk(snaps_dir)) == files_before

    # the negative control: the volume's own (writable) export takes the same write
    vol = run_module('export', dict(backend=b, volume='fvol', connector=NODE1))
    assert not vol.failed, vol
    assert vol['export']['read_only'] is False
    viqn = 'iqn.2010-10.org.openstack:fvol'
    vuser, vpw = creds(vol)
    ok, out = iscsi_write(port, viqn, vuser, vpw, GOOD_IQN)
    assert ok, out
    assert iscsi_read(port, viqn, vuser, vpw, 4096, initiator=GOOD_IQN) == b'\x5a' * 4096

    # removing the snapshot export, then the snapshot
    gone = run_module('export', dict(backend=b, snapshot='snap1', state='absent'))
    assert gone.changed and gone['export']['action'] == 'delete'
    assert siqn not in env.tgtd.targets()
    deleted = run_module('snapshot', dict(backend=b, name='snap1', state='absent'))
    assert not deleted.failed and deleted.changed, deleted


def test_snapshot_export_bad_input_changes_nothing(tgt_env):
    env = tgt_env
    b = file_backend(env)
    make_snapshot(env, b)
    before = state(env)
    cases = [
        (dict(snapshot='nosuch', connector=NODE1), ["parameter 'snapshot'", "'nosuch' does not exist"]),
        (dict(snapshot='snap1', volume='fvol', connector=NODE1),
         ['mutually exclusive', 'snapshot', 'volume']),
        (dict(snapshot='snap1', device_path=env.file, connector=NODE1),
         ['mutually exclusive', 'snapshot', 'device_path']),
        (dict(snapshot='snap1', target_helper='nvmet',
              connector=dict(nqn='nqn.2014-08.org.nvmexpress:uuid:2b1e9b0a-7c1f-4f5e-9a51-'
                                 '0c3d5e6f7a81')),
         ["parameter 'snapshot'", 'nvmet', 'cannot export read-only']),
    ]
    for over, words in cases:
        res = run_module('export', dict(dict(backend=b), **over))
        assert res.failed, (over, res)
        for w in words:
            assert w in res['msg'], (over, w, res['msg'])
        assert not res.get('changed'), over
        assert state(env) == before, over
    assert not os.path.exists('/etc/nvmet/config.json') or 'snap1' not in open(
        '/etc/nvmet/config.json').read()


# --------------------------------------------------------------------------- RBD
def test_rbd_native_refuses_multiattach_and_tgt_rbd_exports_a_snapshot_read_only(ceph, tgt_env):
    env = tgt_env
    native = ceph.backend()
    res = run_module('volume', dict(backend=native, name='rvol', size='16M'))
    assert not res.failed, res
    old, new = pattern(41, 1 * MiB), pattern(42, 1 * MiB)
    ceph.write('rvol', old)
    res = run_module('snapshot', dict(backend=native, name='rsnap', volume='rvol'))
    assert not res.failed, res
    ceph.write('rvol', new)
    before = ceph.state()
    # the native helper (RBD's own protocol) cannot attach one image to two hosts
    two = run_module('export', dict(backend=native, volume='rvol', connectors=[NODE1, NODE2]))
    assert two.failed and "parameter 'connectors'" in two['msg'], two
    assert 'exclusive-lock' in two['msg'] and 'give one connector' in two['msg'], two['msg']
    assert not two.get('changed') and ceph.state() == before
    one = run_module('export', dict(backend=native, volume='rvol', connectors=[NODE1]))
    assert not one.failed and list(one['connections']) == ['node1'], one
    assert one['connection_info']['driver_volume_type'] == 'rbd'
    facts = run_module('backend_facts', dict(backend=native))
    info = list(facts['ansible_facts']['cinderkit_backends'].values())[0]
    assert info['multiattach'] is False and info['pools'][0]['multiattach'] is False
    # served natively there is no snapshot export
    snap = run_module('export', dict(backend=native, snapshot='rsnap', connector=NODE1))
    assert snap.failed and "parameter 'snapshot'" in snap['msg'], snap
    assert ceph.state() == before

    # through tgt's rbd backing store: pool/image@snap, read-only
    b = ceph.backend(target_helper='tgtadm', **env.backend)
    res = run_module('export', dict(backend=b, snapshot='rsnap', connector=NODE1))
    assert not res.failed, res
    ex = res['export']
    assert ex['read_only'] is True and ex['snapshot'] == 'rsnap' and ex['volume'] == 'rvol'
    assert ex['backing'] == 'rbd' and ex['device_path'].endswith('/rvol@rsnap'), ex
    siqn = 'iqn.2010-10.org.openstack:rsnap'
    user, password = creds(res)
    got = iscsi_read(env.tgtd.port, siqn, user, password, len(old), initiator=GOOD_IQN)
    assert got == old and got != new
    ok, out = iscsi_write(env.tgtd.port, siqn, user, password, GOOD_IQN)
    assert not ok and 'write protected' in out, out
    assert ceph.read('rvol', 0, len(new)) == new
    refused = run_module('snapshot', dict(backend=b, name='rsnap', state='absent'))
    assert refused.failed and 'is exported' in refused['msg'] and siqn in refused['msg'], refused
    assert ceph.state() == before
    gone = run_module('export', dict(backend=b, snapshot='rsnap', state='absent'))
    assert gone.changed and siqn not in env.tgtd.targets(), gone
