# -*- coding: utf-8 -*-
"""Host tier: the manage_existing module on real LVM metadata (activation off).

LVs are made with plain lvcreate (as another tool would have made them), then adopted,
released and listed; every outcome is checked against ``lvs``.  Thin pools, open LVs and
snapshots need device-mapper: tests/integration/vm/test_manage_existing.py covers them.
"""

import json
import math

import pytest

from support import run_module

GiB = 1024 ** 3
MiB = 1024 ** 2


def lvcreate(vg, name, size, *extra):
    vg.lvm(['lvcreate', '--yes', '-L', size, '-n', name] + list(extra) + [vg.name])


def tags(vg, name):
    return sorted(t for t in vg.lvs()[name]['lv_tags'].split(',') if t)


def gib_up(vg, name):
    return int(math.ceil(int(vg.lvs()[name]['lv_size']) / float(GiB)))


def ok(r):
    assert not r.get('failed'), r
    return r


def test_adopt_renaming_then_in_place_then_release(ck, play, vg):
    b = vg.backend()
    lvcreate(vg, 'legacy-a', '1g', '--addtag', 'owner=dba')
    lvcreate(vg, 'legacy-b', '2500m')
    lvcreate(vg, 'legacy-c', '100m')
    before = vg.lvs()

    # check mode plans the rename and the tag, changes nothing
    res = play.run([{'cinderkit.storage.manage_existing': {
        'backend': b, 'source_name': 'legacy-a', 'name': 'db01-data'}}], check=True, diff=True)
    assert res[0]['changed'] and res[0]['volume']['action'] == 'adopt'
    assert res[0]['volume']['renamed'] is True and res[0]['volume']['size_gb'] == 1
    assert res[0]['diff'] == {
        'before': {'volume': 'legacy-a', 'storage_name': 'legacy-a', 'managed': False},
        'after': {'volume': 'db01-data', 'storage_name': 'db01-data', 'managed': True}}
    assert vg.lvs() == before

    # Cinder's way: renamed to the volume name, ownership tag added, other tags kept
    r = ok(ck('manage_existing', backend=b, source_name='legacy-a', name='db01-data'))
    assert r['changed'] and r['volume']['action'] == 'adopt' and r['volume']['renamed']
    lvs = vg.lvs()
    assert 'legacy-a' not in lvs and 'db01-data' in lvs
    assert tags(vg, 'db01-data') == ['ck.kind=volume', 'owner=dba']
    assert r['volume']['size_bytes'] == int(lvs['db01-data']['lv_size']) == GiB
    assert r['volume']['size_gb'] == 1 and r['volume']['path'] == '/dev/%s/db01-data' % vg.name
    assert [c.split()[0] for c in r['commands'] if not c.startswith(('vgs', 'lvs', '/'))] == [
        'lvrename', 'lvchange']
    again = ok(ck('manage_existing', backend=b, source_name='legacy-a', name='db01-data'))
    assert again['changed'] is False and again['volume']['action'] == 'none'
    assert vg.lvs() == lvs

    # in place: the name stays, the tag records ownership; size rounded up to whole GiB
    r = ok(ck('manage_existing', backend=b, reference={'source-name': 'legacy-b'}, rename=False))
    assert r['changed'] and r['volume']['name'] == 'legacy-b' and r['volume']['renamed'] is False
    assert tags(vg, 'legacy-b') == ['ck.kind=volume']
    assert r['volume']['size_bytes'] == int(vg.lvs()['legacy-b']['lv_size']) == 2500 * MiB
    assert r['volume']['size_gb'] == gib_up(vg, 'legacy-b') == 3
    assert not ok(ck('manage_existing', backend=b, source_name='legacy-b', rename=False))['changed']
    assert not ok(ck('manage_existing', backend=b, source_name='legacy-b', name='legacy-b',
                     rename=False))['changed']

    # the volume module now owns both: it sees them as its volumes (no change, no error)
    vol = ok(ck('volume', backend=b, name='legacy-b', size='2500M'))
    assert vol['changed'] is False and vol['volume']['managed'] is True

    # release: tags go, name and size stay; the volume module refuses it again
    res = play.run([{'cinderkit.storage.manage_existing': {
        'backend': b, 'name': 'db01-data', 'state': 'unmanaged'}}], check=True, diff=True)
    assert res[0]['changed'] and res[0]['diff']['after']['managed'] is False
    assert 'ck.kind=volume' in tags(vg, 'db01-data')
    r = ok(ck('manage_existing', backend=b, name='db01-data', state='unmanaged'))
    assert r['changed'] and r['volume']['action'] == 'release' and r['volume']['managed'] is False
    assert tags(vg, 'db01-data') == ['owner=dba']
    assert int(vg.lvs()['db01-data']['lv_size']) == GiB
    refused = ck('volume', backend=b, name='db01-data', size=1)
    assert refused.get('failed') and 'manage_existing' in refused['msg'], refused
    assert not ok(ck('manage_existing', backend=b, name='db01-data', state='unmanaged'))['changed']
    assert not ok(ck('manage_existing', backend=b, name='never-was', state='unmanaged'))['changed']
    # and it can be adopted again, in place
    assert ok(ck('manage_existing', backend=b, source_name='db01-data', rename=False))['changed']
    assert tags(vg, 'db01-data') == ['ck.kind=volume', 'owner=dba']


