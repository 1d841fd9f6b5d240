# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The RDMA check of iSER and NVMe/RDMA portals, on a fake sysfs and a fake ``ip -j addr``."""

import json

from ansible_collections.cinderkit.storage.plugins.module_utils.targets import _rdma

ADDRS = [dict(ifname='lo', addr_info=[dict(local='127.0.0.1')]),
         dict(ifname='eth0', addr_info=[dict(local='10.0.2.15')]),
         dict(ifname='veth0', addr_info=[dict(local='192.168.77.1')])]


class Runner(object):
    def __init__(self):
        self.argv = []

    def run(self, argv, check=True, **kw):
        self.argv.append(argv)

        class R(object):
            stdout = json.dumps(ADDRS)
        return R()


def _ib(tmp_path, netdev):
    d = tmp_path / 'rxe0' / 'ports' / '1' / 'gid_attrs' / 'ndevs'
    d.mkdir(parents=True)
    (d / '0').write_text(netdev + '\n')
    return str(tmp_path)


def test_no_rdma_device_at_all(tmp_path):
    problem = _rdma.rdma_problem(Runner(), '192.168.77.1', root=str(tmp_path))
    assert 'no RDMA device' in problem and 'rdma link add' in problem


def test_the_address_must_be_on_the_rdma_netdev(tmp_path):
    root = _ib(tmp_path, 'veth0')
    assert _rdma.rdma_netdevs(root) == {'veth0': 'rxe0'}
    r = Runner()
    assert _rdma.rdma_problem(r, '192.168.77.1', root=root) is None
    assert r.argv == [['ip', '-j', 'addr', 'show']]
    problem = _rdma.rdma_problem(r, '10.0.2.15', root=root)
    assert 'on eth0, which has no RDMA device' in problem and 'veth0 (rxe0)' in problem
    assert 'not on this host' in _rdma.rdma_problem(r, '10.9.9.9', root=root)
    assert _rdma.rdma_problem(r, '0.0.0.0', root=root) is None
