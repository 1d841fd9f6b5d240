# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: RBD at scale (issue 12).  1,000 images in one ``volume`` task, all present
with the right size and ownership, a re-run that changes nothing, all gone after the
delete; ``backend_facts`` makes the same number of librados/librbd calls at 10 and at
1,000 images.  No timing assertions (bench/rbd_bench.py measures).  The modules run
in-process (support.run_module) so ceph_calls.py can count the binding calls."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import rados
import rbd

import ceph_calls
from support import run_module

N = 1000
SIZE = 4 * 1024 ** 2


def names(n, start=0):
    return ['s-%04d' % i for i in range(start, start + n)]


def volumes(ceph, vols, state='present'):
    r = run_module('volume', dict(backend=ceph.backend(), volumes=[
        dict(name=n, size='4M', state=state) for n in vols]))
    assert not r.get('failed'), r.get('msg')
    return r


def facts(ceph):
    with ceph_calls.counting() as calls:
        r = run_module('backend_facts', dict(backend=dict(ceph.backend(), volume_backend_name='s')))
    assert not r.get('failed'), r.get('msg')
    return r['ansible_facts']['cinderkit_backends']['s'], calls


def look(ceph, name):
    with ceph.image(name, read_only=True) as im:
        return name, im.size(), dict(im.metadata_list())


def record(ceph):
    with ceph.ioctx() as io:
        try:
            with rados.ReadOpCtx() as op:
                it, _ret = io.get_omap_vals(op, '', '', 5000)
                io.operate_read_op(op, 'cinderkit.volumes')
                return dict((k, json.loads(v)) for k, v in it)
        except rados.ObjectNotFound:
            return {}


@pytest.mark.slow
def test_thousand_images_one_task_and_fixed_facts_calls(ceph):
    """One test, so the 1,000 images are made and removed once (runtime of the host tier)."""
    want = names(N)
    r = volumes(ceph, want)
    assert r['changed'] is True
    assert [v['action'] for v in r['volumes']] == ['create'] * N
    assert sorted(v['name'] for v in r['volumes']) == want
    assert all(v['size_bytes'] == SIZE for v in r['volumes'])
    assert ceph.images() == want
    with ThreadPoolExecutor(max_workers=8) as ex:
        seen = list(ex.map(lambda n: look(ceph, n), want))
    assert [s[1] for s in seen] == [SIZE] * N
    assert all(s[2] == {'ck.kind': 'volume'} for s in seen), [s for s in seen if s[2] != {'ck.kind': 'volume'}][:3]
    rec = record(ceph)
    assert sorted(rec) == want and set(v['size'] for v in rec.values()) == {SIZE}

    again = volumes(ceph, want)
    assert again['changed'] is False
    assert [v['action'] for v in again['volumes']] == ['none'] * N
    assert ceph.images() == want

    big, big_calls = facts(ceph)
    assert big['pools'][0]['total_volumes'] == N
    assert big['provisioned_capacity_gb'] == round(N * SIZE / 1024.0 ** 3, 2)
    assert big_calls.of('Image') == 0, big_calls.counts

    gone = volumes(ceph, want, 'absent')
    assert gone['changed'] is True
    assert [v['action'] for v in gone['volumes']] == ['delete'] * N
    assert ceph.images() == []
    assert record(ceph) == {}
    assert volumes(ceph, want, 'absent')['changed'] is False

    # backend_facts: the same calls at 10 images as at 1,000
    small_names = names(10)
    volumes(ceph, small_names)
    small, small_calls = facts(ceph)
    assert small['pools'][0]['total_volumes'] == 10
    assert small_calls.of('Image') == 0 and small_calls.total == big_calls.total, (
        small_calls.counts, big_calls.counts)
    # negative control: an image the record does not explain is opened, and the counter sees it
    with ceph.ioctx() as io:
        rbd.RBD().create(io, 'not-ours', SIZE, old_format=False)
    one, one_calls = facts(ceph)
    assert one['pools'][0]['total_volumes'] == 10            # not ours: not counted
    assert one_calls.counts['Image.open'] == 1 and one_calls.total > small_calls.total
    # and without the record every image is opened (the facts stay right)
    with ceph.ioctx() as io:
        io.remove_object('cinderkit.volumes')
    blind, blind_calls = facts(ceph)
    assert blind_calls.counts['Image.open'] == 11
    assert blind['pools'][0]['total_volumes'] == 10
    assert blind['provisioned_capacity_gb'] == small['provisioned_capacity_gb']
