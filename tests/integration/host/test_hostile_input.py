# -*- coding: utf-8 -*-
"""Host tier: hostile and absurd input, refused with a clear message, nothing changed.

Every case runs a module in this process (support.run_module) against one shared VG
(real LVM metadata on a loop device) that holds a managed volume and an unmanaged LV.
Each case asserts that the task failed, that the message names the parameter (and the
words given), that it is not the "internal error" path, that the result says nothing
changed, that no command in a string ran (``$(touch MARKER)`` leaves no file), and that
``lvs``/``vgs`` (with the test's LVM config) read the same before and after.

Covers: shell metacharacters and ``$(...)`` in names, paths and options; path traversal
in image paths and ``to_image``; absurd sizes (``1e30``, NaN, inf, ``+1``, ``-1``,
booleans, lists, 400 digits, other scripts' digits); Unicode and over-long names;
config_file as a directory, missing, unreadable (``/proc/self/mem``: root can open it
but every read fails with EIO, since the tests run as root and DAC never stops root),
a FIFO, binary, relative, with a NUL; backend option values of the wrong shape;
connection_info of the wrong shape; device paths outside /dev; NUL bytes in every path
option.  The role cases run lvm_backend through ansible-playbook once.
(Export and CHAP cases: test_export_hostile.py.)
"""

import json
import os

import pytest

from support import LoopVG, run_module

WORKDIR = os.environ.get('CINDERKIT_TEST_WORKDIR', '/var/tmp/cinderkit-tests')
MARKER = os.path.join(WORKDIR, 'hostile-input-ran')
RUN = '$(touch %s)' % MARKER
IQN = 'iqn.2010-10.org.openstack:volume-hostile'
NQN = 'nqn.2014-08.org.nvmexpress:uuid:2b1e9b0a-7c1f-4f5e-9a51-0c3d5e6f7a81'
SIZE_WORDS = ['give whole GiB']


class Ctx(object):
    """What the cases refer to: the VG, its backend, files made for the config_file cases."""

    def __init__(self, vg, tmp):
        self.vg = vg
        self.b = vg.backend()
        self.dir = tmp
        self.fifo = os.path.join(tmp, 'fifo')
        os.mkfifo(self.fifo)
        self.binary = os.path.join(tmp, 'binary.conf')
        with open(self.binary, 'wb') as fh:
            fh.write(b'[lvm-1]\nvolume_group = \xff\xfe\n')
        self.bad_default = os.path.join(tmp, 'bad-default.conf')
        with open(self.bad_default, 'w') as fh:
            fh.write('[DEFAULT]\nhost = not a host!\n\n[lvm-1]\nvolume_driver = lvm\n'
                     'volume_group = %s\n' % vg.name)
        self.malformed = os.path.join(tmp, 'malformed.conf')
        with open(self.malformed, 'w') as fh:
            fh.write('[lvm-1]\nvolume_driver = lvm\n%s\n' % RUN)
        self.dollar = os.path.join(tmp, 'dollar.conf')
        with open(self.dollar, 'w') as fh:
            fh.write('[lvm-1]\nvolume_driver = lvm\nvolume_group = %s\nchap_password = Pa$word-9\n'
                     % vg.name)
        self.image_dir = os.path.join(tmp, 'images')
        os.makedirs(self.image_dir)

    def conf(self, path, **more):
        return dict(config_file=path, backend_name='lvm-1', backend=None, **more)


def iscsi(**over):
    data = dict(target_iqn=IQN, target_portal='127.0.0.1:3260', target_lun=1)
    data.update(over)
    return {'driver_volume_type': 'iscsi', 'data': data}


def nvme(**over):
    data = dict(nqn=NQN, transport_type='tcp', target_portal='127.0.0.1', target_port='4420',
                ns_id='10')
    data.update(over)
    return {'driver_volume_type': 'nvmeof', 'data': data}


def rbd(**over):
    data = dict(name='volumes/v1', hosts=['127.0.0.1'], ports=['6789'])
    data.update(over)
    return {'driver_volume_type': 'rbd', 'data': data}


def local(path):
    return {'driver_volume_type': 'local', 'data': {'device_path': path}}


