# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: backend_facts on RBD against ``ceph df`` and librados' own numbers."""

import json
import math

from ceph_fixtures import MiB

GiB = 1024 ** 3


def facts(ck, backend, name='ceph-1'):
    b = dict(backend, volume_backend_name=name)
    r = ck('backend_facts', backend=b)
    assert not r.get('failed'), r
    return r['ansible_facts']['cinderkit_backends'][name]


def df(ceph):
    out = json.loads(ceph.cli('df', '--format', 'json'))
    pool = next(p for p in out['pools'] if p['name'] == ceph.pool)['stats']
    return out['stats'], pool


def near(a, b, tol=0.02):
    return abs(float(a) - float(b)) <= tol


def test_stats_match_ceph_df(ck, ceph):
    b = ceph.backend()
    for name, size in (('f1', '1G'), ('f2', '512M')):
        assert not ck('volume', backend=b, name=name, size=size).get('failed')
    import rbd
    with ceph.ioctx() as io:
        rbd.RBD().create(io, 'not-ours', 2 * GiB, old_format=False)
    ceph.write('f1', b'\1' * (8 * MiB))

    cluster, pool = df(ceph)
    f = facts(ck, b)
    cluster2, pool2 = df(ceph)
    # Cinder's RBD keys and values
    assert f['volume_backend_name'] == 'ceph-1' and f['vendor_name'] == 'Open Source'
    assert f['driver_version'] == '1.2.0' and f['storage_protocol'] == 'ceph'
    assert f['online_extend_support'] is True               # clients see a resize at once
    # exported through tgt instead: what the pair does (tgt re-creates the LUN on extend)
    tgt = facts(ck, ceph.backend(target_helper='tgtadm'))
    assert tgt['storage_protocol'] == 'iSCSI' and tgt['online_extend_support'] is False
    assert f['reserved_percentage'] == 0 and f['max_over_subscription_ratio'] == '20.0'
    assert f['thin_provisioning_support'] is True and f['backend_state'] == 'up'
    assert f['replication_enabled'] is False
    fsid = ceph.client.get_fsid()
    fsid = fsid.decode() if isinstance(fsid, bytes) else fsid
    assert f['location_info'] == 'ceph:%s:%s:cinder:%s' % (ceph.conf, fsid, ceph.pool)
    # dynamic total: used + max_avail of the pool (no quota)
    assert near(f['free_capacity_gb'], pool['max_avail'] / float(GiB)) or \
        near(f['free_capacity_gb'], pool2['max_avail'] / float(GiB))
    assert near(f['total_capacity_gb'], (pool['max_avail'] + pool['bytes_used']) / float(GiB)) or \
        near(f['total_capacity_gb'], (pool2['max_avail'] + pool2['bytes_used']) / float(GiB))
    # exclusive pool (Cinder's default): provisioned = the managed volumes
    assert f['provisioned_capacity_gb'] == 1.5
    p0 = f['pools'][0]
    assert p0['pool_name'] == 'ceph-1' and p0['total_volumes'] == 2
    assert p0['free_capacity_gb'] == f['free_capacity_gb'] and p0['thick_provisioning_support'] is False
    caps = f['capabilities']
    assert caps['properties']['thin_provisioning']['type'] == 'boolean'
    assert caps['vendor_prefix'] == 'cinderkit'
    assert 'cinderkit:rbd_max_clone_depth' in caps['properties']

    # shared pool: every image counts, in whole GiB (Cinder's _get_usage_info)
    f = facts(ck, ceph.backend(rbd_exclusive_cinder_pool=False))
    assert f['provisioned_capacity_gb'] == math.ceil(3.5) == 4

    # static total: the cluster's raw size (librados agrees with ceph df)
    f = facts(ck, ceph.backend(report_dynamic_total_capacity=False))
    stats = ceph.client.get_cluster_stats()
    assert f['total_capacity_gb'] == round(cluster['total_bytes'] / float(GiB), 2)
    assert stats['kb'] * 1024 == cluster['total_bytes']


def test_stats_with_a_pool_quota(ck, ceph):
    ceph.mon('osd pool set-quota', pool=ceph.pool, field='max_bytes', val=str(3 * GiB))
    try:
        _cluster, pool = df(ceph)
        f = facts(ck, ceph.backend(report_dynamic_total_capacity=False))
        assert f['total_capacity_gb'] == 3.0
        assert near(f['free_capacity_gb'], min(3 * GiB - pool['bytes_used'], pool['max_avail']) / float(GiB))
        f = facts(ck, ceph.backend())
        assert near(f['total_capacity_gb'], f['free_capacity_gb'] + pool['bytes_used'] / float(GiB))
        # over-subscription is checked against the quota: 3 GiB x 2.0 = 6 GiB
        b = ceph.backend(max_over_subscription_ratio='2.0')
        assert not ck('volume', backend=b, name='q1', size='5G').get('failed')
        st = ceph.state()
        r = ck('volume', backend=b, name='q2', size='2G')
        assert r.get('failed') and 'over-subscribed' in r['msg'] and 'Nothing was changed' in r['msg'], r
        r = ck('extend', backend=b, name='q1', size='7G')
        assert r.get('failed') and 'over-subscribed' in r['msg'], r
        assert ceph.state() == st
    finally:
        ceph.mon('osd pool set-quota', pool=ceph.pool, field='max_bytes', val='0')


def test_a_resize_outside_the_collection_and_the_record(ck, ceph):
    """An exclusive pool's sizes come from the record (backend_facts' module docs say so): a
    resize with librbd itself is not seen there until a task changes the volume; a shared pool
    reads every image and sees it at once."""
    b = ceph.backend()
    assert not ck('volume', backend=b, name='rs1', size='1G').get('failed')
    assert facts(ck, b)['provisioned_capacity_gb'] == 1.0
    with ceph.image('rs1') as img:
        img.resize(2 * GiB)                                 # not through the collection
    assert ceph.size('rs1') == 2 * GiB
    assert facts(ck, b)['provisioned_capacity_gb'] == 1.0   # the record's size, as documented
    assert facts(ck, ceph.backend(rbd_exclusive_cinder_pool=False))['provisioned_capacity_gb'] == 2
    r = ck('extend', backend=b, name='rs1', size='3G')
    assert not r.get('failed') and r['changed'], r
    assert ceph.size('rs1') == 3 * GiB and facts(ck, b)['provisioned_capacity_gb'] == 3.0
