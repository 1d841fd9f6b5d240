# -*- coding: utf-8 -*-
"""Host tier: volume groups and group snapshots on the ``file`` driver, and the bad input of
both modules.

Real files in a directory of this host: the group's member bytes are compared by sha256,
a real process holds a member open for writing, and a real tgtd exports one.  Every refusal
compares the backend's whole state (every file with its inode, and the whole ownership
record with the groups' manifest) before and after, and has a control.
"""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from export_support import GOOD_IQN
from support import pattern, run_module

MiB = 1024 ** 2
SIZE = 8 * MiB
VOLS = ('va', 'vb', 'vc')


class FileBackend(object):
    def __init__(self, directory, **over):
        self.dir = directory
        self.b = dict(volume_driver='file', file_volume_dir=directory)
        self.b.update(over)

    def path(self, name):
        return os.path.join(self.dir, name)

    def sha(self, path):
        with open(path, 'rb') as fh:
            return hashlib.sha256(fh.read()).hexdigest()

    def write(self, name, data, offset=0):
        fd = os.open(self.path(name), os.O_WRONLY)
        try:
            os.pwrite(fd, data, offset)
            os.fsync(fd)
        finally:
            os.close(fd)

    def state(self):
        """Every file (path, size, inode, sha256) and the whole record: the full inventory."""
        out = []
        for top, dirs, files in os.walk(self.dir):
            for f in sorted(files):
                p = os.path.join(top, f)
                if f == '.cinderkit.json':
                    out.append(('record', json.dumps(json.load(open(p)), sort_keys=True)))
                    continue
                st = os.stat(p)
                out.append((os.path.relpath(p, self.dir), st.st_size, st.st_ino, self.sha(p)))
        return sorted(out, key=repr)


def ok(module, **args):
    res = run_module(module, args, check=args.pop('_check', False), diff=args.pop('_diff', False))
    assert not res.failed, '%s failed: %s' % (module, res.get('msg'))
    return res


def refused(fb, module, *words, **args):
    """The task fails, says every word, changes nothing and ran no write."""
    before = fb.state()
    res = run_module(module, dict(args, backend=fb.b))
    assert res.failed and not res.changed, res
    for w in words:
        assert w in res['msg'], (w, res['msg'])
    assert fb.state() == before, 'a refused task changed the backend'
    return res


@pytest.fixture
def fb(tmp_path):
    fb = FileBackend(str(tmp_path / 'vols'))
    ok('volume', backend=fb.b, volumes=[dict(name=v, size='8M') for v in VOLS])
    for v in VOLS:
        fb.write(v, pattern(v, 2 * MiB))
    return fb


