# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: messenger v2 secure mode (encrypted traffic to the backend).

The test cluster runs msgr2 only with every ``ms_*_mode = secure``.  What a
connection negotiated is read from the daemons' side: with ``debug_ms 1`` the
monitor and the OSD log ``conn(... secure|crc ...).ready entity=client.N`` for
every client session, whatever the client believes.
"""

import contextlib
import os


class Sessions(object):
    """Client sessions the mon and the OSD accepted while the block ran."""

    def __init__(self, ceph):
        self.ceph = ceph
        self.lines = {}

    @contextlib.contextmanager
    def watch(self):
        marks = {}
        for d in ('mon.a', 'osd.0'):
            self.ceph.daemon(d, 'config', 'set', 'debug_ms', '1')
            marks[d] = os.path.getsize(self.ceph.log(d))
        try:
            yield self
        finally:
            for d in ('mon.a', 'osd.0'):
                self.ceph.daemon(d, 'config', 'set', 'debug_ms', '0')
                with open(self.ceph.log(d), 'rb') as fh:
                    fh.seek(marks[d])
                    text = fh.read().decode('utf-8', 'replace')
                self.lines[d] = [line for line in text.splitlines() if '.ready entity=client.' in line]

    def modes(self, daemon):
        out = []
        for line in self.lines[daemon]:
            if ' secure :' in line:
                out.append('secure')
            elif ' crc :' in line:
                out.append('crc')
            else:
                out.append('unknown')
        return out


@contextlib.contextmanager
def relaxed(ceph):
    """Let the daemons accept crc as well as secure (at runtime), then restore secure."""
    ceph.daemon('osd.0', 'config', 'set', 'ms_service_mode', 'crc secure')
    ceph.daemon('mon.a', 'config', 'set', 'ms_mon_service_mode', 'crc secure')
    try:
        yield
    finally:
        ceph.daemon('osd.0', 'config', 'set', 'ms_service_mode', 'secure')
        ceph.daemon('mon.a', 'config', 'set', 'ms_mon_service_mode', 'secure')


def client_conf(ceph, path, extra=''):
    """What a plain client host has: the monitors and its keyring, no messenger settings."""
    path.write_text('[global]\nmon host = [v2:%s]\n%s\n[client]\nkeyring = %s\n'
                    % (ceph.mon_v2, extra, ceph.cinder_keyring))
    return str(path)


def facts(ck, backend):
    r = ck('backend_facts', backend=dict(backend, volume_backend_name='sec'))
    assert not r.get('failed'), r
    return r['ansible_facts']['cinderkit_backends']['sec']


def test_every_connection_of_the_driver_is_encrypted(ck, ceph, tmp_path):
    assert ceph.msgr == 'secure'
    b = ceph.backend()
    s = Sessions(ceph)
    with s.watch():
        assert facts(ck, b)['secure_mode'] is True
        assert not ck('volume', backend=b, name='enc1', size='8M').get('failed')
        ceph.write('enc1', b'x' * 4096)          # (admin client of the test, also secure)
        assert not ck('snapshot', backend=b, volume='enc1', name='enc1-s').get('failed')
    assert s.modes('mon.a') and s.modes('osd.0'), s.lines
    assert set(s.modes('mon.a')) == {'secure'} and set(s.modes('osd.0')) == {'secure'}, s.lines
    # connection info points at msgr2 (v1 cannot encrypt)
    r = ck('export', backend=b, volume='enc1')
    assert r['connection_info']['data']['ports'] == [ceph.mon_v2.rsplit(':', 1)[1]]
    # a client that will only do crc is refused by this cluster: a clear error, no hang
    conf = client_conf(ceph, tmp_path / 'crc.conf', 'ms client mode = crc\nms mon client mode = crc')
    st = ceph.state()
    r = ck('volume', backend=ceph.backend(rbd_ceph_conf=conf), name='enc2', size='8M')
    assert r.get('failed') and 'refused client.cinder' in r['msg'] and 'messenger mode' in r['msg'], r
    assert ceph.state() == st


def test_option_and_ceph_conf_select_secure_mode(ck, ceph, tmp_path):
    plain = client_conf(ceph, tmp_path / 'plain.conf')
    secure_conf = client_conf(ceph, tmp_path / 'secure.conf', 'ms client mode = secure')
    runs = {}
    with relaxed(ceph):
        for label, backend in (
                ('plain', ceph.backend(rbd_ceph_conf=plain)),
                ('option', ceph.backend(rbd_ceph_conf=plain, rbd_secure_mode=True)),
                ('conf', ceph.backend(rbd_ceph_conf=secure_conf))):
            s = Sessions(ceph)
            with s.watch():
                f = facts(ck, backend)
                assert not ck('volume', backend=backend, name='m-%s' % label, size='8M').get('failed')
            runs[label] = (f['secure_mode'], sorted(set(s.modes('osd.0'))), s.lines)
    # control: a client without settings negotiates crc with an OSD that allows it ...
    assert runs['plain'][:2] == (False, ['crc']), runs['plain']
    # ... the backend option and a ceph.conf with ms_client_mode = secure both make it secure
    assert runs['option'][:2] == (True, ['secure']), runs['option']
    assert runs['conf'][:2] == (True, ['secure']), runs['conf']
    assert sorted(ceph.images()) == ['m-conf', 'm-option', 'm-plain']
