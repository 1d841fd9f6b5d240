#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Demo of the export module (issue 4): export a volume with CHAP through Ansible,
read its bytes back through a real iSCSI initiator, print the connection_info.

Runs on this host with an isolated tgtd (own control port and portal) and a
file-backed LUN, so it needs neither device-mapper nor a system tgt service:

    .venv/bin/python tests/harness/demo_export.py

The CHAP secret is shown masked; the play's own output (ansible-playbook, at
any verbosity) never shows it.
"""

import json
import os
import shutil
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))

from support import Play, pattern  # noqa: E402
from export_support import GOOD_IQN, EVIL_IQN, TgtDaemon, backing_file, iscsi_login_ok, iscsi_read  # noqa: E402

MiB = 1024 ** 2


def main():
    work = tempfile.mkdtemp(prefix='ck-export-demo-')
    tgtd = TgtDaemon()
    try:
        data = pattern(2026, 4 * MiB)
        disk = backing_file(os.path.join(work, 'demo-vol.img'), 64 * MiB, data)
        backend = dict(tgt_control_port=tgtd.control, target_ip_address='127.0.0.1',
                       target_port=tgtd.port, volumes_dir=os.path.join(work, 'volumes'))
        dump = os.path.join(work, 'connection_info.json')
        print('[demo] tgtd on 127.0.0.1:%d (control port %d); volume file %s with 4 MiB of data'
              % (tgtd.port, tgtd.control, disk))
        results = Play(work).run([
            {'name': 'Export demo-vol with generated CHAP to one initiator',
             'cinderkit.storage.export': {'backend': backend, 'volume': 'demo-vol',
                                          'device_path': disk,
                                          'connector': {'initiator': GOOD_IQN, 'host': 'compute01'}},
             'register': 'exp'},
            {'name': 'Keep the connection info (0600)', 'no_log': True,
             'ansible.builtin.copy': {'dest': dump, 'mode': '0600',
                                      'content': '{{ exp.connection_info | to_json }}'}},
            {'name': 'Second run changes nothing', 'cinderkit.storage.export': {
                'backend': backend, 'volume': 'demo-vol', 'device_path': disk,
                'connector': {'initiator': GOOD_IQN}}, 'register': 'again'},
        ])
        print('[demo] play: %s' % ', '.join('%s=%s' % (r.get('_task', '?'), 'changed' if r.get('changed')
                                                       else 'ok') for r in results))
        info = json.load(open(dump))
        d = info['data']
        got = iscsi_read(tgtd.port, d['target_iqn'], d['auth_username'], d['auth_password'], len(data))
        print('[demo] read %d bytes through qemu-img (libiscsi) with CHAP: %s'
              % (len(got), 'IDENTICAL to the data written' if got == data else 'DIFFERENT'))
        wrong = iscsi_login_ok(tgtd.port, d['target_iqn'], d['auth_username'], 'Wrong-Secret-123')[0]
        other = iscsi_login_ok(tgtd.port, d['target_iqn'], d['auth_username'], d['auth_password'],
                               initiator=EVIL_IQN)[0]
        print('[demo] wrong secret: %s; initiator not in the ACL: %s'
              % ('LOGGED IN' if wrong else 'refused', 'LOGGED IN' if other else 'refused'))
        shown = dict(info, data=dict(d, auth_password='<%d characters, masked>' % len(d['auth_password'])))
        print('[demo] connection_info:')
        print(json.dumps(shown, indent=2, sort_keys=True))
        return 0 if (got == data and not wrong and not other) else 1
    finally:
        tgtd.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
