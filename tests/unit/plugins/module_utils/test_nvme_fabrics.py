# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The authenticated NVMe-oF connect: the option string and the namespace lookup."""

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import _nvme_fabrics as f
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import CinderkitError

HN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-1111-1111-1111-111111111111'
SN = 'nqn.2010-10.org.openstack:volume-1'
KEY = 'DHHC-1:00:IGGUkVtEZ7oMKVkzvl+E2vNVACenDSlu+/UDwc67tFz598W1:'


def test_options_carry_the_host_id_and_the_secrets():
    opts = f.options('RoCEv2', '10.0.0.1', '4420', SN, HN, '11111111-1111-1111-1111-111111111111',
                     KEY, KEY.replace('IGG', 'IGH'))
    parts = opts.split(',')
    assert parts[:5] == ['transport=rdma', 'traddr=10.0.0.1', 'trsvcid=4420', 'nqn=' + SN,
                         'hostnqn=' + HN]
    assert 'hostid=11111111-1111-1111-1111-111111111111' in parts
    assert 'dhchap_secret=' + KEY in parts and len([p for p in parts if 'dhchap' in p]) == 2


def test_a_comma_cannot_add_an_option():
    with pytest.raises(CinderkitError, match='comma'):
        f.options('tcp', '10.0.0.1,hostnqn=x', '4420', SN, HN, None, KEY)


def test_namespace_device_maps_multipath_nodes_and_waits_for_the_node(tmp_path):
    sysn = tmp_path / 'nvme'
    ns = sysn / 'nvme3' / 'nvme1c3n2'
    ns.mkdir(parents=True)
    (ns / 'nsid').write_text('2\n')
    with pytest.raises(CinderkitError, match='did not appear') as exc:
        f.namespace_device(3, '2', timeout=0.3, sys_nvme=str(sysn))
    assert exc.value.result.get('changed') is True
    with pytest.raises(CinderkitError):
        f.namespace_device(3, '5', timeout=0.1, sys_nvme=str(sysn))
