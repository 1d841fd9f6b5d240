# -*- coding: utf-8 -*-
"""VM tier: two-path exports attached with use_multipath, surviving the loss of a path.

Path 1 is 127.0.0.1; path 2 is 10.77.0.2 on a dummy device (``ck-mp``).  Losing path 2 is a
policy-routing blackhole for 10.77.0.2 (ahead of the local table): its packets vanish under
live sessions, as behind a failed NIC or switch port (downing the device is not enough: local
traffic does not use it).  I/O must go on through path 1 (dm-multipath with multipathd for
iSCSI, native NVMe multipath for NVMe), and the path must come back when the rule goes.
"""

import glob
import os
import subprocess
import time

import pytest

from support import LoopVG, run_module, sh
from test_attachment import SIZE, ok, read_pattern, write_pattern

PATH2 = '10.77.0.2'
MULTIPATH_CONF = """defaults {
    user_friendly_names no
    find_multipaths no
    no_path_retry 12
    polling_interval 1
}
"""
# short iSCSI timeouts: a lost path is declared dead in seconds, not minutes
ISCSID_TIMEOUTS = {'node.session.timeo.replacement_timeout': '5',
                   'node.conn[0].timeo.noop_out_interval': '2',
                   'node.conn[0].timeo.noop_out_timeout': '2'}


@pytest.fixture(scope='module')
def mp_env(kernel_targets):
    from support import tool_missing
    missing = tool_missing('iscsiadm', 'iscsid', 'nvme', 'multipath', 'multipathd')
    if missing:
        pytest.fail('missing in the guest: %s' % ', '.join(missing))
    for m in ('dm_multipath', 'target_core_mod', 'iscsi_target_mod', 'target_core_iblock',
              'iscsi_tcp', 'nvmet', 'nvmet-tcp', 'nvme-tcp', 'nvme-fabrics', 'dummy'):
        sh(['modprobe', m])
    assert open('/sys/module/nvme_core/parameters/multipath').read().strip() == 'Y'
    with open('/etc/multipath.conf', 'w') as fh:
        fh.write(MULTIPATH_CONF)
    conf = open('/etc/iscsi/iscsid.conf').read()
    with open('/etc/iscsi/iscsid.conf', 'w') as fh:
        lines = [l for l in conf.splitlines() if l.split('=')[0].strip() not in ISCSID_TIMEOUTS]
        fh.write('\n'.join(lines + ['%s = %s' % kv for kv in ISCSID_TIMEOUTS.items()]) + '\n')
    sh(['ip', 'link', 'add', 'ck-mp', 'type', 'dummy'])
    sh(['ip', 'addr', 'add', PATH2 + '/32', 'dev', 'ck-mp'])
    sh(['ip', 'link', 'set', 'ck-mp', 'up'])
    # the local table moves behind a rule slot, so a blackhole rule can come first
    sh(['ip', 'rule', 'add', 'pref', '100', 'lookup', 'local'])
    sh(['ip', 'rule', 'del', 'pref', '0'])
    daemons = []
    for argv, name in ((['iscsid'], 'iscsid'), (['multipathd'], 'multipathd')):
        if subprocess.call(['pidof', name], stdout=subprocess.DEVNULL) != 0:
            sh(argv)
            time.sleep(1)
            daemons += sh(['pidof', name]).stdout.split()
    vg = LoopVG(size_gb=1, activation=True)
    try:
        yield vg
    finally:
        vg.close()
        sh(['multipathd', 'shutdown'], check=False, timeout=30)
        for pid in daemons:
            subprocess.call(['kill', pid])
        path2(True)
        sh(['ip', 'rule', 'add', 'pref', '0', 'lookup', 'local'], check=False)
        sh(['ip', 'rule', 'del', 'pref', '100'], check=False)
        sh(['ip', 'link', 'delete', 'ck-mp'], check=False)


def path2(up):
    rules = sh(['ip', 'rule', 'show', 'pref', '10'], check=False).stdout
    if up and 'blackhole' in rules:
        sh(['ip', 'rule', 'del', 'pref', '10'])
    elif not up and 'blackhole' not in rules:
        sh(['ip', 'rule', 'add', 'pref', '10', 'to', PATH2 + '/32', 'blackhole'])


def wait_for(what, fn, timeout=120):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(1)
    raise AssertionError('%s: not within %d s (last: %r)' % (what, timeout, last))


def dm_paths(dm):
    """{sdX: 'active'|'failed'|...} of a dm-multipath map: the kernel's (device-mapper's)
    state of each path, as multipathd shows it (%t)."""
    out = sh(['multipathd', 'show', 'paths', 'raw', 'format', '%d %t'], check=False).stdout
    name = os.path.basename(os.path.realpath(dm))
    slaves = set(os.listdir('/sys/block/%s/slaves' % name))
    states = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in slaves:
            states[parts[0]] = parts[1]
    return states


