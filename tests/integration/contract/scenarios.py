# -*- coding: utf-8 -*-
"""The behavioural contract every driver keeps, as scenarios over a rig (rigs.py).

Each scenario drives the modules (in this process, as Ansible would run them) and checks
the end state on the backend itself; where the rig can read bytes, on the bytes.
"""

from support import pattern, run_module

MiB = 1024 ** 2


def capabilities(rig):
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import get_driver_class
    return get_driver_class(rig.driver).capabilities


def ok(module, **args):
    res = run_module(module, args)
    assert not res.failed, res
    return res


def refused(rig, module, param, **args):
    """The task fails naming ``param``, and nothing on the backend changed."""
    before = rig.objects()
    res = run_module(module, args)
    assert res.failed and not res.changed, res
    assert param in res['msg'], res['msg']
    assert 'internal error' not in res['msg'], res['msg']
    assert rig.objects() == before, 'a refused task changed the backend'
    return res


# ------------------------------------------------------------------ scenarios
def lifecycle(rig, tmp_path):
    """create, a re-run that changes nothing, check mode first, extend (never shrink), delete."""
    b = rig.backend()
    before = rig.objects()
    dry = run_module('volume', dict(backend=b, name='ct-a', size='64M'), check=True)
    assert dry.changed and not dry.failed, dry
    assert rig.objects() == before, 'check mode changed the backend'
    real = ok('volume', backend=b, name='ct-a', size='64M')
    assert real.changed and real['volume']['size_bytes'] == dry['volume']['size_bytes']
    assert not ok('volume', backend=b, name='ct-a', size='64M').changed
    grown = ok('extend', backend=b, name='ct-a', size='128M')
    assert grown.changed and grown['volume']['size_bytes'] >= 128 * MiB
    assert not ok('extend', backend=b, name='ct-a', size='128M').changed
    refused(rig, 'extend', 'size', backend=b, name='ct-a', size='64M')
    mid = rig.objects()
    dry = run_module('volume', dict(backend=b, name='ct-a', state='absent'), check=True)
    assert dry.changed and rig.objects() == mid, 'check mode deleted'
    assert ok('volume', backend=b, name='ct-a', state='absent').changed
    assert not ok('volume', backend=b, name='ct-a', state='absent').changed
    assert rig.objects() == before


def bad_input(rig, tmp_path):
    """The common bad inputs: each names its parameter and changes nothing."""
    b = rig.backend()
    ok('volume', backend=b, name='ct-b', size='64M')
    refused(rig, 'volume', 'size', backend=b, name='ct-b2', size='1e30')
    refused(rig, 'volume', 'size', backend=b, name='ct-b2', size='-1')
    refused(rig, 'volume', 'name', backend=b, name='a/b', size='64M')
    refused(rig, 'volume', 'source', backend=b, name='ct-b2', source=dict(volume='nope'))
    refused(rig, 'volume', 'size', backend=b, name='ct-b', size='32M')
    refused(rig, 'snapshot', 'volume', backend=b, name='ct-bs', volume='nope')
    ok('volume', backend=b, name='ct-b', state='absent')


def snapshots_and_clones(rig, tmp_path):
    """snapshot, clone, volume from snapshot, delete in dependency order (bytes where the
    rig reads them: the snapshot keeps what was written before it, not after)."""
    b = rig.backend()
    before = rig.objects()
    ok('volume', backend=b, name='ct-s', size='64M')
    first, second = pattern(1, MiB), pattern(2, MiB)
    if rig.data:
        rig.write('ct-s', 8 * MiB, first)
    assert ok('snapshot', backend=b, name='ct-s-snap', volume='ct-s').changed
    assert not ok('snapshot', backend=b, name='ct-s-snap', volume='ct-s').changed
    if rig.data:
        rig.write('ct-s', 8 * MiB, second)
    ok('volume', backend=b, name='ct-s-from', source=dict(snapshot='ct-s-snap'))
    ok('volume', backend=b, name='ct-s-clone', size='128M', source=dict(volume='ct-s'))
    if rig.data:
        assert rig.read('ct-s-from', 8 * MiB, MiB) == first, 'volume from snapshot'
        assert rig.read('ct-s-clone', 8 * MiB, MiB) == second, 'clone'
        assert rig.read('ct-s-clone', 0, MiB) == b'\0' * MiB
    # the volume with a snapshot is kept until the snapshot goes
    res = run_module('volume', dict(backend=b, name='ct-s', state='absent'))
    assert res.failed and 'snapshot' in res['msg'], res
    for name in ('ct-s-from', 'ct-s-clone'):
        ok('volume', backend=b, name=name, state='absent')
    ok('snapshot', backend=b, name='ct-s-snap', state='absent')
    ok('volume', backend=b, name='ct-s', state='absent')
    assert rig.objects() == before


