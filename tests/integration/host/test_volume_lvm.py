# -*- coding: utf-8 -*-
"""Host tier: the volume and backend_facts modules on real LVM metadata.

The VG sits on a loop device; LVM runs with activation off (this kernel has
no device-mapper), which is all that metadata operations need.
"""

import pytest


def lv_bytes(vg, name):
    return int(vg.lvs()[name]['lv_size'])


def test_create_rerun_delete(ck, vg):
    b = vg.backend()
    r = ck('volume', backend=b, name='db01-data', size=2)
    assert r['changed'] and not r.get('failed'), r
    v = r['volume']
    assert v['action'] == 'create' and v['size_gb'] == 2.0 and v['size_bytes'] == 2 * 1024 ** 3
    assert v['path'] == '/dev/%s/db01-data' % vg.name
    assert v['lvm_type'] == 'default' and v['provisioning'] == 'thick'
    assert v['provider_location'] == '%s/db01-data' % vg.name
    assert lv_bytes(vg, 'db01-data') == 2 * 1024 ** 3
    assert 'ck.kind=volume' in vg.lvs()['db01-data']['lv_tags']

    again = ck('volume', backend=b, name='db01-data', size=2)
    assert again['changed'] is False and again['volume']['action'] == 'none'
    # the unchanged re-run ran one query: lvs, which also carries the VG's fields
    assert [c.split()[0] for c in again['commands']] == ['lvs']

    gone = ck('volume', backend=b, name='db01-data', state='absent')
    assert gone['changed'] and 'db01-data' not in vg.lvs()
    assert ck('volume', backend=b, name='db01-data', state='absent')['changed'] is False


def test_unit_suffixes_and_extent_rounding(ck, vg):
    b = vg.backend()
    r = ck('volume', backend=b, name='small', size='10M')
    # 10 MiB rounds up to whole 4 MiB extents, like LVM does
    assert r['volume']['size_bytes'] == 12 * 1024 ** 2 == lv_bytes(vg, 'small')
    assert ck('volume', backend=b, name='small', size='10M')['changed'] is False
    assert ck('volume', backend=b, name='small', size='12M')['changed'] is False


def test_check_mode_changes_nothing(play, vg):
    b = vg.backend()
    before = vg.lvs()
    res = play.run([
        {'cinderkit.storage.volume': {'backend': b, 'name': 'v1', 'size': 1}},
        {'cinderkit.storage.volume': {'backend': b, 'volumes': [{'name': 'b1', 'size': 1},
                                                                {'name': 'b2', 'size': '512M'}]}},
    ], check=True)
    assert res[0]['changed'] and res[0]['volume']['action'] == 'create'
    assert res[0]['volume']['size_gb'] == 1.0
    assert [v['action'] for v in res[1]['volumes']] == ['create', 'create']
    assert vg.lvs() == before
    assert all('check mode' in c for c in res[0]['commands'] if c.startswith('lvcreate'))


def test_check_mode_delete_and_grow(ck, play, vg):
    b = vg.backend()
    ck('volume', backend=b, name='v1', size=1)
    before = vg.lvs()
    res = play.run([
        {'cinderkit.storage.volume': {'backend': b, 'name': 'v1', 'size': 2}},
        {'cinderkit.storage.volume': {'backend': b, 'name': 'v1', 'state': 'absent'}},
    ], check=True, diff=True)
    assert res[0]['changed'] and res[0]['volume']['action'] == 'extend'
    assert res[0]['volume']['size_gb'] == 2.0
    assert res[0]['diff'] == {'before': {'v1': {'size_gb': 1.0, 'provisioning': 'thick'}},
                              'after': {'v1': {'size_gb': 2.0}}}
    assert res[1]['changed'] and res[1]['diff']['after'] == {'v1': None}
    assert vg.lvs() == before


def test_diff_mode_output(play, vg):
    b = vg.backend()
    res = play.run([{'cinderkit.storage.volume': {'backend': b, 'volumes': [
        {'name': 'd1', 'size': 1}, {'name': 'd2', 'size': 2}]}}], diff=True)
    d = res[0]['diff']
    assert d['before'] == {'d1': None, 'd2': None}
    assert d['after'] == {'d1': {'size_gb': 1.0}, 'd2': {'size_gb': 2.0}}
    res = play.run([{'cinderkit.storage.volume': {'backend': b, 'volumes': [
        {'name': 'd1', 'size': 1}, {'name': 'd2', 'size': 2}]}}], diff=True)
    assert not res[0]['changed'] and 'diff' not in res[0]


