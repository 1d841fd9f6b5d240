# -*- coding: utf-8 -*-
"""The source of the clone benches: random data spread over a volume or file."""

import os

MiB = 1024 ** 2
GiB = 1024 ** 3
# the source's shape, the same for every clone bench: CLONE_GB in all, CLONE_WRITTEN of it data
SIZE = int(float(os.environ.get('CLONE_GB', '4')) * GiB)
WRITTEN = float(os.environ.get('CLONE_WRITTEN', '0.10'))


def write_spread(path, size, fraction):
    """1 MiB of random data every 1/``fraction`` MiB across the first ``size`` bytes of
    ``path`` (a block device or a file), fsynced; returns the bytes written."""
    step = int(MiB / fraction)
    chunk = os.urandom(MiB)
    fd = os.open(path, os.O_WRONLY)
    written = 0
    try:
        for off in range(0, size, step):
            os.pwrite(fd, chunk, off)
            written += MiB
        os.fsync(fd)
    finally:
        os.close(fd)
    return written
