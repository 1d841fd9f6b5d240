# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A writer with an order to check: record N to each device in turn, then N+1, without pause.

usage: seq_writer.py STOPFILE DEVICE...   (runs until STOPFILE exists; prints the last N)

Each record is one 4 KiB block at offset 0 (O_DIRECT, O_DSYNC: written when pwrite returns).
A crash-consistent snapshot of all devices sees, in device order, records N, ..., N, N-1, ...,
N-1: never a later device ahead of an earlier one, never two apart (seq_check.py).
"""

import mmap
import os
import sys

BLOCK = 4096


def record(seq):
    buf = mmap.mmap(-1, BLOCK)
    buf.write(('CKSEQ %020d\n' % seq).encode().ljust(BLOCK, b'\0'))
    return buf


def main(stop, devices):
    fds = [os.open(d, os.O_WRONLY | os.O_DIRECT | os.O_DSYNC) for d in devices]
    seq = 0
    try:
        while not os.path.exists(stop):
            seq += 1
            buf = record(seq)
            for fd in fds:
                os.pwritev(fd, [buf], 0)
    finally:
        for fd in fds:
            os.close(fd)
    print(seq)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
