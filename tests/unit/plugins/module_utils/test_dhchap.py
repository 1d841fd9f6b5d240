# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHHC-1 secrets: what the kernel and nvme-cli accept, and what they refuse."""

import base64
import subprocess

import pytest

from ansible_collections.cinderkit.storage.plugins.module_utils import _dhchap as d

# printed by nvme-cli 2.3 'nvme gen-dhchap-key --hmac=M --key-length=L'
NVME_CLI = [
    'DHHC-1:00:IGGUkVtEZ7oMKVkzvl+E2vNVACenDSlu+/UDwc67tFz598W1:',
    'DHHC-1:01:r51257hKCwLQ/YmF6nNK9vdYCLNPGN+ME+Ep01Ub7ajqDpEi:',
    'DHHC-1:02:I0VdMdPp4muM2Y5Tkx5KFgrKC6l4dJU+pMCBG29WAMM7BVEUsflgd8q9vp4aRdsM+N4ByA==:',
    'DHHC-1:03:lp415kE42zTssVqO5vn/FaiUUibSAwhwuHJGs/8ofyxG4lVv63zAEkr21v/SacRN51LsA3hipVCRwWxjxYV9aRausWQ=:',
]


@pytest.mark.parametrize('secret', NVME_CLI)
def test_secrets_nvme_cli_printed_are_valid(secret):
    assert d.secret_problem(secret) is None


@pytest.mark.parametrize('hmac,length', [(0, 32), (0, 48), (0, 64), (1, 32), (2, 48), (3, 64)])
def test_nvme_cli_of_this_host_agrees(hmac, length):
    out = subprocess.check_output(['nvme', 'gen-dhchap-key', '--hmac=%d' % hmac,
                                   '--key-length=%d' % length,
                                   '--nqn', 'nqn.2014-08.org.nvmexpress:uuid:test']).decode()
    assert d.secret_problem(out.strip()) is None


def test_generated_secrets_are_valid_random_and_default_to_32_bytes():
    a, b = d.generate_secret(), d.generate_secret()
    assert a != b
    assert d.secret_problem(a) is None and a.startswith('DHHC-1:00:')
    assert len(base64.b64decode(a.split(':')[2])) == 36
    assert d.secret_problem(d.generate_secret(64)) is None


def _flip_crc(secret):
    head, tt, body, dummy = secret.split(':')
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    return '%s:%s:%s:' % (head, tt, base64.b64encode(bytes(raw)).decode())


@pytest.mark.parametrize('value,words', [
    ('', 'non-empty'),
    ('DHHC-2:00:abcd:', 'not a DHHC-1 secret'),
    ('DHHC-1:04:' + NVME_CLI[0].split(':')[2] + ':', 'not a DHHC-1 secret'),
    (NVME_CLI[0][:-1], 'not a DHHC-1 secret'),                  # no closing ':'
    ('DHHC-1:00:%%%%:', 'not a DHHC-1 secret'),
    ('DHHC-1:00:' + base64.b64encode(b'x' * 20).decode() + ':', '16-byte key'),
    ('DHHC-1:01:' + NVME_CLI[2].split(':')[2] + ':', 'transformation 01 needs a 32-byte key'),
    (_flip_crc(NVME_CLI[0]), 'wrong CRC-32'),
])
def test_bad_secrets_are_refused_without_showing_them(value, words):
    problem = d.secret_problem(value)
    assert problem and words in problem
    if len(value) > 12:
        assert value not in problem


def test_hash_dhgroup_and_host_auth_checks():
    assert d.hash_problem('hmac(sha256)') is None
    assert 'hmac(sha1)' in d.hash_problem('hmac(sha1)')
    assert d.dhgroup_problem('ffdhe2048') is None and d.dhgroup_problem('ffdhe1024')
    key = d.generate_secret()
    assert d.HostAuth(key).problems() == []
    fields = [f for f, dummy in d.HostAuth(key, key, 'md5', 'x').problems()]
    assert fields == ['ctrl_key', 'dhchap_hash', 'dhchap_dhgroup']
    assert key not in repr(d.HostAuth(key, d.generate_secret()))
    assert d.HostAuth(key).redacted()['host_key'] == '<redacted>'


def test_kernel_support_reads_host_dirs_then_symbols_then_config(tmp_path):
    hosts = tmp_path / 'hosts'
    (hosts / 'nqn.x').mkdir(parents=True)
    kall = tmp_path / 'kallsyms'
    kall.write_text('0 t nvmet_setup_auth\t[nvmet]\n')
    cfg = tmp_path / 'config'
    cfg.write_text('# CONFIG_NVME_TARGET_AUTH is not set\n')
    assert d.kernel_support(str(hosts), str(kall), str(cfg))[0] is False   # host dir wins
    (hosts / 'nqn.x' / 'dhchap_key').write_text('')
    assert d.kernel_support(str(hosts), str(kall), str(cfg))[0] is True
    assert d.kernel_support(str(tmp_path / 'none'), str(kall), str(cfg))[0] is True
    kall.write_text('0 t nvmet_execute_io\t[nvmet]\n')
    assert d.kernel_support(str(tmp_path / 'none'), str(kall), str(cfg))[0] is False
    kall.write_text('0 t other\n')
    assert d.kernel_support(str(tmp_path / 'none'), str(kall), str(cfg))[0] is False
    cfg.write_text('CONFIG_NVME_TARGET_AUTH=y\n')
    assert d.kernel_support(str(tmp_path / 'none'), str(kall), str(cfg))[0] is True
    assert d.kernel_support(str(tmp_path / 'none'), str(kall), str(tmp_path / 'no'))[0] is None