def _expected(vg, managed=()):
    """The manageable-volume entries, computed from lvs."""
    out = []
    for name, row in vg.lvs().items():
        size = int(math.ceil(int(row['lv_size']) / float(GiB)))
        out.append(dict(name=name, size=size, managed=name in managed))
    return out


def test_listing_matches_lvs_with_pagination_and_sorting(ck, vg):
    b = vg.backend()
    for name, size in (('m-05', '5g'), ('m-01', '100m'), ('m-03', '2100m'), ('m-02', '1g'),
                       ('m-04', '3g'), ('m-06', '2g')):
        lvcreate(vg, name, size)
    ok(ck('volume', backend=b, name='mine', size=2))
    expected = _expected(vg, managed=('mine',))

    full = ok(ck('manage_existing', backend=b, state='listed'))
    assert full['changed'] is False
    entries = full['manageable']
    # one entry per LV of the VG, in Cinder's shape, sorted by identifier by default
    assert [e['reference']['source-name'] for e in entries] == sorted(e['name'] for e in expected)
    by_name = dict((e['reference']['source-name'], e) for e in entries)
    for exp in expected:
        e = by_name[exp['name']]
        assert set(e) == {'reference', 'size', 'safe_to_manage', 'reason_not_safe', 'cinder_id',
                          'extra_info'}
        assert e['size'] == exp['size'], (exp, e)
        if exp['managed']:
            assert (e['safe_to_manage'], e['reason_not_safe'], e['cinder_id']) == (
                False, 'already managed', 'mine')
        else:
            assert (e['safe_to_manage'], e['reason_not_safe'], e['cinder_id']) == (True, None, None)

    # size descending, ties by identifier ascending
    srt = ok(ck('manage_existing', backend=b, state='listed', sort_keys=['size', 'identifier'],
                sort_dirs=['desc', 'asc']))['manageable']
    want = sorted(expected, key=lambda e: (-e['size'], e['name']))
    assert [e['reference']['source-name'] for e in srt] == [e['name'] for e in want]

    # pages of 3 through marker: together exactly the sorted list, no overlap
    pages, marker = [], None
    for dummy in range(5):
        args = dict(backend=b, state='listed', sort_keys=['size', 'identifier'],
                    sort_dirs=['desc', 'asc'], limit=3)
        if marker is not None:
            args['marker'] = marker
        page = ok(ck('manage_existing', **args))['manageable']
        if not page:
            break
        pages.append([e['reference']['source-name'] for e in page])
        marker = page[-1]['reference']
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sum(pages, []) == [e['name'] for e in want]
    # offset after a marker (given as JSON text and as a bare name), identifier descending
    names_desc = sorted((e['name'] for e in expected), reverse=True)
    for marker in (json.dumps({'source-name': names_desc[1]}), names_desc[1]):
        pg = ok(ck('manage_existing', backend=b, state='listed', sort_dirs=['desc'],
                   marker=marker, offset=1, limit=2))['manageable']
        assert [e['reference']['source-name'] for e in pg] == names_desc[3:5]
    # limit 0 is an empty page, as in Cinder
    assert ok(ck('manage_existing', backend=b, state='listed', limit=0))['manageable'] == []


def test_refuses_an_already_managed_lv(ck, vg):
    b = vg.backend()
    ok(ck('volume', backend=b, name='owned', size=1))
    before = vg.lvs()
    r = ck('manage_existing', backend=b, source_name='owned', name='other-name')
    assert r.get('failed') and 'already managed' in r['msg'] and r['reason_not_safe'] == \
        'already managed', r
    r = ck('manage_existing', backend=b, source_name='owned', name='other-name', force=True)
    assert r.get('failed') and 'already managed' in r['msg'], r
    assert vg.lvs() == before
    # under its own name it is simply already there
    assert ok(ck('manage_existing', backend=b, source_name='owned', rename=False))['changed'] is False


