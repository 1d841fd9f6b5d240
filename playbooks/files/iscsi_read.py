# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read an iSCSI LUN as a given initiator, through libiscsi (qemu-img), and print its sha256.

A second "host" on the same machine: the initiator name is an argument of libiscsi, not of
the machine.  Everything comes from the environment (CK_PORTAL, CK_IQN, CK_LUN, CK_INITIATOR,
CK_USER, CK_PASS, CK_SIZE); the CHAP secret goes to qemu-img in a 0600 file, never on a
command line.  With CK_WRITE=1 it then tries one write through the same login and reports
whether the target refused it (JSON: sha256, write_refused).
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile


def main():
    env = os.environ
    host, port = env['CK_PORTAL'].rsplit(':', 1)
    d = tempfile.mkdtemp(prefix='ck-iscsi-')
    secret = os.path.join(d, 'secret')
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, env['CK_PASS'].encode())
    os.close(fd)
    opts = ('driver=iscsi,transport=tcp,portal=%s:%s,target=%s,lun=%s,user=%s,'
            'password-secret=sec0,initiator-name=%s'
            % (host, port, env['CK_IQN'], env['CK_LUN'], env['CK_USER'], env['CK_INITIATOR']))
    obj = 'secret,id=sec0,file=%s' % secret
    out = os.path.join(d, 'lun.raw')
    try:
        subprocess.run(['qemu-img', 'convert', '--object', obj, '--image-opts',
                        'driver=raw,file.' + opts.replace(',', ',file.'), '-O', 'raw', out],
                       check=True, timeout=300)
        h = hashlib.sha256()
        with open(out, 'rb') as fh:
            h.update(fh.read(int(env['CK_SIZE'])))
        res = dict(sha256=h.hexdigest())
        if env.get('CK_WRITE') == '1':
            w = subprocess.run(['qemu-io', '--object', obj, '--image-opts', opts, '-c',
                                'write -P 0x5a 0 4k'], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, timeout=120,
                               check=False)
            text = w.stdout
            res['write_refused'] = w.returncode != 0 or 'error' in text.lower() or \
                'failed' in text.lower()
            res['write_output'] = text[-500:]
        print(json.dumps(res))
    finally:
        for f in (secret, out):
            if os.path.exists(f):
                os.unlink(f)
        os.rmdir(d)


if __name__ == '__main__':
    sys.exit(main())