def test_iscsi_two_portals_dm_multipath_survives_a_lost_path(mp_env):
    b = mp_env.backend(target_helper='lioadm', target_ip_address='127.0.0.1', target_port=3260,
                       target_secondary_ip_addresses=[PATH2])
    ok('volume', backend=b, name='mp-iscsi', size='64M')
    info = None
    try:
        con = dict(ok('attachment', state='connector', use_multipath=True)['connector'])
        assert con['multipath'] is True
        info = ok('export', backend=b, volume='mp-iscsi', connector=con)['connection_info']
        d = info['data']
        assert d['target_portals'] == ['127.0.0.1:3260', PATH2 + ':3260'], d
        assert len(d['target_iqns']) == 2 and d['target_luns'] == [0, 0]
        att = ok('attachment', connection_info=info, use_multipath=True)['attachment']
        dm = att['multipath_device']
        assert dm and att['path'] == dm and os.path.basename(os.path.realpath(dm)).startswith('dm-')
        assert len(att['devices']) == 2, att
        assert att['size_bytes'] == SIZE
        wait_for('two active paths', lambda: sorted(dm_paths(dm).values()) == ['active', 'active'])
        data = write_pattern(dm, 31)

        path2(False)
        # I/O goes on: reads (O_DIRECT) and a rewrite through the map while path 2 is lost
        assert read_pattern(dm) == data
        wait_for('path 2 failed', lambda: sorted(dm_paths(dm).values()) == ['active', 'failed'])
        data = write_pattern(dm, 32)
        assert read_pattern(dm) == data

        path2(True)
        wait_for('path 2 back', lambda: sorted(dm_paths(dm).values()) == ['active', 'active'])
        assert read_pattern(dm) == data
        det = ok('attachment', connection_info=info, use_multipath=True, state='absent')
        assert det.changed and not det['attachment']['attached']
        assert not os.path.exists(dm)
    finally:
        path2(True)
        if info is not None:
            run_module('attachment', dict(connection_info=info, use_multipath=True,
                                          state='absent', force=True))
        run_module('export', dict(backend=b, volume='mp-iscsi', state='absent'))
        run_module('volume', dict(backend=b, name='mp-iscsi', state='absent'))


def nvme_paths(nqn):
    """{controller: state} of the subsystem's controllers."""
    out = {}
    for ctl in glob.glob('/sys/class/nvme/nvme*'):
        try:
            if open(os.path.join(ctl, 'subsysnqn')).read().strip() != nqn:
                continue
            out[os.path.basename(ctl)] = open(os.path.join(ctl, 'state')).read().strip()
        except OSError:
            continue
    return out


def test_nvme_two_ports_native_multipath_survives_a_lost_path(mp_env):
    b = mp_env.backend(target_helper='nvmet', target_protocol='nvmet_tcp',
                       target_ip_address='127.0.0.1', target_port=4420, nvmet_port_id=21,
                       target_secondary_ip_addresses=[PATH2], target_prefix='nvme-mp',
                       nvmeof_conn_info_version=2)
    ok('volume', backend=b, name='mp-nvme', size='64M')
    info = None
    try:
        con = dict(ok('attachment', state='connector', use_multipath=True)['connector'])
        info = ok('export', backend=b, volume='mp-nvme', connector=con)['connection_info']
        d = info['data']
        assert [p[0] for p in d['portals']] == ['127.0.0.1', PATH2], d
        nqn = d['target_nqn']
        for pid in (21, 22):
            ana = '/sys/kernel/config/nvmet/ports/%d/ana_groups/1/ana_state' % pid
            assert open(ana).read().strip() == 'optimized'
        att = ok('attachment', connection_info=info, use_multipath=True)['attachment']
        dev = att['path']
        assert wait_for('two live paths', lambda: sorted(nvme_paths(nqn).values()) == ['live', 'live'])
        assert att['size_bytes'] == SIZE
        data = write_pattern(dev, 41)

        path2(False)
        assert read_pattern(dev) == data
        wait_for('path 2 lost', lambda: sorted(nvme_paths(nqn).values()) != ['live', 'live'])
        data = write_pattern(dev, 42)
        assert read_pattern(dev) == data

        path2(True)
        wait_for('path 2 back', lambda: sorted(nvme_paths(nqn).values()) == ['live', 'live'])
        assert read_pattern(dev) == data
        det = ok('attachment', connection_info=info, use_multipath=True, state='absent')
        assert det.changed and nvme_paths(nqn) == {}
    finally:
        path2(True)
        if info is not None:
            run_module('attachment', dict(connection_info=info, use_multipath=True,
                                          state='absent', force=True))
        run_module('export', dict(backend=b, volume='mp-nvme', state='absent'))
        run_module('volume', dict(backend=b, name='mp-nvme', state='absent'))
