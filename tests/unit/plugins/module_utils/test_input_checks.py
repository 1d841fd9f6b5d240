# -*- coding: utf-8 -*-
"""Sizes, paths, option values and config files: bad input is a clear InvalidParameter."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter
from ansible_collections.cinderkit.storage.plugins.module_utils._options import (
    ionice_problem, raw_secrets)
from ansible_collections.cinderkit.storage.plugins.module_utils._paths import (
    check_image_source, path_problem)
from ansible_collections.cinderkit.storage.plugins.module_utils._sizes import GiB, parse_size
from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import load_backend


@pytest.mark.parametrize('value,word', [
    (float('nan'), 'finite'), (float('inf'), 'finite'), (1e30, '8 EiB'), (10 ** 400, '8 EiB'),
    ('9' * 400, 'finite'), ('+1', 'not a number'), ('1e30', 'not a number'), ([1], 'not a list'),
    ({'a': 1}, 'not a dict'), (False, 'not a number'), ('\u0661', 'not a number'),
])
def test_absurd_sizes(value, word):
    with pytest.raises(InvalidParameter) as e:
        parse_size(value, 'cow_size')
    assert "parameter 'cow_size'" in e.value.msg and word in e.value.msg
    assert len(e.value.msg) < 300


def test_sizes_still_parse():
    assert parse_size(1.5) == 1536 * 1024 ** 2 and parse_size('8M') == 8 * 1024 ** 2
    assert parse_size(8 * 1024 ** 3) == 8 * 1024 ** 3 * GiB


@pytest.mark.parametrize('path,word', [
    ('rel/x', 'not absolute'), ('/a/../b', 'not normalised'), ('/a//b', 'not normalised'),
    ('/a/', 'not normalised'), ('/a\x00b', 'NUL'), ('/a\nb', 'control'), ('', 'non-empty'),
])
def test_path_problems(path, word):
    assert word in path_problem(path)


def test_image_sources():
    assert check_image_source('https://example.org/a.qcow2', 'source.image')
    assert check_image_source('/srv/images/a.qcow2', 'source.image')
    for bad in ('file:///etc/passwd', 'gopher://x/y', 'http://h/a b', '../a.img'):
        with pytest.raises(InvalidParameter):
            check_image_source(bad, 'source.image')


@pytest.mark.parametrize('over,param,word', [
    (dict(target_port=float('inf')), 'backend.target_port', 'finite'),
    (dict(use_chap_auth=[1]), 'backend.use_chap_auth', 'not a list'),
    (dict(target_secondary_ip_addresses={'a': 1}), 'backend.target_secondary_ip_addresses', 'not a dict'),
    (dict(volume_group='a\x00b'), 'backend.volume_group', 'NUL'),
    (dict(volume_driver=['lvm']), 'backend.volume_driver', 'must be a string'),
    (dict(volume_clear_ionice='-c3 sh -c id'), 'backend.volume_clear_ionice', 'ionice'),
    (dict(volume_dd_blocksize='1;id'), 'backend.volume_dd_blocksize', 'block size'),
    (dict(volume_group='$(id)'), 'backend.volume_group', 'volume group name'),
    (dict(volume_group='-' * 3), 'backend.volume_group', 'volume group name'),
    (dict(lvm_conf_file='lvm.conf'), 'backend.lvm_conf_file', 'absolute'),
])
def test_option_value_shapes(over, param, word):
    with pytest.raises(InvalidParameter) as e:
        load_backend(dict(dict(volume_driver='lvm'), **over))
    assert "parameter '%s'" % param in e.value.msg and word in e.value.msg


def test_ionice_options_that_are_fine():
    for v in ('-c3', '-c 2 -n 7', '--class=idle', '-t -c1'):
        assert ionice_problem(v) is None


def test_secret_in_an_interpolation_error_is_not_echoed():
    with pytest.raises(InvalidParameter) as e:
        load_backend(dict(volume_driver='lvm', chap_password='Pa$word-9'))
    assert 'word' not in e.value.msg.replace('password', '') and '$$' in e.value.msg


def test_raw_secrets_of_a_backend_dict():
    found = raw_secrets(dict(chap_password='p1', rbd_secret_uuid='u', s3_secret_key='s', x_key=5,
                             volume_group='vg'))
    assert sorted(found) == ['5', 'p1', 's']


def test_config_file_errors_never_show_the_line(tmp_path):
    f = tmp_path / 'c.conf'
    f.write_text('[b]\nvolume_driver = lvm\nHidden-Secret-123\n')
    with pytest.raises(InvalidParameter) as e:
        load_backend(config_file=str(f), backend_name='b')
    assert 'line 3' in e.value.msg and 'Hidden-Secret-123' not in e.value.msg
    for path, word in ((str(tmp_path), 'is a directory'), (str(tmp_path / 'nope'), 'does not exist'),
                       ('/proc/self/mem', 'cannot read'), ('c.conf', 'not absolute')):
        with pytest.raises(InvalidParameter) as e:
            load_backend(config_file=path, backend_name='b')
        assert "parameter 'config_file'" in e.value.msg and word in e.value.msg
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    with pytest.raises(InvalidParameter) as e:
        load_backend(config_file=fifo, backend_name='b')
    assert 'not a regular file' in e.value.msg


@pytest.mark.parametrize('vg,name,word', [
    ('cinder-volumes', 'v' * 110, None),                # 'cinder--volumes-vvv...' = 126; LVM's 124
    ('cinder-volumes', 'a-' * 30 + 'b' * 50, 'device-mapper name of 156 bytes'),
    ('vg', 'a-' * 30 + 'b' * 60, 'device-mapper name'),  # 90 chars, 153 bytes with '-' doubled
    ('vg', 'v' * 122, None),                              # both limits just met
    ('a-b-c', 'x-' + 'v' * 117, 'device-mapper name of 128 bytes'),  # LVM's limit just met
    ('g' * 60, 'v' * 65, 'LVM takes at most 64'),         # LVM's own VG/LV limit
])
def test_lvm_name_limits(vg, name, word):
    from ansible_collections.cinderkit.storage.plugins.module_utils._runner import CommandRunner
    cls, config = load_backend(dict(volume_driver='lvm', volume_group=vg))
    drv = cls(config, CommandRunner())
    if word is None:
        drv.validate_name(name)
        return
    with pytest.raises(InvalidParameter) as e:
        drv.validate_name(name)
    assert "parameter 'name'" in e.value.msg and word in e.value.msg