def test_bulk_200(ck, vg):
    b = vg.backend()
    want = [{'name': 'bulk%03d' % i, 'size': '%dM' % (4 * (1 + i % 5))} for i in range(200)]
    r = ck('volume', backend=b, volumes=want)
    assert r['changed'] and len(r['volumes']) == 200
    lvs = vg.lvs()
    for w in want:
        assert int(lvs[w['name']]['lv_size']) == int(w['size'][:-1]) * 1024 ** 2
    # one query before, one batch, one verification: never one command per volume
    assert len(r['commands']) <= 6, r['commands']
    again = ck('volume', backend=b, volumes=want)
    assert again['changed'] is False and not any(v['changed'] for v in again['volumes'])
    assert len(again['commands']) == 1
    gone = ck('volume', backend=b, volumes=[{'name': w['name']} for w in want], state='absent')
    assert gone['changed'] and not [n for n in vg.lvs() if n.startswith('bulk')]
    assert sum(1 for c in gone['commands'] if c.startswith('lvremove')) == 1


def test_backend_facts_match_vgs_and_lvs(ck, vg):
    b = vg.backend(volume_backend_name='lvm-host', reserved_percentage=5)
    ck('volume', backend=b, volumes=[{'name': 'f1', 'size': 1}, {'name': 'f2', 'size': 3}])
    r = ck('backend_facts', backend=b)
    assert r['changed'] is False
    facts = r['ansible_facts']['cinderkit_backends']['lvm-host']
    for key in ('driver_version', 'free_capacity_gb', 'total_capacity_gb', 'reserved_percentage',
                'storage_protocol', 'vendor_name', 'volume_backend_name', 'online_extend_support'):
        assert key in facts, key
    g = vg.vg()
    assert facts['total_capacity_gb'] == round(int(g['vg_size']) / 1024 ** 3, 2)
    assert facts['free_capacity_gb'] == round(int(g['vg_free']) / 1024 ** 3, 2)
    assert facts['reserved_percentage'] == 5
    assert facts['storage_protocol'] == 'iSCSI' and facts['vendor_name'] == 'Open Source'
    pool = facts['pools'][0]
    assert pool['pool_name'] == 'lvm-host'
    assert pool['total_volumes'] == len(vg.lvs()) == 2
    assert pool['provisioned_capacity_gb'] == round(facts['total_capacity_gb'] - facts['free_capacity_gb'], 2)
    assert pool['thick_provisioning_support'] and not pool['thin_provisioning_support']
    assert pool['max_over_subscription_ratio'] == '20.0'
    assert pool['location_info'].startswith('LVMVolumeDriver:') and pool['location_info'].endswith(
        ':%s:default:0' % vg.name)
    assert pool['multiattach'] is True and pool['backend_state'] == 'up'
    caps = facts['capabilities']
    assert set(caps['properties']) >= {'thin_provisioning', 'compression', 'qos', 'replication_enabled'}
    assert caps['vendor_prefix'] == 'cinderkit'
    assert all(k.startswith('cinderkit:') for k in caps['properties'] if ':' in k)
    # one query, whatever the number of LVs
    assert [c.split()[0] for c in r['commands']] == ['lvs']


def test_storage_protocol_follows_target_helper(ck, vg):
    for helper, proto, expect in (('lioadm', 'iser', 'iSER'), ('nvmet', 'nvmet_tcp', 'NVMe-oF'),
                                  ('tgtadm', 'iscsi', 'iSCSI')):
        b = vg.backend(target_helper=helper, target_protocol=proto, volume_backend_name=helper)
        facts = ck('backend_facts', backend=b)['ansible_facts']['cinderkit_backends'][helper]
        assert facts['storage_protocol'] == expect
        # LIO and nvmet show a grown LUN online; tgt re-creates it
        assert facts['online_extend_support'] is (helper != 'tgtadm')


def test_module_defaults_action_group(play, vg):
    """module_defaults: group/cinderkit.storage.backend shares the backend between tasks."""
    import os
    import subprocess
    import sys
    import yaml
    path = os.path.join(play.tmpdir, 'group.yml')
    with open(path, 'w') as fh:
        yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False,
                         'module_defaults': {'group/cinderkit.storage.backend': {'backend': vg.backend()}},
                         'tasks': [{'cinderkit.storage.volume': {'name': 'g1', 'size': 1}},
                                   {'cinderkit.storage.backend_facts': {}}]}], fh)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), path,
                           '-i', 'localhost,', '-c', 'local'], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'g1' in vg.lvs()


def test_config_file_backend(ck, vg, tmp_path):
    conf = tmp_path / 'cinder.conf'
    conf.write_text('[DEFAULT]\nenabled_backends = lvm-1\n\n[lvm-1]\n'
                    'volume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\n'
                    'volume_group = %s\nlvm_type = default\nlvm_conf_file = %s\n'
                    'volume_backend_name = LVM_iSCSI\nvolume_clear = none\n' % (vg.name, vg.lvm_conf))
    r = ck('volume', config_file=str(conf), backend_name='lvm-1', name='fromconf', size=1)
    assert r['changed'] and 'fromconf' in vg.lvs()
    facts = ck('backend_facts', config_file=str(conf), backend_name='lvm-1')
    assert 'LVM_iSCSI' in facts['ansible_facts']['cinderkit_backends']


