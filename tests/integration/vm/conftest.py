# -*- coding: utf-8 -*-
"""VM tier fixtures: real device-mapper; modules run in-process (support.run_module)."""

import fcntl
import mmap
import os
import time

import pytest

if os.environ.get('CINDERKIT_PROFILE_DIR'):
    # vm-tier.sh sets it: time every command and module call (before run_module is imported)
    import cmdprofile
    _PROFILE = cmdprofile.install(os.environ['CINDERKIT_PROFILE_DIR'])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        cmdprofile.begin(item.nodeid)
        yield
        cmdprofile.end(_PROFILE)

    def pytest_sessionfinish(session):
        cmdprofile.dump()

from support import HAS_DM, LoopVG, run_module  # noqa: E402

MiB = 1024 ** 2
GiB = 1024 ** 3


@pytest.fixture(scope='module')
def kernel_targets():
    """One test file at a time owns LIO, nvmet and iscsid.

    They are kernel-wide (iscsid host-wide) state, and xdist may run two of the files that
    export and log in on two workers at once: one file's teardown could stop iscsid or take a
    shared nvmet port from under the other's live sessions. A file lock serialises those files
    (pytest 9 broke xdist's --dist loadgroup, which would otherwise keep them on one worker).
    """
    path = os.path.join(os.environ.get('CINDERKIT_TEST_WORKDIR') or '/tmp', 'kernel-targets.lock')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    t0 = time.monotonic()
    fcntl.flock(fd, fcntl.LOCK_EX)
    waited = time.monotonic() - t0
    if waited > 1:
        print('[kernel-targets] waited %.0f s for another test file to release LIO/nvmet/iscsid' % waited)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@pytest.fixture(autouse=True)
def _needs_device_mapper():
    if not HAS_DM:
        pytest.fail('this kernel has no device-mapper: run the VM tier with tests/harness/vm-tier.sh '
                    '(make vm), which boots a kernel that has it')


@pytest.fixture(scope='module')
def thick_vg():
    vg = LoopVG(size_gb=12, activation=True)
    yield vg
    vg.close()


@pytest.fixture(scope='module')
def thin_vg():
    """An empty VG: lvm_type auto makes the <vg>-pool thin pool on first use (Cinder)."""
    vg = LoopVG(size_gb=8, activation=True)
    yield vg
    vg.close()


def mod(module, **args):
    """Run a module in-process; fail the test with its message when it fails."""
    check = args.pop('_check', False)
    diff = args.pop('_diff', False)
    res = run_module(module, args, check=check, diff=diff)
    return res


def ok(module, **args):
    res = mod(module, **args)
    assert not res.get('failed'), '%s failed: %s' % (module, res.get('msg'))
    return res


def write_at(path, offset, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_at(path, offset, size):
    """Read with O_DIRECT so no stale page cache hides what is on disk."""
    buf = mmap.mmap(-1, size)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        n = os.preadv(fd, [buf], offset)
    finally:
        os.close(fd)
    assert n == size, (path, offset, size, n)
    return bytes(buf)


def device_size(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


# 64 MiB of seeded bytes in four 16 MiB pieces spread over a 128 MiB volume (the
# data tests use small volumes: every thick copy reads the whole volume, and
# emulated I/O runs at 20-40 MB/s)
VOL = 128 * MiB
OFFSETS = (0, 40 * MiB, 80 * MiB, VOL - 16 * MiB)
PIECE = 16 * MiB


def write_pattern(path, seed):
    from support import pattern
    data = pattern(seed, PIECE * len(OFFSETS))
    for i, off in enumerate(OFFSETS):
        write_at(path, off, data[i * PIECE:(i + 1) * PIECE])
    return data


def assert_pattern(path, data, what=''):
    for i, off in enumerate(OFFSETS):
        got = read_at(path, off, PIECE)
        assert got == data[i * PIECE:(i + 1) * PIECE], '%s: bytes differ at offset %d of %s' % (what, off, path)