def test_group_snapshot_clone_and_revert_on_file(fb):
    b = fb.b
    # check mode first: the plan, nothing made
    before = fb.state()
    r = ok('group', backend=b, name='g', volumes=list(VOLS), _check=True, _diff=True)
    assert r['changed'] and r['group']['action'] == 'create' and r['group']['volumes'] == list(VOLS)
    assert r['diff'] == dict(before={'g': None}, after={'g': dict(volumes=list(VOLS))})
    assert fb.state() == before
    r = ok('group', backend=b, name='g', volumes=list(VOLS))
    assert r['changed'] and r['group']['volumes'] == list(VOLS)
    assert not ok('group', backend=b, name='g', volumes=list(VOLS))['changed']

    # the group snapshot: check mode, then real, then idempotent
    before = fb.state()
    r = ok('group_snapshot', backend=b, name='gs', group='g', _check=True, _diff=True)
    want = dict((v, 'gs-%s' % v) for v in VOLS)
    assert r['changed'] and r['group_snapshot']['snapshots'] == want, r
    assert r['diff']['after'] == {'gs': dict(group='g', snapshots=want)}
    assert fb.state() == before
    r = ok('group_snapshot', backend=b, name='gs', group='g')
    assert r['changed'] and r['group_snapshot']['snapshots'] == want
    assert r['group_snapshot']['group'] == 'g'
    assert not ok('group_snapshot', backend=b, name='gs', group='g')['changed']
    snap_sha = dict((v, fb.sha(fb.path(v))) for v in VOLS)

    # the member snapshots are ordinary snapshots: the snapshot module shows them
    r = ok('snapshot', backend=b, name='gs-va')
    assert not r['changed'] and r['snapshot']['volume'] == 'va' and r['snapshot']['group_snapshot'] == 'gs'
    # ... and feeds volume source: {snapshot: ...}
    ok('volume', backend=b, name='from-member', source=dict(snapshot='gs-vb'))
    assert fb.sha(fb.path('from-member')) == snap_sha['vb']
    # deleting one member snapshot alone is refused
    refused(fb, 'snapshot', 'member of group snapshot gs', name='gs-va', state='absent')

    # new data on the members after the snapshot
    for v in VOLS:
        fb.write(v, pattern(v + '-new', 2 * MiB))
    assert all(fb.sha(fb.path(v)) != snap_sha[v] for v in VOLS)

    # a group from the group snapshot: all members, the snapshot's bytes
    r = ok('group', backend=b, name='copy', source=dict(group_snapshot='gs'))
    assert r['group']['volumes'] == ['copy-%s' % v for v in VOLS], r
    for v in VOLS:
        assert fb.sha(fb.path('copy-%s' % v)) == snap_sha[v], v
    assert not ok('group', backend=b, name='copy', source=dict(group_snapshot='gs'))['changed']
    # a group from a group: clones of the members as they are now
    r = ok('group', backend=b, name='twin', source=dict(group='g'))
    assert r['group']['volumes'] == ['twin-%s' % v for v in VOLS]
    for v in VOLS:
        assert fb.sha(fb.path('twin-%s' % v)) == fb.sha(fb.path(v)), v

    # revert: check mode changes nothing, then every member gets the snapshot's bytes
    before = fb.state()
    r = ok('group_snapshot', backend=b, name='gs', state='reverted', _check=True, _diff=True)
    assert r['changed'] and r['diff']['after']['gs']['content']['va'] == 'data of snapshot gs-va'
    assert fb.state() == before
    ok('group_snapshot', backend=b, name='gs', state='reverted')
    for v in VOLS:
        assert fb.sha(fb.path(v)) == snap_sha[v], v

    # membership converges: vc out, nothing else changes
    r = ok('group', backend=b, name='twin', volumes=['twin-va', 'twin-vb'], _diff=True)
    assert r['group']['removed'] == ['twin-vc'] and r['group']['volumes'] == ['twin-va', 'twin-vb']
    assert r['diff']['after'] == {'twin': dict(volumes=['twin-va', 'twin-vb'])}
    assert os.path.exists(fb.path('twin-vc'))

    # deletes: check mode first; a group with group snapshots stays; delete_volumes removes all
    before = fb.state()
    ok('group_snapshot', backend=b, name='gs', state='absent', _check=True)
    ok('group', backend=b, name='copy', state='absent', delete_volumes=True, _check=True)
    assert fb.state() == before
    refused(fb, 'group', 'has group snapshots (gs)', name='g', state='absent')
    r = ok('group_snapshot', backend=b, name='gs', state='absent')
    assert r['changed'] and not os.path.exists(os.path.join(fb.dir, '.snapshots', 'va', 'gs-va'))
    r = ok('group', backend=b, name='copy', state='absent', delete_volumes=True)
    assert r['group']['volumes_deleted'] == ['copy-%s' % v for v in VOLS]
    assert not any(os.path.exists(fb.path('copy-%s' % v)) for v in VOLS)
    r = ok('group', backend=b, name='g', state='absent')
    assert r['changed'] and all(os.path.exists(fb.path(v)) for v in VOLS)   # the volumes stay
    assert not ok('group', backend=b, name='g', state='absent')['changed']