def test_unmanaged_lv_is_left_alone(ck, vg):
    vg.lvm(['lvcreate', '--yes', '-n', 'foreign', '-L', '8m', vg.name])
    b = vg.backend()
    r = ck('volume', backend=b, name='foreign', state='absent')
    assert r.get('failed') and 'not managed by cinderkit' in r['msg']
    r = ck('volume', backend=b, name='foreign', size=1)
    assert r.get('failed') and 'manage_existing' in r['msg']
    assert 'foreign' in vg.lvs()


# -- bad input: each asserts the message and that nothing changed ---------------

BAD = [
    ({'name': 'v', 'size': 0}, "parameter 'size'", 'greater than zero'),
    ({'name': 'v', 'size': -3}, "parameter 'size'", 'greater than zero'),
    ({'name': 'v', 'size': '-3G'}, "parameter 'size'", 'greater than zero'),
    ({'name': 'v', 'size': 'ten'}, "parameter 'size'", 'not a number'),
    ({'name': 'v', 'size': '1.5X'}, "parameter 'size'", 'not a number'),
    ({'name': 'v', 'size': '100K'}, "parameter 'size'", 'whole number of MiB'),
    ({'name': 'a;rm -rf /', 'size': 1}, "parameter 'name'", "';'"),
    ({'name': 'has space', 'size': 1}, "parameter 'name'", "' '"),
    ({'name': '../etc', 'size': 1}, "parameter 'name'", "'/'"),
    ({'name': '-rf', 'size': 1}, "parameter 'name'", 'must not start with "-"'),
    ({'name': 'snapshot-db', 'size': 1}, "parameter 'name'", 'reserved by LVM'),
    ({'name': 'x' * 200, 'size': 1}, "parameter 'name'", 'the limit is 127'),
    ({'name': 'v'}, "parameter 'size'", 'size is required'),
    ({'name': 'v', 'size': 1, 'backend': {'volume_group': 'no-such-vg'}}, 'volume_group', 'does not exist'),
    ({'name': 'v', 'size': 1, 'backend': {'lvm_typo': 'thin'}}, "'lvm_typo'", 'unknown option'),
    ({'name': 'v', 'size': 1, 'backend': {'lvm_type': 'thin'}}, 'backend.lvm_type', 'no thin pool'),
    ({'name': 'v', 'size': 1, 'backend': {'lvm_type': 'fat'}}, 'backend.lvm_type', 'Valid values'),
    ({'name': 'v', 'size': 1, 'backend': {'volume_driver': 'nfs'}}, 'backend.volume_driver', 'unknown volume driver'),
    ({'name': 'v', 'size': 10000}, 'free', 'Nothing was changed'),
    ({'volumes': [{'name': 'ok1', 'size': 1}, {'name': 'ok1', 'size': 1}]}, 'volumes[1].name', 'listed twice'),
    ({'volumes': [{'name': 'ok1', 'size': 1}, {'name': 'bad name', 'size': 1}]}, 'volumes[1].name', "' '"),
    ({'volumes': [{'name': 'ok1', 'size': 1}, {'name': 'ok2', 'size': 'huge'}]}, 'volumes[1].size', 'not a number'),
    ({'volumes': [{'name': 'ok%d' % i, 'size': 5} for i in range(5)]}, 'free', 'Nothing was changed'),
    ({'name': 'v', 'size': 1, 'source': {'snapshot': 'nope'}}, 'source.snapshot', 'not found'),
    ({'name': 'v', 'size': 1, 'source': {'snapshot': 'a', 'volume': 'b'}}, "parameter 'source'", 'exactly one'),
    ({'name': 'v', 'size': 1, 'source': {'image': '/nonexistent.qcow2'}}, 'source.image', 'does not exist'),
]


@pytest.mark.parametrize('args,where,what', BAD, ids=['%02d-%s' % (i, case[2].replace(' ', '_')) for i, case in enumerate(BAD)])
def test_bad_input(ck, vg, args, where, what):
    ck('volume', backend=vg.backend(), name='keep', size=1)
    before = vg.lvs()
    args = dict(args)
    backend = vg.backend()
    backend.update(args.pop('backend', {}))
    r = ck('volume', backend=backend, **args)
    assert r.get('failed'), r
    assert where in r['msg'] and what in r['msg'], r['msg']
    assert r['changed'] is False
    assert vg.lvs() == before


def test_shrink_is_refused(ck, vg):
    b = vg.backend()
    ck('volume', backend=b, name='big', size=2)
    before = vg.lvs()
    for args in ({'name': 'big', 'size': 1}, {'volumes': [{'name': 'big', 'size': '1G'}]}):
        r = ck('volume', backend=b, **args)
        assert r.get('failed') and 'never shrunk' in r['msg'] and 'at least 2 GiB' in r['msg']
    assert vg.lvs() == before
