# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether an address can serve RDMA (iSER, NVMe/RDMA): read-only, before any change.

An RDMA listener on an address whose network device has no RDMA device binds and then
serves nobody, or fails deep in the kernel (rdma_cm: "No such device").  The
check reads the RDMA devices' network devices from sysfs
(``/sys/class/infiniband/<dev>/ports/<n>/gid_attrs/ndevs/*``, as ``rdma link``
shows them) and the address's network device from ``ip -j addr`` (machine-readable).
Soft-RoCE (``rdma_rxe``) makes an RDMA device on any Ethernet device:
``rdma link add rxe0 type rxe netdev IFACE``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os

SYS_IB = '/sys/class/infiniband'
ANY = ('0.0.0.0', '::', '[::]')
SOFT_ROCE = ('load rdma_rxe and run "rdma link add rxe0 type rxe netdev IFACE" (soft-RoCE), '
             'or use a RoCE, iWARP or InfiniBand NIC')


def rdma_netdevs(root=SYS_IB):
    """{network device: RDMA device} of every RDMA port that has a network device."""
    out = {}
    for path in sorted(glob.glob(os.path.join(root, '*', 'ports', '*', 'gid_attrs', 'ndevs', '*'))):
        try:
            with open(path) as fh:
                netdev = fh.read().strip()
        except (IOError, OSError):
            continue        # unused GID entries cannot be read
        if netdev:
            out.setdefault(netdev, path[len(root):].strip('/').split('/')[0])
    return out


def _addresses(runner):
    """{local address: network device} of this host, from one ``ip -j addr``."""
    res = runner.run(['ip', '-j', 'addr', 'show'], check=False)
    try:
        links = json.loads(res.stdout or '[]')
    except ValueError:
        return {}
    out = {}
    for link in links:
        for info in link.get('addr_info') or ():
            if info.get('local'):
                out.setdefault(info['local'], link.get('ifname'))
    return out


def rdma_problem(runner, address, root=SYS_IB, devs=None, netdevs=None):
    """Why ``address`` cannot carry RDMA, or None.

    ``devs``: rdma_netdevs() read once for several addresses; ``netdevs``: a dict that
    keeps the addresses' network devices between calls (one ``ip -j addr`` per task).
    """
    if devs is None:
        devs = rdma_netdevs(root)
    if not devs:
        return 'this host has no RDMA device; %s' % SOFT_ROCE
    if address in ANY:
        return None
    if netdevs is None:
        netdevs = {}
    if '_all' not in netdevs:
        netdevs['_all'] = _addresses(runner)
    netdev = netdevs['_all'].get(address.strip('[]'))
    if netdev is None:
        return 'the address %s is not on this host' % address
    if netdev not in devs:
        return ('the address %s is on %s, which has no RDMA device (RDMA devices serve: %s); %s'
                % (address, netdev, ', '.join('%s (%s)' % (n, d) for n, d in sorted(devs.items())),
                   SOFT_ROCE))
    return None
