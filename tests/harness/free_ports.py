# -*- coding: utf-8 -*-
"""The first block of consecutive free TCP ports: for the test Ceph clusters' daemons.

As a module: ``free_block(start, size, addr='127.0.0.1')`` (tests/integration/host/ceph_fixtures.py).
As a script: ``free_ports.py ADDR START SIZE [START SIZE ...]`` prints one base per block
(tests/harness/vm-tier.sh, for the Ceph it starts on this host's own address).
"""

import socket
import sys


def free(port, addr='127.0.0.1'):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_block(start, size, addr='127.0.0.1', step=500, tries=40):
    """First base >= start where ``size`` consecutive ports are free."""
    for i in range(tries):
        base = start + i * step
        if all(free(p, addr) for p in range(base, base + size)):
            return base
    raise RuntimeError('no free block of %d ports from %d on %s' % (size, start, addr))


if __name__ == '__main__':
    args = sys.argv[2:]
    print(' '.join(str(free_block(int(a), int(n), sys.argv[1])) for a, n in zip(args[::2], args[1::2])))