# (id, module, args(ctx) -> dict, words the message must hold: the parameter first)
CASES = [
    # -- absurd sizes: volume
    ('size-nan', 'volume', lambda c: dict(name='v1', size=float('nan')),
     ["parameter 'size'", 'not a finite number'] + SIZE_WORDS),
    ('size-inf', 'volume', lambda c: dict(name='v1', size=float('inf')),
     ["parameter 'size'", 'not a finite number']),
    ('size-minus-inf', 'volume', lambda c: dict(name='v1', size=float('-inf')),
     ["parameter 'size'", 'not a finite number']),
    ('size-1e30-float', 'volume', lambda c: dict(name='v1', size=1e30),
     ["parameter 'size'", 'larger than 8 EiB']),
    ('size-1e30-string', 'volume', lambda c: dict(name='v1', size='1e30'),
     ["parameter 'size'", 'not a number with an optional unit']),
    ('size-huge-int', 'volume', lambda c: dict(name='v1', size=10 ** 400),
     ["parameter 'size'", 'larger than 8 EiB']),
    ('size-400-digits', 'volume', lambda c: dict(name='v1', size='9' * 400),
     ["parameter 'size'", 'not a finite number']),
    ('size-plus-one', 'volume', lambda c: dict(name='v1', size='+1'),
     ["parameter 'size'", 'not a number with an optional unit']),
    ('size-minus-one', 'volume', lambda c: dict(name='v1', size=-1),
     ["parameter 'size'", 'greater than zero']),
    ('size-zero', 'volume', lambda c: dict(name='v1', size=0), ["parameter 'size'", 'greater than zero']),
    ('size-true', 'volume', lambda c: dict(name='v1', size=True), ["parameter 'size'", 'not a number']),
    ('size-false', 'volume', lambda c: dict(name='v1', size=False), ["parameter 'size'", 'not a number']),
    ('size-list', 'volume', lambda c: dict(name='v1', size=[1]), ["parameter 'size'", 'not a list']),
    ('size-dict', 'volume', lambda c: dict(name='v1', size={'gb': 1}), ["parameter 'size'", 'not a dict']),
    ('size-arabic-digits', 'volume', lambda c: dict(name='v1', size='\u0661\u0660'),
     ["parameter 'size'", 'not a number']),
    ('size-shell', 'volume', lambda c: dict(name='v1', size=RUN), ["parameter 'size'", 'not a number']),
    ('size-fraction-of-mib', 'volume', lambda c: dict(name='v1', size='0.1M'),
     ["parameter 'size'", 'whole number of MiB']),
    ('bulk-one-size-nan', 'volume', lambda c: dict(volumes=[{'name': 'ok1', 'size': '8M'},
                                                            {'name': 'ok2', 'size': float('nan')}]),
     ["parameter 'volumes[1].size'", 'not a finite number']),
    # -- names
    ('name-shell', 'volume', lambda c: dict(name=RUN, size='8M'), ["parameter 'name'", "'$'"]),
    ('name-semicolon', 'volume', lambda c: dict(name='a;rm -rf /', size='8M'), ["parameter 'name'", "';'"]),
    ('name-traversal', 'volume', lambda c: dict(name='../etc', size='8M'), ["parameter 'name'", "'/'"]),
    ('name-unicode', 'volume', lambda c: dict(name='v\u00f8l', size='8M'), ["parameter 'name'", '\u00f8']),
    ('name-over-long', 'volume', lambda c: dict(name='a' * 200, size='8M'), ["parameter 'name'", '200']),
    ('name-empty', 'volume', lambda c: dict(name='', size='8M'), ["parameter 'name'", 'non-empty']),
    ('name-newline', 'volume', lambda c: dict(name='a\nb', size='8M'), ["parameter 'name'", "'\\n'"]),
    ('name-nul', 'volume', lambda c: dict(name='a\x00b', size='8M'), ["parameter 'name'"]),
    ('bulk-one-name-too-long-for-vg', 'volume', lambda c: dict(
        volumes=[{'name': 'ok1', 'size': '8M'}, {'name': 'b' * 126, 'size': '8M'}]),
     ["parameter 'volumes[1].name'", '126 characters']),
    ('source-volume-traversal', 'volume', lambda c: dict(name='v1', source={'volume': '../base'}),
     ["parameter 'source.volume'", 'not found']),
    ('source-snapshot-shell', 'volume', lambda c: dict(name='v1', source={'snapshot': RUN}),
     ["parameter 'source.snapshot'", 'not found']),
    ('source-two-kinds', 'volume', lambda c: dict(name='v1', source={'volume': 'base', 'snapshot': 's'}),
     ["parameter 'source'", 'exactly one']),
    ('state-shell', 'volume', lambda c: dict(name='v1', size='8M', state='present; rm -rf /'),
     ['state', 'must be one of']),
    ('delete-unmanaged', 'volume', lambda c: dict(name='foreign', state='absent'),
     ['foreign', 'not managed by cinderkit']),
    # -- image paths and to_image
    ('image-relative-traversal', 'volume', lambda c: dict(name='v1', source={'image': '../../etc/shadow'}),
     ["parameter 'source.image'", 'not absolute']),
    ('image-absolute-traversal', 'volume', lambda c: dict(name='v1', source={'image': '/tmp/../etc/shadow'}),
     ["parameter 'source.image'", 'not normalised', '/etc/shadow']),
    ('image-shell', 'volume', lambda c: dict(name='v1', source={'image': '/tmp/%s.qcow2' % RUN}),
     ["parameter 'source.image'", 'does not exist']),
    ('image-file-url', 'volume', lambda c: dict(name='v1', source={'image': 'file:///etc/passwd'}),
     ["parameter 'source.image'", 'http(s)']),
    ('image-nul', 'volume', lambda c: dict(name='v1', source={'image': '/tmp/x\x00y'}),
     ["parameter 'source.image'", 'NUL']),
    ('image-directory', 'volume', lambda c: dict(name='v1', source={'image': c.image_dir}),
     ["parameter 'source.image'", 'is a directory']),
    ('bulk-image-traversal', 'volume', lambda c: dict(volumes=[{'name': 'v1', 'source': {'image': 'x/../../y'}}]),
     ["parameter 'volumes[0].source.image'", 'not absolute']),
    ('to-image-relative', 'volume', lambda c: dict(name='base', to_image={'path': 'base.raw'}),
     ["parameter 'to_image.path'", 'not absolute']),
    ('to-image-traversal', 'volume', lambda c: dict(name='base', to_image={'path': c.image_dir + '/../../x.raw'}),
     ["parameter 'to_image.path'", 'not normalised']),
    ('to-image-nul', 'volume', lambda c: dict(name='base', to_image={'path': c.image_dir + '/x\x00.raw'}),
     ["parameter 'to_image.path'", 'NUL']),
    ('to-image-newline', 'volume', lambda c: dict(name='base', to_image={'path': c.image_dir + '/x\n.raw'}),
     ["parameter 'to_image.path'", 'control character']),
    ('to-image-directory', 'volume', lambda c: dict(name='base', to_image={'path': c.image_dir}),
     ["parameter 'to_image.path'", 'is a directory']),
    ('to-image-shell-directory', 'volume', lambda c: dict(name='base', to_image={'path': '/tmp/%s/x.raw' % RUN}),
     ["parameter 'to_image.path'", 'does not exist']),
    # -- backend option values
    ('backend-nan', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, reserved_percentage=float('nan'))),
     ["parameter 'backend.reserved_percentage'", 'not a finite number']),
    ('backend-port-inf', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, target_port=float('inf'))),
     ["parameter 'backend.target_port'", 'not a finite number']),
    ('backend-bool-list', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, use_chap_auth=[True])),
     ["parameter 'backend.use_chap_auth'", 'not a list']),
    ('backend-list-for-string', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, lvm_type=['thin'])),
     ["parameter 'backend.lvm_type'", 'not a list']),
    ('backend-dict-for-list', 'volume', lambda c: dict(
        name='v1', size='8M', backend=dict(c.b, target_secondary_ip_addresses={'a': 1})),
     ["parameter 'backend.target_secondary_ip_addresses'", 'not a dict']),
    ('backend-driver-list', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, volume_driver=['lvm'])),
     ["parameter 'backend.volume_driver'", 'must be a string']),
    ('backend-driver-shell', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, volume_driver=RUN)),
     ["parameter 'backend.volume_driver'", 'unknown volume driver']),
    ('backend-unknown-option-shell', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, **{RUN: 1})),
     ["parameter 'backend'", 'unknown option']),
    ('backend-choice-shell', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, lvm_type='thick; rm')),
     ["parameter 'backend.lvm_type'", 'Valid values']),
    ('backend-vg-shell', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, volume_group=RUN)),
     ["parameter 'backend.volume_group'", 'not an LVM volume group name']),
    ('backend-vg-option-like', 'backend_facts', lambda c: dict(backend=dict(c.b, volume_group='--yes')),
     ["parameter 'backend.volume_group'", 'not an LVM volume group name']),
    ('backend-vg-traversal', 'backend_facts', lambda c: dict(backend=dict(c.b, volume_group='../' + c.vg.name)),
     ["parameter 'backend.volume_group'", 'not an LVM volume group name']),
    ('backend-lvm-conf-relative', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, lvm_conf_file='lvm.conf')),
     ["parameter 'backend.lvm_conf_file'", 'not an absolute path']),
    ('backend-conf-file-nul', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, lvm_conf_file='/etc/\x00x')),
     ["parameter 'backend.lvm_conf_file'", 'NUL']),
    ('backend-ionice-command', 'volume', lambda c: dict(
        name='v1', size='8M', backend=dict(c.b, volume_clear_ionice='-c3 sh -c %s' % RUN)),
     ["parameter 'backend.volume_clear_ionice'", 'not an ionice scheduling option']),
    ('backend-blocksize-shell', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, volume_dd_blocksize=RUN)),
     ["parameter 'backend.volume_dd_blocksize'", 'not a block size']),
    ('backend-ratio-nan', 'volume', lambda c: dict(name='v1', size='8M', backend=dict(c.b, max_over_subscription_ratio='nan')),
     ["parameter 'backend.max_over_subscription_ratio'"]),
    ('backend-not-a-dict', 'volume', lambda c: dict(name='v1', size='8M', backend='volume_group'),
     ['backend', 'dict']),
    ('backend-and-config-file', 'volume',
     lambda c: dict(name='v1', size='8M', config_file=c.malformed, backend_name='lvm-1'),
     ['mutually exclusive', 'backend|config_file']),
    # -- config_file
    ('config-file-directory', 'volume', lambda c: dict(c.conf(c.dir), name='v1', size='8M'),
     ["parameter 'config_file'", 'is a directory']),
    ('config-file-missing', 'volume', lambda c: dict(c.conf(c.dir + '/missing.conf'), name='v1', size='8M'),
     ["parameter 'config_file'", 'does not exist']),
    ('config-file-unreadable', 'volume', lambda c: dict(c.conf('/proc/self/mem'), name='v1', size='8M'),
     ["parameter 'config_file'", 'cannot read /proc/self/mem']),
    ('config-file-fifo', 'volume', lambda c: dict(c.conf(c.fifo), name='v1', size='8M'),
     ["parameter 'config_file'", 'not a regular file']),
    ('config-file-binary', 'volume', lambda c: dict(c.conf(c.binary), name='v1', size='8M'),
     ["parameter 'config_file'", 'not UTF-8']),
    ('config-file-relative', 'volume', lambda c: dict(c.conf('cinder.conf'), name='v1', size='8M'),
     ["parameter 'config_file'", 'not absolute']),
    ('config-file-nul', 'volume', lambda c: dict(c.conf('/etc/cinder\x00.conf'), name='v1', size='8M'),
     ["parameter 'config_file'", 'NUL']),
    ('config-file-malformed-line', 'volume', lambda c: dict(c.conf(c.malformed), name='v1', size='8M'),
     ["parameter 'config_file'", 'line 3', 'not shown']),
    ('config-file-bad-default-host', 'backend_facts', lambda c: c.conf(c.bad_default),
     ["parameter 'config_file'", 'option host in [DEFAULT]']),
    ('config-file-dollar-in-secret', 'backend_facts', lambda c: c.conf(c.dollar),
     ["parameter 'config_file'", 'chap_password', '"$$"']),
    ('config-file-no-section', 'backend_facts', lambda c: dict(c.conf(c.dollar), backend_name=RUN),
     ["parameter 'backend_name'", 'no section']),
    # -- snapshot
    ('cow-size-nan', 'snapshot', lambda c: dict(volume='base', name='s1', cow_size=float('nan')),
     ["parameter 'cow_size'", 'not a finite number']),
    ('cow-size-inf', 'snapshot', lambda c: dict(volume='base', name='s1', cow_size=float('inf')),
     ["parameter 'cow_size'", 'not a finite number']),
    ('cow-size-1e30', 'snapshot', lambda c: dict(volume='base', name='s1', cow_size=1e30),
     ["parameter 'cow_size'", 'larger than 8 EiB']),
    ('cow-size-bool', 'snapshot', lambda c: dict(volume='base', name='s1', cow_size=True),
     ["parameter 'cow_size'", 'not a number']),
    ('cow-size-list', 'snapshot', lambda c: dict(volume='base', name='s1', cow_size=['8M']),
     ["parameter 'cow_size'", 'not a list']),
    ('snapshot-name-shell', 'snapshot', lambda c: dict(volume='base', name=RUN), ["parameter 'name'", "'$'"]),
    ('snapshot-name-unicode', 'snapshot', lambda c: dict(volume='base', name='sn\u00e4p'),
     ["parameter 'name'", '\u00e4']),
    ('snapshot-name-over-long', 'snapshot', lambda c: dict(volume='base', name='s' * 300), ["parameter 'name'"]),
    ('snapshot-volume-traversal', 'snapshot', lambda c: dict(volume='../base', name='s1'),
     ["parameter 'volume'", 'not found']),
    ('revert-without-volume', 'snapshot', lambda c: dict(name='s1', state='reverted'),
     ["parameter 'volume'", 'required']),
    # -- extend
    ('extend-nan', 'extend', lambda c: dict(name='base', size=float('nan')), ["parameter 'size'", 'not a finite number']),
    ('extend-plus-one', 'extend', lambda c: dict(name='base', size='+1'), ["parameter 'size'", 'not a number']),
    ('extend-minus-one', 'extend', lambda c: dict(name='base', size=-1), ["parameter 'size'", 'greater than zero']),
    ('extend-bool', 'extend', lambda c: dict(name='base', size=False), ["parameter 'size'", 'not a number']),
    ('extend-1e30', 'extend', lambda c: dict(name='base', size=1e30), ["parameter 'size'", 'larger than 8 EiB']),
    ('extend-list', 'extend', lambda c: dict(name='base', size=['1G']), ["parameter 'size'", 'not a list']),
    ('extend-name-shell', 'extend', lambda c: dict(name=RUN, size=1), ["parameter 'name'", "'$'"]),
    ('extend-name-unicode', 'extend', lambda c: dict(name='\u00fcn\u00ef', size=1), ["parameter 'name'"]),
    # -- manage_existing
    ('manage-source-shell', 'manage_existing', lambda c: dict(name='m1', source_name=RUN),
     ["parameter 'source_name'", 'does not exist']),
    ('manage-source-traversal', 'manage_existing', lambda c: dict(name='m1', source_name='../foreign'),
     ["parameter 'source_name'", 'does not exist']),
    ('manage-reference-list', 'manage_existing', lambda c: dict(name='m1', reference={'source-name': ['foreign']}),
     ["parameter 'reference'", 'non-empty string']),
    ('manage-reference-unknown-key', 'manage_existing', lambda c: dict(name='m1', reference={'source-id': '1'}),
     ["parameter 'reference'", 'source-name']),
    ('manage-name-shell', 'manage_existing', lambda c: dict(name=RUN, source_name='foreign'),
     ["parameter 'name'", "'$'"]),
    ('manage-name-over-long', 'manage_existing', lambda c: dict(name='m' * 300, source_name='foreign'),
     ["parameter 'name'"]),
    ('manage-limit-negative', 'manage_existing', lambda c: dict(state='listed', limit=-1),
     ["parameter 'limit'", '0 or more']),
    ('manage-marker-shell', 'manage_existing', lambda c: dict(state='listed', marker=RUN),
     ["parameter 'marker'", 'not found']),
    ('manage-sort-key-shell', 'manage_existing', lambda c: dict(state='listed', sort_keys=[RUN]),
     ["parameter 'sort_keys'", 'unknown sort key']),
    ('manage-sort-dir', 'manage_existing', lambda c: dict(state='listed', sort_dirs=['sideways']),
     ["parameter 'sort_dirs'", 'unknown sort direction']),
    # -- backend_facts
    ('facts-nan', 'backend_facts', lambda c: dict(backend=dict(c.b, lvm_mirrors=float('nan'))),
     ["parameter 'backend.lvm_mirrors'", 'not a finite number']),
    ('facts-unknown-option', 'backend_facts', lambda c: dict(backend=dict(c.b, volume_grup='x')),
     ["parameter 'backend'", "unknown option 'volume_grup'"]),
    ('facts-config-file-directory', 'backend_facts', lambda c: c.conf(c.dir),
     ["parameter 'config_file'", 'is a directory']),
    # (RBD backends: refused while the options load, before any Ceph connection)
    ('rbd-keyring-conf-nul', 'backend_facts',
     lambda c: dict(backend=dict(volume_driver='rbd', rbd_keyring_conf='/etc/ceph/\x00k')),
     ["parameter 'backend.rbd_keyring_conf'", 'NUL']),
    ('rbd-ceph-conf-nul', 'backend_facts',
     lambda c: dict(backend=dict(volume_driver='rbd', rbd_ceph_conf='/etc/ceph/ceph.conf\x00')),
     ["parameter 'backend.rbd_ceph_conf'", 'NUL']),
    ('rbd-timeout-nan', 'backend_facts',
     lambda c: dict(backend=dict(volume_driver='rbd', rados_connect_timeout=float('nan'))),
     ["parameter 'backend.rados_connect_timeout'", 'not a finite number']),
    ('rbd-user-list', 'backend_facts', lambda c: dict(backend=dict(volume_driver='rbd', rbd_user=['admin'])),
     ["parameter 'backend.rbd_user'", 'not a list']),
    # -- attachment: connection_info of the wrong shape, device paths outside /dev
    ('att-info-list', 'attachment', lambda c: dict(connection_info=[1]), ['connection_info', 'dict']),
    ('att-type-list', 'attachment', lambda c: dict(connection_info={'driver_volume_type': ['iscsi'], 'data': {}}),
     ["parameter 'connection_info.driver_volume_type'", 'unknown type']),
    ('att-data-list', 'attachment', lambda c: dict(connection_info={'driver_volume_type': 'iscsi', 'data': [1]}),
     ["parameter 'connection_info'", 'no data dict']),
    ('att-lun-superscript', 'attachment', lambda c: dict(connection_info=iscsi(target_lun='\u00b2')),
     ["parameter 'connection_info.data.target_lun'", 'LUN number']),
    ('att-lun-negative', 'attachment', lambda c: dict(connection_info=iscsi(target_lun=-1)),
     ["parameter 'connection_info.data.target_lun'", 'out of range']),
    ('att-lun-float', 'attachment', lambda c: dict(connection_info=iscsi(target_lun=1.5)),
     ["parameter 'connection_info.data.target_lun'", 'LUN number']),
    ('att-portal-shell', 'attachment', lambda c: dict(connection_info=iscsi(target_portal='%s:3260' % RUN)),
     ["parameter 'connection_info.data.target_portal'", 'address:port']),
    ('att-iqn-shell', 'attachment', lambda c: dict(connection_info=iscsi(target_iqn='iqn.2010-10.org.x:' + RUN)),
     ["parameter 'connection_info.data.target_iqn'", 'iSCSI qualified name']),
    ('att-iqn-with-space', 'attachment', lambda c: dict(connection_info=iscsi(target_iqn='iqn.2010-10.org.x:a b')),
     ["parameter 'connection_info.data.target_iqn'"]),
    ('att-iqns-not-a-list', 'attachment', lambda c: dict(connection_info=iscsi(
        target_iqns=IQN, target_portals=['127.0.0.1:3260'], target_luns=[1])),
     ["parameter 'connection_info.data.target_iqns'", 'list of strings']),
    ('att-iqn-nul', 'attachment', lambda c: dict(connection_info=iscsi(target_iqn=IQN + '\x00')),
     ["parameter 'connection_info.data.target_iqn'", 'NUL']),
    ('att-ns-id-superscript', 'attachment', lambda c: dict(connection_info=nvme(ns_id='\u00b2')),
     ["parameter 'connection_info.data.ns_id'", 'namespace number']),
    ('att-nvme-portal-shell', 'attachment', lambda c: dict(connection_info=nvme(target_portal=RUN)),
     ["parameter 'connection_info.data.target_portal'", 'IP address or host name']),
    ('att-nvme-port-inf', 'attachment', lambda c: dict(connection_info=nvme(target_port=float('inf'))),
     ["parameter 'connection_info.data.target_port'", 'not a TCP port']),
    ('att-nqn-with-space', 'attachment', lambda c: dict(connection_info=nvme(nqn='nqn.2014-08.org bad')),
     ["parameter 'connection_info.data.nqn'", 'NVMe qualified name']),
    ('att-nvme-portals-dict', 'attachment', lambda c: dict(connection_info={
        'driver_volume_type': 'nvmeof', 'data': {'target_nqn': NQN, 'portals': {'a': 1}}}),
     ["parameter 'connection_info.data'", 'no portals']),
    ('att-nvme-portal-address-shell', 'attachment', lambda c: dict(connection_info={
        'driver_volume_type': 'nvmeof', 'data': {'target_nqn': NQN, 'portals': [[RUN, '4420', 'tcp']]}}),
     ["parameter 'connection_info.data.portals[0]'", 'IP address or host name']),
    ('att-rbd-monitor-shell', 'attachment', lambda c: dict(connection_info=rbd(hosts=[RUN])),
     ["parameter 'connection_info.data.hosts[0]'", 'IP address or host name']),
    ('att-rbd-name-traversal', 'attachment', lambda c: dict(connection_info=rbd(name='../../etc/x')),
     ["parameter 'connection_info.data.name'", 'pool/image']),
    ('att-keyring-nul', 'attachment', lambda c: dict(connection_info=rbd(), rbd_keyring_file='/etc/ceph/\x00k'),
     ["parameter 'rbd_keyring_file'", 'NUL']),
    ('att-keyring-directory', 'attachment', lambda c: dict(connection_info=rbd(), rbd_keyring_file=c.dir),
     ["parameter 'rbd_keyring_file'", 'is a directory']),
    ('att-keyring-relative', 'attachment', lambda c: dict(connection_info=rbd(), rbd_keyring_file='ceph.keyring'),
     ["parameter 'rbd_keyring_file'", 'not absolute']),
    ('att-keyring-unreadable', 'attachment', lambda c: dict(connection_info=rbd(), rbd_keyring_file='/proc/self/mem'),
     ["parameter 'rbd_keyring_file'", 'cannot read']),
    ('att-lock-path-nul', 'attachment', lambda c: dict(connection_info=iscsi(), lock_path='/var/lock/\x00x'),
     ["parameter 'lock_path'", 'NUL']),
    ('att-my-ip-shell', 'attachment', lambda c: dict(connection_info=iscsi(), my_ip='1.2.3.4; ' + RUN),
     ["parameter 'my_ip'", 'host name or an IP address']),
    ('att-local-outside-dev', 'attachment', lambda c: dict(connection_info=local('/etc/passwd')),
     ["parameter 'connection_info.data.device_path'", 'not a device under /dev']),
    ('att-local-traversal', 'attachment', lambda c: dict(connection_info=local('/dev/../etc/passwd')),
     ["parameter 'connection_info.data.device_path'", 'not a device under /dev']),
    ('att-local-nul', 'attachment', lambda c: dict(connection_info=local('/dev/\x00sda')),
     ["parameter 'connection_info.data.device_path'", 'NUL']),
    ('att-local-shell', 'attachment', lambda c: dict(connection_info=local('/dev/' + RUN)),
     ["parameter 'connection_info.data.device_path'", 'not a block device']),
    ('att-local-list', 'attachment', lambda c: dict(connection_info=local(['/dev/sda'])),
     ["parameter 'connection_info.data.device_path'", 'must be a string']),
]


