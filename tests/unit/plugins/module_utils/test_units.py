# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import _options, _paginate
from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CommandFailed, InvalidParameter)
from ansible_collections.cinderkit.storage.plugins.module_utils._lvm import name_problem
from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner, Secret
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import GiB, MiB, parse_size
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import load_backend
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers._lvm import (
    escape_snapshot, unescape_snapshot)


@pytest.mark.parametrize('value,expected', [
    (1, GiB), (10, 10 * GiB), ('10', 10 * GiB), ('512M', 512 * MiB), ('512MiB', 512 * MiB),
    ('1.5G', 1536 * MiB), ('2T', 2048 * GiB), ('1g', GiB),
])
def test_parse_size(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize('value', [0, -1, '0', '-5', 'ten', '1x', '', None, True, '0.1M', '1.0000001G'])
def test_parse_size_rejects(value):
    with pytest.raises(InvalidParameter) as e:
        parse_size(value, 'size')
    assert "parameter 'size'" in e.value.msg


@pytest.mark.parametrize('name', ['a', 'db01-data', 'x.y_z+1', 'A' * 127])
def test_names_ok(name):
    assert name_problem(name) is None


@pytest.mark.parametrize('name,word', [
    ('a;b', "';'"), ('a b', "' '"), ('../x', "'/'"), ('-x', 'start with "-"'), ('', 'non-empty'),
    ('snapshot1', 'reserved'), ('pvmove0', 'reserved'), ('x_tdata', 'reserved'), ('A' * 128, 'limit'),
    ('.', "'.'"), ('$(id)', "'$'"),
])
def test_names_refused(name, word):
    assert word in name_problem(name)


def test_snapshot_escaping_round_trips():
    assert escape_snapshot('snapshot-1') == '_snapshot-1'
    assert escape_snapshot('nightly') == 'nightly'
    assert unescape_snapshot(escape_snapshot('snapshot-1')) == 'snapshot-1'


def test_runner_redacts_secrets_and_skips_writes_in_check_mode():
    calls = []

    def executor(argv, env, stdin):
        calls.append(argv)
        return 1, b'', b'bad password hunter2hunter2'

    r = CommandRunner(executor=executor)
    r.add_secret('hunter2hunter2')
    with pytest.raises(CommandFailed) as e:
        r.run(['tgtadm', '--password', Secret('hunter2hunter2')], write=True)
    assert 'hunter2hunter2' not in e.value.msg and '<redacted>' in e.value.msg
    assert calls[0][-1] == 'hunter2hunter2'      # the real argv gets the secret
    assert 'hunter2hunter2' not in ' '.join(r.commands())
    c = CommandRunner(check_mode=True, executor=executor)
    res = c.run(['lvcreate', 'x'], write=True)
    assert res.skipped and len(calls) == 1


def test_runner_retries_reads_on_139_only():
    rcs = [139, 139, 0]

    def executor(argv, env, stdin):
        return rcs.pop(0), b'ok', b''
    r = CommandRunner(executor=executor)
    assert r.run(['lvs']).rc == 0
    rcs[:] = [139, 0]
    with pytest.raises(CommandFailed):
        r.run(['lvcreate', 'x'], write=True)


def test_runner_sets_c_locale():
    seen = {}

    def executor(argv, env, stdin):
        seen.update(env)
        return 0, b'', b''
    CommandRunner(executor=executor).run(['true'])
    assert seen['LC_ALL'] == 'C' and seen['LANG'] == 'C'


def test_backend_dict_defaults_are_cinders():
    cls, conf = load_backend({'volume_driver': 'lvm'})
    assert cls.name == 'lvm'
    assert conf.volume_group == 'cinder-volumes'
    assert conf.lvm_type == 'auto'
    assert conf.volume_clear == 'zero'
    assert conf.target_helper == 'tgtadm'
    assert conf.target_prefix == 'iqn.2010-10.org.openstack:'
    assert conf.target_port == 3260
    assert conf.max_over_subscription_ratio == '20.0'
    assert conf.volumes_dir == '/var/lib/cinder/volumes'
    assert conf.nvmet_port_id == 1 and conf.nvmet_ns_id == 10


def test_cinder_class_path_is_an_alias():
    cls = load_backend({'volume_driver': 'cinder.volume.drivers.lvm.LVMVolumeDriver'})[0]
    assert cls.name == 'lvm'
    cls = load_backend({})[0]
    assert cls.name == 'lvm'


def test_unknown_option_is_named():
    with pytest.raises(InvalidParameter) as e:
        load_backend({'volume_group': 'vg', 'lvm_typo': 'thin'})
    assert "'lvm_typo'" in e.value.msg


@pytest.mark.parametrize('opt,value,word', [
    ('lvm_type', 'fat', 'lvm_type'), ('reserved_percentage', 200, 'reserved_percentage'),
    ('volume_clear', 'shred', 'volume_clear'), ('target_port', 'x', 'target_port'),
])
def test_bad_option_values(opt, value, word):
    with pytest.raises(InvalidParameter) as e:
        load_backend({opt: value})
    assert word in e.value.msg


def test_unknown_driver():
    with pytest.raises(InvalidParameter) as e:
        load_backend({'volume_driver': 'nfs'})
    assert "backend.volume_driver" in e.value.msg and 'lvm' in e.value.msg


def test_config_file_section_with_backend_defaults(tmp_path):
    f = tmp_path / 'cinder.conf'
    f.write_text('[DEFAULT]\nmy_ip = 192.0.2.7\nenabled_backends = lvm1\n'
                 '[backend_defaults]\nreserved_percentage = 7\n'
                 '[lvm1]\nvolume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\n'
                 'volume_group = vg1\nlvm_type = thin\niscsi_secondary_ip_addresses = 10.0.0.1,10.0.0.2\n'
                 'volume_backend_name = LVM_iSCSI\nimage_volume_cache_enabled = True\n'
                 'chap_password = s3cr3t-s3cr3t\n')
    cls, conf = load_backend(config_file=str(f), backend_name='lvm1')
    assert conf.volume_group == 'vg1' and conf.lvm_type == 'thin'
    assert conf.reserved_percentage == 7
    assert conf.target_ip_address == '192.0.2.7'          # $my_ip from [DEFAULT]
    assert conf.target_secondary_ip_addresses == ['10.0.0.1', '10.0.0.2']  # deprecated name
    assert conf.ignored == ('image_volume_cache_enabled',)
    assert conf.secrets() == ['s3cr3t-s3cr3t']
    assert conf.as_dict()['chap_password'] == '<redacted>'
    with pytest.raises(InvalidParameter) as e:
        load_backend(config_file=str(f), backend_name='nope')
    assert 'lvm1' in e.value.msg


def test_paginate_like_cinder():
    entries = [{'reference': {'source-name': n}, 'size': s} for n, s in
               [('c', 3), ('a', 1), ('b', 2), ('d', 2)]]

    def names(es):
        return [e['reference']['source-name'] for e in es]

    assert names(_paginate.paginate(entries)) == ['a', 'b', 'c', 'd']
    assert names(_paginate.paginate(entries, sort_keys=['size', 'identifier'],
                                    sort_dirs=['desc', 'asc'])) == ['c', 'b', 'd', 'a']
    assert names(_paginate.paginate(entries, limit=2, offset=1)) == ['b', 'c']
    assert names(_paginate.paginate(entries, marker={'source-name': 'b'}, limit=1)) == ['c']
    with pytest.raises(InvalidParameter):
        _paginate.paginate(entries, marker={'source-name': 'zz'})
    with pytest.raises(InvalidParameter):
        _paginate.paginate(entries, sort_keys=['colour'])


def test_secret_options_are_marked():
    opts = dict((o.name, o) for o in _options.target_opts())
    assert opts['chap_password'].secret
