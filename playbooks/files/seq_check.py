# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the records seq_writer.py left on DEVICE... (in the writer's order); print them as
JSON with whether they form a crash-consistent cut: non-increasing, first - last <= 1."""

import json
import mmap
import os
import re
import sys


def read(dev):
    buf = mmap.mmap(-1, 4096)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    try:
        os.preadv(fd, [buf], 0)
    finally:
        os.close(fd)
    m = re.match(rb'CKSEQ (\d{20})\n', bytes(buf[:27]))
    return int(m.group(1)) if m else None


def main(devices):
    seqs = [read(d) for d in devices]
    ok = None not in seqs and all(a >= b for a, b in zip(seqs, seqs[1:])) and seqs[0] - seqs[-1] <= 1
    print(json.dumps(dict(seqs=seqs, consistent=ok)))


if __name__ == '__main__':
    main(sys.argv[1:])