def revert(rig, tmp_path):
    """revert brings back the snapshot's bytes and keeps the volume's size."""
    b = rig.backend()
    ok('volume', backend=b, name='ct-r', size='64M')
    first, second = pattern(3, MiB), pattern(4, MiB)
    rig.write('ct-r', 0, first)
    ok('snapshot', backend=b, name='ct-r-snap', volume='ct-r')
    rig.write('ct-r', 0, second)
    dry = run_module('snapshot', dict(backend=b, name='ct-r-snap', volume='ct-r',
                                      state='reverted'), check=True)
    assert dry.changed and rig.read('ct-r', 0, MiB) == second, 'check mode reverted'
    res = ok('snapshot', backend=b, name='ct-r-snap', volume='ct-r', state='reverted')
    assert res.changed and rig.read('ct-r', 0, MiB) == first
    vol = ok('volume', backend=b, name='ct-r')['volume']
    assert vol['size_bytes'] >= 64 * MiB
    ok('snapshot', backend=b, name='ct-r-snap', state='absent')
    ok('volume', backend=b, name='ct-r', state='absent')


def images(rig, tmp_path):
    """image in (raw and qcow2) and out, compared on bytes."""
    from rigs import qemu_img
    b = rig.backend()
    data = pattern(5, 2 * MiB)
    raw = str(tmp_path / 'in.raw')
    with open(raw, 'wb') as fh:
        fh.truncate(32 * MiB)
        fh.seek(16 * MiB)
        fh.write(data)
    qcow = str(tmp_path / 'in.qcow2')
    qemu_img('convert', '-f', 'raw', '-O', 'qcow2', raw, qcow)
    for fmt, path in (('raw', raw), ('qcow2', qcow)):
        name = 'ct-i-%s' % fmt
        ok('volume', backend=b, name=name, size='64M', source=dict(image=path, format=fmt))
        assert rig.read(name, 16 * MiB, len(data)) == data, '%s image -> volume' % fmt
        assert rig.read(name, 0, MiB) == b'\0' * MiB
    out = str(tmp_path / 'out.qcow2')
    assert ok('volume', backend=b, name='ct-i-raw', to_image=dict(path=out, format='qcow2')).changed
    back = str(tmp_path / 'back.raw')
    qemu_img('convert', '-f', 'qcow2', '-O', 'raw', out, back)
    with open(back, 'rb') as fh:
        fh.seek(16 * MiB)
        assert fh.read(len(data)) == data, 'volume -> image'
    for fmt in ('raw', 'qcow2'):
        ok('volume', backend=b, name='ct-i-%s' % fmt, state='absent')


def manage(rig, tmp_path):
    """listing, manage (adopt under a new name), unmanage: the data stays, delete refused."""
    b = rig.backend()
    ref = rig.foreign('ct-m-theirs', 64 * MiB)
    if rig.data:
        rig.write(ref, 0, pattern(6, MiB))
    listed = ok('manage_existing', backend=b, state='listed')['manageable']
    entry = [e for e in listed if e['reference']['source-name'] == ref]
    assert entry and entry[0]['safe_to_manage'], listed
    refused(rig, 'volume', 'manage_existing', backend=b, name=ref, state='absent')
    assert ok('manage_existing', backend=b, name='ct-m', source_name=ref).changed
    vol = ok('volume', backend=b, name='ct-m')['volume']
    assert vol['size_bytes'] >= 64 * MiB and not ok('volume', backend=b, name='ct-m').changed
    if rig.data:
        assert rig.read('ct-m', 0, MiB) == pattern(6, MiB)
    listed = ok('manage_existing', backend=b, state='listed')['manageable']
    assert [e for e in listed if e['cinder_id'] == 'ct-m' and not e['safe_to_manage']], listed
    assert ok('manage_existing', backend=b, name='ct-m', state='unmanaged').changed
    refused(rig, 'volume', 'manage_existing', backend=b, name='ct-m', state='absent')
    # adopt it back, and delete it as ours
    ok('manage_existing', backend=b, name='ct-m', source_name='ct-m', rename=False)
    ok('volume', backend=b, name='ct-m', state='absent')


SCENARIOS = {
    'lifecycle': (lifecycle, frozenset(), False),
    'bad_input': (bad_input, frozenset(), False),
    'snapshots_and_clones': (snapshots_and_clones, frozenset(), True),
    'revert': (revert, frozenset(('revert',)), True),
    'images': (images, frozenset(('image',)), True),
    'manage': (manage, frozenset(('manage',)), False),
}


def applies(rig, scenario):
    """Whether ``scenario`` is part of ``rig``'s contract: the driver declares what it needs,
    and the rig can read bytes where the scenario checks them."""
    fn, needs, data = SCENARIOS[scenario]
    return needs <= capabilities(rig) and (rig.data or not data)
