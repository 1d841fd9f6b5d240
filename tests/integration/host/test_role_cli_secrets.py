# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host tier: no CHAP secret on a command line while the target_helper role runs (tgt).

A sampler thread reads every ``/proc/*/cmdline`` every millisecond or so during the play and
keeps each command line that holds a secret. The play is the role's tgt path with a default
CHAP (``target_helper_default_chap``: published in the backend, no tgt command), a lost export
that the role's ``Ensure exports`` handler restores with its saved CHAP, and an export through
the role's backend. Discovery CHAP is refused for tgt (tests/integration/host/
test_role_target_helper.py); the LIO path (rtslib, no CLI) needs configfs, which this host
lacks: the VM tier runs it.

The one exception, stated rather than hidden: tgt takes an account's secret only on
``tgtadm --mode account --op new --user U --password P`` (tgtadm has no file or stdin input,
and ``tgt-admin`` builds that same tgtadm command line from its config file). A ``tgtadm`` shim
on PATH logs every tgtadm argv, so the test knows exactly which calls carried a secret (a
sampler can miss a process that lives a millisecond) and asserts that they are only those.
Negative control: a process started with the secret on its argv in the window is caught.
"""

import os
import shutil
import subprocess
import threading
import time

from support import run_module
from export_support import GOOD_IQN

DEFAULT = dict(username='storage-admin', password='Default-Secret-%d' % (os.getpid() % 100000))
SAVED = 'Saved-Secret-%d' % (os.getpid() % 100000)


class CmdlineSampler(threading.Thread):
    """Collects every process command line that holds one of ``secrets``, until stopped."""

    def __init__(self, secrets):
        super(CmdlineSampler, self).__init__(daemon=True)
        self.secrets = [s.encode() for s in secrets]
        self.hits = {}
        self.rounds = 0
        self._stop_event = threading.Event()

    def run(self):
        me = os.getpid()
        while not self._stop_event.is_set():
            for pid in os.listdir('/proc'):
                if not pid.isdigit() or int(pid) == me:
                    continue
                try:
                    with open('/proc/%s/cmdline' % pid, 'rb') as fh:
                        raw = fh.read()
                except OSError:
                    continue
                if any(s in raw for s in self.secrets):
                    self.hits[(pid, raw)] = [a.decode('utf-8', 'replace') for a in raw.split(b'\0') if a]
            self.rounds += 1
            time.sleep(0.001)

    def stop(self):
        self._stop_event.set()
        self.join(10)
        return list(self.hits.values())


def tgtadm_shim(directory):
    """A ``tgtadm`` first on PATH that logs its argv (NUL-separated, one call a line; 0600)."""
    real = shutil.which('tgtadm', path='/usr/sbin:/sbin:/usr/bin')
    log = os.path.join(directory, 'tgtadm-argv.log')
    shim = os.path.join(directory, 'tgtadm')
    with open(shim, 'w') as fh:
        fh.write('#!/bin/sh\numask 077\nprintf "%%s\\0" "$@" >> %s\necho >> %s\nexec %s "$@"\n'
                 % (log, log, real))
    os.chmod(shim, 0o700)
    return log


def secret_calls(log, secrets):
    if not os.path.exists(log):
        return []
    with open(log) as fh:
        calls = [line.rstrip('\n').split('\0')[:-1] for line in fh if line.strip()]
    return [c for c in calls if any(s in a for a in c for s in secrets)]


def is_account_new(argv, secret):
    """tgtadm [-C N] [--lld iscsi] --mode account --op new --user U --password SECRET."""
    args = argv[1:] if argv and os.path.basename(argv[0]) in ('tgtadm', 'sh') else argv
    if args and os.path.basename(args[0]) == 'tgtadm':
        args = args[1:]
    pairs = dict(zip(args[::2], args[1::2]))
    return (len(args) % 2 == 0 and pairs.get('--mode') == 'account' and pairs.get('--op') == 'new'
            and pairs.get('--password') == secret and set(pairs) <= {'-C', '--lld', '--mode', '--op',
                                                                     '--user', '--password'})


def role_tasks(env):
    v = dict(target_helper_name='tgtadm', target_helper_ip_address='127.0.0.1',
             target_helper_port=env.tgtd.port, target_helper_volumes_dir=env.volumes_dir,
             target_helper_install_packages=False, target_helper_manage_service=False,
             target_helper_tgt_control_port=env.tgtd.control,
             target_helper_tgt_conf_dir=str(env.dir / 'conf.d'),
             target_helper_systemd_dir=str(env.dir / 'systemd'),
             target_helper_default_chap=DEFAULT)
    return [
        {'name': 'target_helper', 'ansible.builtin.include_role':
         {'name': 'cinderkit.storage.target_helper'}, 'vars': v},
        {'name': 'run the handlers now', 'ansible.builtin.meta': 'flush_handlers'},
        {'name': 'export through the role backend', 'cinderkit.storage.export': {
            'backend': '{{ target_helper_backend }}', 'volume': 'vol2', 'device_path': env.file,
            'connector': {'initiator': GOOD_IQN}}, 'no_log': True},
    ]


def run_sampled(play, env, tasks, secrets, control=None):
    sampler = CmdlineSampler(secrets)
    sampler.start()
    proc = None
    try:
        if control:   # lives half a second while the play runs
            proc = subprocess.Popen(['sh', '-c', 'sleep 0.5', control])
        results = play.run(tasks, extra_env={'PATH': '%s:%s' % (env.dir, os.environ['PATH'])})
    finally:
        if proc is not None:
            proc.wait()
        hits = sampler.stop()
    assert sampler.rounds > 10, 'the sampler hardly ran'
    return results, hits


def test_no_secret_on_a_command_line_but_tgtadms_account_call(tgt_env, play):
    env = tgt_env
    os.makedirs(str(env.dir / 'conf.d'))
    log = tgtadm_shim(str(env.dir))
    # an export with its own CHAP, then tgtd loses it: the role's handler restores it
    res = run_module('export', dict(backend=env.backend, volume='vol1', device_path=env.file,
                                    connector=dict(initiator=GOOD_IQN),
                                    auth=dict(username='saved-user', password=SAVED)))
    assert not res.failed, res.get('msg')
    env.tgtd.restart()
    secrets = [DEFAULT['password'], SAVED]
    results, hits = run_sampled(play, env, role_tasks(env), secrets)
    failed = [r for r in results if r.get('_status') == 'failed']
    assert not failed, failed
    # the restore and the export made both accounts again, through tgtadm
    assert set(env.tgtd.accounts()) >= {'saved-user', DEFAULT['username']}
    calls = secret_calls(log, secrets)
    # exactly the two account calls carried a secret, each its own, nothing else of tgtadm's
    assert sorted(c[c.index('--user') + 1] for c in calls) == ['saved-user', 'storage-admin'], calls
    for c in calls:
        secret = c[c.index('--password') + 1]
        assert is_account_new(['tgtadm'] + c, secret), c
    # no other process (ansible-playbook, the module's Python, a shell) showed a secret
    others = [h for h in hits if not any(is_account_new(h, s) for s in secrets)]
    assert not others, others


def test_negative_control_the_sampler_catches_a_secret_on_argv(tgt_env, play):
    env = tgt_env
    os.makedirs(str(env.dir / 'conf.d'))
    tgtadm_shim(str(env.dir))
    canary = 'Canary-Secret-%d' % os.getpid()
    hits = run_sampled(play, env, role_tasks(env)[:1], [canary], control=canary)[1]
    assert ['sh', '-c', 'sleep 0.5', canary] in hits, hits
    assert not any(is_account_new(h, canary) for h in hits)