@pytest.fixture(scope='module')
def ctx(tmp_path_factory):
    vg = LoopVG(size_gb=2)
    try:
        r = run_module('volume', dict(backend=vg.backend(), name='base', size='8M'))
        assert r.get('changed') and not r.get('failed'), r
        vg.lvm(['lvcreate', '--yes', '-n', 'foreign', '-L', '8m', vg.name])
        c = Ctx(vg, str(tmp_path_factory.mktemp('hostile')))
        c.state = _state(vg)
        assert ' base ' in c.state and ' foreign ' in c.state, c.state
        yield c
    finally:
        vg.close()


def _state(vg):
    """What must not change: lvs with the VG's fields (vgs' columns and vg_seqno, which
    LVM bumps on every metadata change), in one LVM call, with the test's LVM config."""
    return vg.lvm(['lvs', '-a', '--noheadings', '--units', 'b', '-o',
                   'vg_name,vg_size,vg_free,lv_count,snap_count,vg_seqno,'
                   'lv_name,lv_size,lv_attr,lv_tags,origin', vg.name]).stdout


@pytest.mark.parametrize('case,module,make_args,words', CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_refused_clearly_and_changes_nothing(ctx, case, module, make_args, words):
    args = make_args(ctx)
    if module != 'attachment' and 'backend' not in args:
        args['backend'] = ctx.b
    if args.get('backend', '') is None:
        del args['backend']
    before = ctx.state           # as read after the previous case (or the fixture)
    r = run_module(module, args)
    msg = r.get('msg', '')
    assert r.failed, (case, r)
    assert 'internal error' not in msg, (case, msg, r.get('exception'))
    for w in words:
        assert w in msg, (case, w, msg)
    assert not r.get('changed'), (case, r)
    assert not os.path.exists(MARKER), (case, 'a command in the input ran')
    ctx.state = _state(ctx.vg)
    assert ctx.state == before, case


def test_the_table_is_large_and_the_state_check_would_see_a_change(ctx):
    """The table has its size; a real change is seen by the same before/after comparison."""
    assert len(CASES) >= 100 and len(set(c[0] for c in CASES)) == len(CASES)
    assert len(set(c[1] for c in CASES)) == 6
    before = _state(ctx.vg)
    r = run_module('volume', dict(backend=ctx.b, name='control', size='8M'))
    assert r.changed and not r.failed, r
    try:
        assert _state(ctx.vg) != before
    finally:
        assert run_module('volume', dict(backend=ctx.b, name='control', state='absent')).changed
    after = _state(ctx.vg)
    assert ' control ' not in after and after.count('\n') == before.count('\n')
    ctx.state = after


ROLE_DEVICES = [
    ('/etc/passwd', 'is not a block device'),
    (RUN, 'is not a block device'),
    ('/dev/../etc/passwd', 'is not a block device'),
    ('/tmp/x; rm -rf /tmp/x', 'is not a block device'),
]


def test_lvm_backend_role_refuses_hostile_devices(ctx, play):
    """The lvm_backend role: paths outside /dev, $(...), traversal - refused, nothing made."""
    before = _state(ctx.vg)
    pvs_before = ctx.vg.lvm(['pvs', '--noheadings', '-o', 'pv_name,vg_name']).stdout
    tasks = []
    for i, dev in enumerate([d[0] for d in ROLE_DEVICES]):
        tasks.append({'name': 'hostile %d' % i, 'block': [{
            'name': 'role with a hostile device %d' % i,
            'ansible.builtin.include_role': {'name': 'cinderkit.storage.lvm_backend'},
            'vars': {'lvm_backend_devices': [dev], 'lvm_backend_vg': 'ckhostile',
                     'lvm_backend_environment': ctx.vg.env}}],
            'rescue': [{'name': 'refused %d' % i, 'ansible.builtin.debug': {'msg': 'refused'}}]})
    results = play.run(tasks)
    failed = [r for r in results if r['_status'] == 'failed']
    refused = [r for r in results if r['_task'].startswith('refused')]
    assert len(refused) == len(ROLE_DEVICES), json.dumps(results)[-3000:]
    assert len(failed) == len(ROLE_DEVICES)
    texts = [json.dumps(r) for r in failed]
    for (dev, words), text in zip(ROLE_DEVICES, texts):
        assert words in text and json.dumps(dev)[1:-1] in text, (dev, text[-1500:])
        assert 'pvcreate' not in text and 'vgcreate' not in text
    assert not any(r.get('changed') for r in results)
    assert not os.path.exists(MARKER)
    assert _state(ctx.vg) == before
    assert ctx.vg.lvm(['pvs', '--noheadings', '-o', 'pv_name,vg_name']).stdout == pvs_before


def _tree(path):
    """Every file under path with its bytes (what a role run would have written)."""
    out = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            out[os.path.relpath(full, path)] = (open(full, 'rb').read()
                                                if os.path.isfile(full) else None)
    return out


_INJ = '$(touch %s)' % MARKER
_SECRET = 'Good-Secret-123'
# (role, variables, the variable the failure must name)
ROLE_CASES = [
    ('target_helper', {'target_helper_prefix': 'iqn.2010-10.org.openstack:' + _INJ}, 'target_helper_prefix'),
    ('target_helper', {'target_helper_prefix': 'iqn x;id'}, 'target_helper_prefix'),
    ('target_helper', {'target_helper_prefix': ['iqn.a:']}, 'target_helper_prefix'),
    ('target_helper', {'target_helper_ip_address': '127.0.0.1;' + _INJ}, 'target_helper_ip_address'),
    ('target_helper', {'target_helper_ip_address': '127.0.0.1\n  portal=0.0.0.0'}, 'target_helper_ip_address'),
    ('target_helper', {'target_helper_ip_address': ['127.0.0.1']}, 'target_helper_ip_address'),
    ('target_helper', {'target_helper_secondary_ip_addresses': ['10.0.0.1', '`touch %s`' % MARKER]},
     'target_helper_secondary_ip_addresses[1]'),
    ('target_helper', {'target_helper_secondary_ip_addresses': [['10.0.0.1']]},
     'target_helper_secondary_ip_addresses[0]'),
    ('target_helper', {'target_helper_port': -1}, 'target_helper_port'),
    ('target_helper', {'target_helper_port': 70000}, 'target_helper_port'),
    ('target_helper', {'target_helper_port': '3260;' + _INJ}, 'target_helper_port'),
    ('target_helper', {'target_helper_tgt_control_port': -5}, 'target_helper_tgt_control_port'),
    ('target_helper', {'target_helper_nvmet_port_id': -1}, 'target_helper_nvmet_port_id'),
    ('target_helper', {'target_helper_volumes_dir': 'relative/volumes'}, 'target_helper_volumes_dir'),
    ('target_helper', {'target_helper_volumes_dir': '/TMP/../etc'}, 'target_helper_volumes_dir'),
    ('target_helper', {'target_helper_volumes_dir': '/TMP/v' + _INJ}, 'target_helper_volumes_dir'),
    ('target_helper', {'target_helper_volumes_dir': '/TMP/v\ninclude /etc/x'}, 'target_helper_volumes_dir'),
    ('target_helper', {'target_helper_tgt_conf_dir': '/TMP/conf.d/../../x'}, 'target_helper_tgt_conf_dir'),
    ('target_helper', {'target_helper_tgt_conf_dir': '/TMP/c;' + _INJ}, 'target_helper_tgt_conf_dir'),
    ('target_helper', {'target_helper_systemd_dir': 'systemd'}, 'target_helper_systemd_dir'),
    ('target_helper', {'target_helper_systemd_dir': '/TMP/s $(id)'}, 'target_helper_systemd_dir'),
    ('target_helper', {'target_helper_default_chap': {'username': 'u;' + _INJ, 'password': _SECRET}},
     'target_helper_default_chap.username'),
    ('target_helper', {'target_helper_default_chap': {'username': 'user', 'password': 'Aa1' + _INJ}},
     'target_helper_default_chap.password'),
    ('target_helper', {'target_helper_default_chap': {'username': 'user', 'password': 'Secret-with\nnewline'}},
     'target_helper_default_chap.password'),
    ('target_helper', {'target_helper_default_chap': {'username': ['u'], 'password': _SECRET}},
     'target_helper_default_chap.username'),
    ('target_helper', {'target_helper_name': 'lioadm', 'target_helper_discovery_chap':
                       {'username': 'd' + _INJ, 'password': _SECRET}}, 'target_helper_discovery_chap.username'),
    ('target_helper', {'target_helper_name': 'lioadm', 'target_helper_discovery_chap':
                       {'username': 'd', 'password': 'x password=' + _SECRET}}, 'target_helper_discovery_chap.password'),
    ('target_helper', {'target_helper_name': 'lioadm', 'target_helper_discovery_chap':
                       {'username': 'd', 'password': _SECRET, 'mutual_username': 'm userid=x'}},
     'target_helper_discovery_chap.mutual_username'),
    ('target_helper', {'target_helper_name': 'lioadm', 'target_helper_discovery_chap':
                       {'username': 'd', 'password': _SECRET, 'mutual_username': 'm',
                        'mutual_password': 'Mutual;' + _INJ}}, 'target_helper_discovery_chap.mutual_password'),
    ('managed_node', {'managed_node_venv': 'opt/venv'}, 'managed_node_venv'),
    ('managed_node', {'managed_node_venv': '/TMP/../../opt'}, 'managed_node_venv'),
    ('managed_node', {'managed_node_venv': '/TMP/v;' + _INJ}, 'managed_node_venv'),
    ('managed_node', {'managed_node_venv': ['/TMP/v']}, 'managed_node_venv'),
    ('managed_node', {'managed_node_method': 'venv;' + _INJ}, 'managed_node_method'),
]


def _sub(value, tmp):
    if isinstance(value, str):
        return value.replace('/TMP', tmp)
    if isinstance(value, list):
        return [_sub(v, tmp) for v in value]
    if isinstance(value, dict):
        return dict((k, _sub(v, tmp)) for k, v in value.items())
    return value


def test_target_helper_and_managed_node_roles_refuse_hostile_input(tmp_path, play):
    """Both roles: $(...), metacharacters, lists, bad ports, relative and traversing paths -
    each refused naming the variable, before any command or file write (one play)."""
    tmp = str(tmp_path / 'role')
    os.makedirs(tmp)
    base = {'target_helper': {
        'target_helper_name': 'tgtadm', 'target_helper_protocol': 'iscsi',
        'target_helper_ip_address': '127.0.0.1', 'target_helper_port': 3260,
        'target_helper_volumes_dir': tmp + '/volumes', 'target_helper_install_packages': False,
        'target_helper_manage_service': False, 'target_helper_tgt_conf_dir': tmp + '/conf.d',
        'target_helper_systemd_dir': tmp + '/systemd'},
        'managed_node': {'managed_node_method': 'venv', 'managed_node_venv': tmp + '/venv'}}
    before = _tree(tmp)
    tasks = []
    for i, (role, over, _words) in enumerate(ROLE_CASES):
        v = dict(base[role])
        if over.get('target_helper_name') == 'lioadm':
            v['target_helper_protocol'] = 'iscsi'
        v.update(_sub(over, tmp))
        tasks.append({'name': 'hostile %d' % i, 'block': [{
            'name': 'role %s %d' % (role, i),
            'ansible.builtin.include_role': {'name': 'cinderkit.storage.' + role}, 'vars': v}],
            'rescue': [{'name': 'refused %d' % i, 'ansible.builtin.debug': {'msg': 'refused'}}]})
    results = play.run(tasks)
    failed = [r for r in results if r['_status'] == 'failed']
    refused = [r for r in results if r['_task'].startswith('refused')]
    assert len(refused) == len(ROLE_CASES), json.dumps(results)[-3000:]
    assert len(failed) == len(ROLE_CASES), [r['_task'] for r in failed]
    for (role, over, var), r in zip(ROLE_CASES, failed):
        text = json.dumps(r)
        msg = r.get('msg', '') if isinstance(r.get('msg'), str) else text
        assert var in msg, (over, msg)
        # refused by argument_specs or the role's first checks, never by a command
        assert ' : Check' in r.get('_task', '') or 'argument' in text.lower() \
            or 'Validating' in text, (over, r.get('_task'), text[-800:])
        assert _SECRET not in text and 'Mutual;' not in text and 'Aa1$' not in text
    assert not any(r.get('changed') for r in results)
    assert not os.path.exists(MARKER)
    assert _tree(tmp) == before