def test_exported_lv_is_not_safe_and_force_adopts_it(ck, vg, tgt_env):
    """An LV whose name the target exports (tgtd here, exporting a file) is not safe."""
    b = vg.backend(**tgt_env.backend)
    lvcreate(vg, 'shared-lv', '1g')
    lvcreate(vg, 'quiet-lv', '1g')
    exp = run_module('export', dict(backend=b, volume='shared-lv', device_path=tgt_env.file,
                                    initiators=['iqn.1994-05.com.example:good-host']))
    assert not exp.failed, exp
    listed = ok(ck('manage_existing', backend=b, state='listed'))['manageable']
    reasons = dict((e['reference']['source-name'], e['reason_not_safe']) for e in listed)
    assert reasons == {'shared-lv': 'exported', 'quiet-lv': None}
    before = vg.lvs()
    r = ck('manage_existing', backend=b, source_name='shared-lv', name='shared')
    assert r.get('failed') and 'exported' in r['msg'] and 'force' in r['msg'], r
    assert vg.lvs() == before
    # force never renames a busy LV: the export's saved backing would point nowhere
    r = ck('manage_existing', backend=b, source_name='shared-lv', name='shared', force=True)
    assert r.get('failed') and 'rename: false' in r['msg'] and not r['changed'], r
    assert vg.lvs() == before
    r = ok(ck('manage_existing', backend=b, source_name='shared-lv', rename=False, force=True))
    assert r['changed'] and r['volume']['forced'] == 'exported'
    assert any('exported' in w for w in r.get('warnings', [])), r
    assert tags(vg, 'shared-lv') == ['ck.kind=volume']
    # releasing an exported volume needs force too
    r = ck('manage_existing', backend=b, name='shared-lv', state='unmanaged')
    assert r.get('failed') and 'export' in r['msg'], r
    assert ok(ck('manage_existing', backend=b, name='shared-lv', state='unmanaged', force=True))['changed']
    assert run_module('export', dict(backend=b, volume='shared-lv', state='absent')).changed


BAD = [
    # (id, args, words the message must contain)
    ('source-does-not-exist', dict(source_name='nope', name='x1'), ["'nope' does not exist"]),
    ('reference-source-does-not-exist', dict(reference={'source-name': 'nope'}, name='x1'),
     ["parameter 'reference'", 'does not exist']),
    ('target-name-taken-by-lv', dict(source_name='free-1', name='free-2'),
     ["'free-2' is taken"]),
    ('target-name-taken-by-volume', dict(source_name='free-1', name='owned-1'),
     ["'owned-1' is taken"]),
    ('reference-without-source-name', dict(reference={'source-id': 'free-1'}, name='x1'),
     ['reference', 'no source-name']),
    ('reference-with-extra-key', dict(reference={'source-name': 'free-1', 'source-id': 7}, name='x1'),
     ['reference', "unknown element 'source-id'"]),
    ('reference-name-not-a-string', dict(reference={'source-name': 42}, name='x1'),
     ['source-name must be a non-empty string']),
    ('reference-empty-name', dict(reference={'source-name': ''}, name='x1'),
     ['source-name must be a non-empty string']),
    ('source-and-reference', dict(source_name='free-1', reference={'source-name': 'free-1'},
                                  name='x1'), ['mutually exclusive']),
    ('no-source', dict(name='x1'), ['source_name', 'required']),
    ('no-name-when-renaming', dict(source_name='free-1'), ['name', 'required', 'rename: false']),
    ('name-reserved-by-lvm', dict(source_name='free-1', name='snapshot-x'), ['reserved by LVM']),
    ('name-with-bad-characters', dict(source_name='free-1', name='a b'), ["' '"]),
    ('in-place-with-other-name', dict(source_name='free-1', name='x1', rename=False),
     ['differs from the source', 'rename is false']),
    ('volume-as-snapshot', dict(source_name='free-1', name='s1', kind='snapshot'),
     ['not a snapshot', 'kind: volume']),
    ('unmanage-without-name', dict(state='unmanaged'), ['name', 'required']),
    ('unmanage-with-source', dict(state='unmanaged', name='owned-1', source_name='free-1'),
     ['source_name', 'only applies with state: managed']),
    ('listing-option-when-adopting', dict(source_name='free-1', name='x1', limit=2),
     ['limit', 'only applies with state: listed']),
    ('unknown-sort-key', dict(state='listed', sort_keys=['colour']), ['sort_keys', "'colour'"]),
    ('unknown-sort-dir', dict(state='listed', sort_dirs=['up']), ['sort_dirs', "'up'"]),
    ('marker-not-found', dict(state='listed', marker={'source-name': 'nope'}), ['marker not found']),
    ('marker-not-a-reference', dict(state='listed', marker=[1, 2]), ['marker', 'cannot be analysed']),
    ('negative-limit', dict(state='listed', limit=-1), ['limit', '0 or more']),
    ('negative-offset', dict(state='listed', offset=-2), ['offset', '0 or more']),
    ('unknown-option', dict(source_name='free-1', name='x1', colour='red'), ['colour']),
]


@pytest.fixture(scope='module')
def bad_vg():
    from support import LoopVG
    vg = LoopVG(size_gb=4)
    lvcreate(vg, 'free-1', '100m')
    lvcreate(vg, 'free-2', '100m')
    r = run_module('volume', dict(backend=vg.backend(), name='owned-1', size='100M'))
    assert not r.failed, r
    yield vg
    vg.close()


@pytest.mark.parametrize('case,args,words', BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_refused_before_any_change(bad_vg, case, args, words):
    before = bad_vg.lvs()
    r = run_module('manage_existing', dict(args, backend=bad_vg.backend()))
    assert r.failed, (case, r)
    for w in words:
        assert w in r['msg'], (case, w, r['msg'])
    assert not r.get('changed')
    assert bad_vg.lvs() == before
    assert not [c for c in r.get('commands', []) if c.startswith(('lvrename', 'lvchange'))]
