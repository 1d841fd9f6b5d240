# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: bad input on the RBD backend.

Each case asserts the message (what is wrong and how to fix it) and that the
pool is exactly as before.  Connection problems must fail fast with a clear
error, never hang.
"""

import os
import socket
import time

import pytest

from support import run_module

WRONG_KEY = 'AQBxzUBnAAAAABAAvGkbD3e8HAqH8pN5J5kO7w=='


@pytest.fixture
def seeded(ck, ceph):
    """A managed volume with a snapshot and a clone, and the pool state to compare against."""
    b = ceph.backend()
    for args in (dict(name='keep', size='32M'), dict(name='keep-c', source={'volume': 'keep'})):
        assert not ck('volume', backend=b, **args).get('failed')
    assert not ck('snapshot', backend=b, volume='keep', name='keep-s').get('failed')
    return ceph.state()


def closed_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def failed(r, *words):
    assert r.get('failed'), r
    for w in words:
        assert w in r['msg'], (w, r['msg'])
    return r['msg']


def test_unreachable_monitor_fails_within_the_timeout(ceph, seeded, tmp_path):
    conf = tmp_path / 'closed.conf'
    conf.write_text('[global]\nmon host = [v2:127.0.0.1:%d]\n' % closed_port())
    t0 = time.time()
    r = run_module('volume', dict(backend=ceph.backend(rbd_ceph_conf=str(conf), rados_connect_timeout=3,
                                                       rbd_keyring_conf=ceph.cinder_keyring),
                                  name='new1', size='8M'))
    took = time.time() - t0
    failed(r, 'cannot reach the Ceph monitors', 'within 3 s (rados_connect_timeout)', 'timed out')
    assert took < 3 + 30, 'took %.1f s with rados_connect_timeout=3' % took   # bounded, not hung (slack for a loaded host)
    assert ceph.state() == seeded


def test_wrong_key_is_refused(ck, ceph, seeded, tmp_path):
    keyring = tmp_path / 'wrong.keyring'
    keyring.write_text('[client.cinder]\n\tkey = %s\n' % WRONG_KEY)
    os.chmod(str(keyring), 0o600)
    r = ck('volume', backend=ceph.backend(rbd_keyring_conf=str(keyring)), name='new1', size='8M')
    msg = failed(r, 'refused client.cinder', 'permission denied', 'wrong key')
    assert WRONG_KEY not in msg
    assert ceph.state() == seeded


def test_user_without_keyring(ck, ceph, seeded):
    r = ck('volume', backend=ceph.backend(rbd_user='ghost'), name='new1', size='8M')
    failed(r, 'no key found for client.ghost', 'rbd_keyring_conf')
    r = ck('volume', backend=ceph.backend(rbd_keyring_conf='/nonexistent/ceph.keyring'), name='new1', size='8M')
    failed(r, "'backend.rbd_keyring_conf'", 'does not exist or is not readable')
    assert ceph.state() == seeded


def test_missing_pool_and_conf(ck, ceph, seeded):
    r = ck('backend_facts', backend=ceph.backend(rbd_pool='nopool', rbd_user='admin'))
    failed(r, "'backend.rbd_pool'", "pool 'nopool' does not exist", 'ceph osd pool create nopool')
    r = ck('volume', backend=ceph.backend(rbd_ceph_conf='/etc/ceph/missing.conf'), name='new1', size='8M')
    failed(r, "'backend.rbd_ceph_conf'", '/etc/ceph/missing.conf does not exist')
    assert ceph.state() == seeded


def test_bad_options(ck, ceph, seeded):
    r = ck('volume', backend=ceph.backend(rbd_pool_name='volumes'), name='new1', size='8M')
    failed(r, "unknown option 'rbd_pool_name'", 'rbd_pool')
    r = ck('volume', backend=ceph.backend(rbd_store_chunk_size=3), name='new1', size='8M')
    failed(r, 'rbd_store_chunk_size', 'not a power of two')
    r = ck('volume', backend=ceph.backend(rbd_max_clone_depth=-1), name='new1', size='8M')
    failed(r, 'rbd_max_clone_depth')
    r = ck('volume', backend=ceph.backend(target_helper='lioadm'), name='new1', size='8M')
    failed(r, 'target_helper')
    assert ceph.state() == seeded


def test_bad_names(ck, ceph, seeded):
    b = ceph.backend()
    for name, why in (('a/b', "'/'"), ('a@b', "'@'"), ('-x', 'must not start with "-"'),
                      ('x.clone_snap', "must not end with '.clone_snap'"), ('x' * 251, 'the limit is 250')):
        failed(ck('volume', backend=b, name=name, size='8M'), "parameter 'name'", why)
    failed(ck('snapshot', backend=b, volume='keep', name='s@1'), "parameter 'name'", "'@'")
    failed(ck('volume', backend=b, volumes=[{'name': 'ok1', 'size': '8M'}, {'name': 'bad/2', 'size': '8M'}]),
           "'/'")
    assert ceph.state() == seeded and 'ok1' not in ceph.images()


def test_conflicting_requests(ck, ceph, seeded):
    b = ceph.backend()
    failed(ck('volume', backend=b, name='keep', size='16M'), 'never shrunk', 'at least 0.031 GiB')
    failed(ck('extend', backend=b, name='keep', size='16M'), 'Volumes are never shrunk')
    failed(ck('volume', backend=b, name='keep-s', size='8M'), 'taken by a snapshot')
    failed(ck('volume', backend=b, name='x1', source={'snapshot': 'nope'}), "snapshot 'nope' not found")
    failed(ck('volume', backend=b, name='x1', source={'volume': 'keep'}, size='16M'), 'smaller than its source')
    failed(ck('snapshot', backend=b, volume='nope', name='s9'), "volume 'nope' not found")
    failed(ck('snapshot', backend=b, volume='keep-c', name='keep-s', state='reverted'),
           'is a snapshot of volume keep, not of keep-c')
    failed(ck('volume', backend=b, name='huge', size='100T'), 'over-subscribed', 'Nothing was changed')
    assert ceph.state() == seeded


def test_delete_with_dependants_is_refused(ck, ceph, seeded):
    b = ceph.backend()
    failed(ck('volume', backend=b, name='keep', state='absent'), 'has snapshots (keep-s)')
    assert not ck('volume', backend=b, name='from-s', source={'snapshot': 'keep-s'}).get('failed')
    st = ceph.state()
    failed(ck('snapshot', backend=b, name='keep-s', state='absent'),
           'dependent volume(s) (%s/from-s)' % ceph.pool, 'rbd_flatten_on_delete')
    assert ceph.state() == st
    assert not ck('volume', backend=b, name='from-s', state='absent').get('failed')
    assert not ck('snapshot', backend=b, name='keep-s', state='absent').get('failed')
    st = ceph.state()
    failed(ck('volume', backend=b, name='keep', state='absent'),
           'dependent clone(s) (%s/keep-c)' % ceph.pool, 'rbd_flatten_on_delete: true')
    # in a bulk request, nothing at all is deleted
    failed(ck('volume', backend=b, state='absent', volumes=[{'name': 'keep-c'}, {'name': 'keep'}]),
           'dependent clone(s)')
    assert ceph.state() == st


def test_image_snapshots_cinderkit_does_not_manage_block_delete(ck, ceph, seeded):
    with ceph.image('keep') as im:
        im.create_snap('by-hand')
    st = ceph.state()
    failed(ck('volume', backend=ceph.backend(), name='keep', state='absent'), 'has snapshots')
    with ceph.image('keep-c') as im:
        im.create_snap('by-hand2')
    failed(ck('volume', backend=ceph.backend(), name='keep-c', state='absent'),
           'snapshots cinderkit does not manage (by-hand2)')
    assert ceph.state() == dict(st, **{'keep-c': ceph.state()['keep-c']})
