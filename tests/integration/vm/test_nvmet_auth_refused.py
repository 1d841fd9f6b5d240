# -*- coding: utf-8 -*-
"""VM tier (the default kernel): DH-HMAC-CHAP asked of a kernel without NVME_TARGET_AUTH is
refused before any change, never exported without authentication.

On a kernel that has it (a device-mapper host running a newer kernel), the same request
must export with the key in the host entry instead.
"""

import os

from support import LoopVG, run_module, sh


def test_dhchap_follows_what_the_running_kernel_can_do(kernel_targets):
    for m in ('nvmet', 'nvmet-tcp'):
        sh(['modprobe', m])
    from ansible_collections.cinderkit.storage.plugins.module_utils._dhchap import kernel_support
    can, how = kernel_support()
    vg = LoopVG(size_gb=1, activation=True)
    b = vg.backend(target_helper='nvmet', target_protocol='nvmet_tcp', target_ip_address='127.0.0.1',
                   target_port=4431, nvmet_port_id=41, target_prefix='nvme-noauth')
    nqn = 'nqn.2014-08.org.nvmexpress:uuid:5a5a5a5a-1111-2222-3333-444444444444'
    try:
        assert not run_module('volume', dict(backend=b, name='noauth', size='64M')).failed
        before = sorted(os.listdir('/sys/kernel/config/nvmet/subsystems'))
        res = run_module('export', dict(backend=b, volume='noauth', connector=dict(nqn=nqn),
                                        auth=dict(method='dhchap')))
        if can is False:
            assert res.failed, res
            assert 'auth.method' in res['msg'] and 'cannot authenticate NVMe hosts' in res['msg']
            assert 'CONFIG_NVME_TARGET_AUTH' in res['msg'], res['msg']
            assert sorted(os.listdir('/sys/kernel/config/nvmet/subsystems')) == before
            assert not os.path.isdir('/sys/kernel/config/nvmet/ports/41')
            assert not os.path.isdir('/sys/kernel/config/nvmet/hosts/%s' % nqn)
        else:
            assert can is True, how
            assert not res.failed, res
            key = res['connection_info']['data']['dhchap_secret']
            assert open('/sys/kernel/config/nvmet/hosts/%s/dhchap_key' % nqn).read().strip() == key
    finally:
        run_module('export', dict(backend=b, volume='noauth', state='absent'))
        run_module('volume', dict(backend=b, name='noauth', state='absent'))
        vg.close()