def _writer(path):
    """A process that holds ``path`` open for writing until killed."""
    proc = subprocess.Popen([sys.executable, '-c', 'import os, sys, time\n'
                             'fd = os.open(sys.argv[1], os.O_WRONLY)\n'
                             'print("open", flush=True)\n'
                             'time.sleep(600)\n', path], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b'open'
    return proc


def test_a_member_open_for_writing_is_refused_and_a_reader_is_not(fb):
    ok('group', backend=fb.b, name='g', volumes=list(VOLS))
    w = _writer(fb.path('vb'))
    try:
        r = refused(fb, 'group_snapshot', 'member volume vb is open for writing',
                    'process %d' % w.pid, 'nothing was changed', name='gs', group='g')
        assert 'va' not in r['msg'].split('open for writing')[0].split('|')[-1]
        # check mode meets the same refusal
        res = run_module('group_snapshot', dict(backend=fb.b, name='gs', group='g'), check=True)
        assert res.failed and 'open for writing' in res['msg']
    finally:
        w.kill()
        w.wait()
    # control: a reader does not stop it, and once the writer is gone it is taken
    with open(fb.path('vb'), 'rb'):
        r = ok('group_snapshot', backend=fb.b, name='gs', group='g')
    assert r['changed'] and sorted(r['group_snapshot']['snapshots']) == list(VOLS)


def test_revert_and_snapshot_refused_while_a_member_is_exported(fb, tgt_env):
    b = dict(fb.b, **tgt_env.backend)
    fb.b = b
    ok('group', backend=b, name='g', volumes=list(VOLS))
    ok('group_snapshot', backend=b, name='gs', group='g')
    e = ok('export', backend=b, volume='vc',
           connector=dict(initiator=GOOD_IQN, host='compute01', ip='127.0.0.1'))
    iqn = e['connection_info']['data']['target_iqn']
    refused(fb, 'group_snapshot', 'member volume vc is exported', iqn, 'force: true',
            name='gs', state='reverted')
    refused(fb, 'group_snapshot', 'member volume vc is exported', iqn, name='gs2', group='g')
    # control: the export gone, both go through
    ok('export', backend=b, volume='vc', state='absent')
    assert ok('group_snapshot', backend=b, name='gs', state='reverted')['changed']
    assert ok('group_snapshot', backend=b, name='gs2', group='g')['changed']


def test_bad_input_names_the_parameter_and_changes_nothing(fb, tmp_path):
    b = fb.b
    ok('group', backend=b, name='g', volumes=['va'])
    ok('group', backend=b, name='empty')
    with open(fb.path('foreign'), 'wb') as fh:       # a file this collection did not make
        fh.truncate(SIZE)
    other = FileBackend(str(tmp_path / 'other'))     # another backend's volume
    ok('volume', backend=other.b, name='elsewhere', size='8M')

    refused(fb, 'group', "'volumes'", 'volumes[1]: volume nope not found', name='g2', volumes=['vb', 'nope'])
    refused(fb, 'group', 'volumes[0]: foreign exists but is not a volume of this collection',
            'manage_existing', name='g2', volumes=['foreign'])
    refused(fb, 'group', 'volumes[0]: volume elsewhere not found', name='g2', volumes=['elsewhere'])
    refused(fb, 'group', 'volumes[1]: volume va is in group g', 'one group only',
            name='g2', volumes=['vb', 'va'])
    refused(fb, 'group', 'listed twice', name='g2', volumes=['vb', 'vb'])
    refused(fb, 'group', "parameter 'source'", 'exactly one of group_snapshot or group',
            name='g2', source=dict(group_snapshot='x', group='g'))
    refused(fb, 'group', "parameter 'source'", name='g2', source=dict())
    refused(fb, 'group', "parameter 'source.group_snapshot'", "'missing' not found",
            name='g2', source=dict(group_snapshot='missing'))
    refused(fb, 'group', "parameter 'source.group'", "'missing' not found",
            name='g2', source=dict(group='missing'))
    refused(fb, 'group', "parameter 'volumes'", 'leave volumes out with source',
            name='g2', source=dict(group='g'), volumes=['vb'])
    refused(fb, 'group', "parameter 'name'", name='.hidden', volumes=['vb'])
    ok('volume', backend=b, name='x-va', size='8M')     # the name the copy of va would get
    refused(fb, 'group', "parameter 'name'", 'x-va is taken', name='x', source=dict(group='g'))
    refused(fb, 'group_snapshot', "parameter 'group'", 'group empty has no volumes',
            name='gs', group='empty')
    refused(fb, 'group_snapshot', "parameter 'group'", "group 'missing' not found",
            name='gs', group='missing')
    refused(fb, 'group_snapshot', "parameter 'group'", 'required', name='gs')
    refused(fb, 'group_snapshot', "parameter 'name'", "'nothing' not found", name='nothing',
            state='reverted')
    # a member snapshot name that is taken
    ok('snapshot', backend=b, volume='va', name='gs-va')
    refused(fb, 'group_snapshot', "parameter 'name'", 'gs-va', 'taken', name='gs', group='g')
    ok('snapshot', backend=b, name='gs-va', state='absent')
    # a group snapshot of another group under that name; removing a member it holds
    ok('group_snapshot', backend=b, name='gs', group='g')
    refused(fb, 'group_snapshot', "parameter 'group'", 'snapshot of group g, not empty',
            name='gs', group='empty')
    refused(fb, 'group', "parameter 'volumes'", 'va (group snapshot gs)', name='g', volumes=[])
    # the same group delete with delete_volumes: a member with snapshots is refused
    ok('group_snapshot', backend=b, name='gs', state='absent')
    ok('snapshot', backend=b, volume='va', name='plain')
    refused(fb, 'group', 'volume va has snapshots (plain)', name='g', state='absent',
            delete_volumes=True)


def test_check_mode_changes_nothing_for_every_state(fb):
    b = fb.b
    ok('group', backend=b, name='g', volumes=['va', 'vb'])
    ok('group_snapshot', backend=b, name='gs', group='g')
    fb.write('va', pattern('later', MiB))
    before = fb.state()
    for module, args in (
            ('group', dict(name='g2', volumes=['vc'])),
            ('group', dict(name='g', volumes=['va', 'vb', 'vc'])),
            ('group', dict(name='g', volumes=['va', 'vb'])),            # no change
            ('group', dict(name='cp', source=dict(group_snapshot='gs'))),
            ('group', dict(name='cp', source=dict(group='g'))),
            ('group', dict(name='g2', state='absent')),
            ('group_snapshot', dict(name='gs2', group='g')),
            ('group_snapshot', dict(name='gs', state='reverted')),
            ('group_snapshot', dict(name='gs', state='absent'))):
        res = run_module(module, dict(args, backend=b), check=True, diff=True)
        assert not res.failed, (module, args, res.get('msg'))
        assert fb.state() == before, (module, args)
        if res.changed:
            assert 'diff' in res, (module, args)
    # the group delete of a group that has group snapshots is refused in check mode too
    res = run_module('group', dict(backend=b, name='g', state='absent'), check=True)
    assert res.failed and 'has group snapshots' in res['msg']
