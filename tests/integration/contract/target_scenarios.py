# -*- coding: utf-8 -*-
"""The contract every target helper keeps, as scenarios over a target rig.

A target rig gives: ``backend`` (a backend dict using the helper), ``device`` (a block
device or file holding ``data`` at offset 0), ``initiator`` (the name this host logs in
with), ``other`` (a well-formed name that is not allowed), ``volume_type`` (the
connection_info's ``driver_volume_type``), ``read(result, size)`` (a real initiator login
that reads the exported bytes, then logs out), ``login_refused(result)`` (True when this
host's login, as ``initiator``, is refused) and ``state()`` (the helper's live and saved state, for
"nothing changed" checks).  tgt runs on the host (contract/test_targets.py); LIO and nvmet in
the VM (vm/test_contract_targets.py).
"""

from support import run_module


def _export(rig, check=False, **kw):
    args = dict(backend=rig.backend, volume=rig.volume, device_path=rig.device)
    args.update(kw)
    return run_module('export', args, check=check)


def export_lifecycle(rig):
    """create (check mode first), a re-run that changes nothing, the bytes through a real
    initiator, the ACL, then removal (check mode first) back to the state before."""
    before = rig.state()
    dry = _export(rig, check=True, initiators=[rig.initiator])
    assert dry.changed and not dry.failed, dry
    assert rig.state() == before, 'check mode changed the target'
    res = _export(rig, initiators=[rig.initiator])
    assert not res.failed and res.changed and res['export']['action'] == 'create', res
    info = res['connection_info']
    assert info['driver_volume_type'] == rig.volume_type, info
    assert res['export']['initiators'] == [rig.initiator]
    again = _export(rig, initiators=[rig.initiator])
    assert not again.failed and not again.changed, again
    assert rig.read(res, len(rig.data)) == rig.data, 'the initiator read other bytes'
    # the ACL follows initiators exactly: without this host's name, its login is refused
    other_only = _export(rig, initiators=[rig.other])
    assert other_only.changed and other_only['export']['initiators'] == [rig.other], other_only
    assert rig.login_refused(other_only), 'an initiator outside the ACL logged in'
    wider = _export(rig, initiators=[rig.initiator, rig.other])
    assert wider.changed and wider['export']['initiators'] == sorted([rig.initiator, rig.other])
    narrow = _export(rig, initiators=[rig.initiator])
    assert narrow.changed and narrow['export']['initiators'] == [rig.initiator]
    mid = rig.state()
    dry = _export(rig, check=True, state='absent')
    assert dry.changed and rig.state() == mid, 'check mode removed the export'
    gone = _export(rig, state='absent')
    assert not gone.failed and gone.changed, gone
    assert rig.state() == before, 'the removal left target state behind'
    assert not _export(rig, state='absent').changed


def bad_input(rig):
    """Malformed initiators and connectors name their parameter; nothing changes."""
    before = rig.state()
    for kw, param in ((dict(initiators=['not a name']), 'initiators'),
                      (dict(initiators=[rig.initiator + ' x']), 'initiators'),
                      (dict(connector=dict(host='h')), 'connector'),
                      (dict(device_path='relative/path', initiators=[rig.initiator]), 'device_path')):
        res = _export(rig, **kw)
        assert res.failed and not res.changed and param in res['msg'], (kw, res)
        assert 'internal error' not in res['msg']
        assert rig.state() == before, 'a refused export changed the target (%r)' % (kw,)


TARGET_SCENARIOS = {'export_lifecycle': export_lifecycle, 'bad_input': bad_input}
