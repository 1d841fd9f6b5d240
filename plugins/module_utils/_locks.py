# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-wide locks between tasks (two plays at once on one host).

``host_lock(name, timeout)`` is a context manager around ``fcntl.flock`` on
``<lock dir>/<name>.lock`` (as Cinder does with oslo.concurrency around its
target tools):

* the lock directory is /run/lock/cinderkit, else /var/lock/cinderkit, else
  /tmp/cinderkit-locks (created mode 0700; a directory or file owned by
  another user, or a symlink, is refused);
* the wait is bounded: ``LockTimeout`` names the lock file when it runs out;
* re-entrant within one process (flock locks of two descriptors of one file
  exclude each other even in one process, so nested calls share one);
* released when the block ends, and by the kernel when the process dies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import os
import re
import stat
import time

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import Conflict

LOCK_DIRS = ('/run/lock/cinderkit', '/var/lock/cinderkit', '/tmp/cinderkit-locks')
DEFAULT_TIMEOUT = 300.0     # seconds; a 200-export task holds a target lock about 20 s

_HELD = {}                  # name -> [fd, depth, generation] for this process
_GENERATION = [0]


class LockTimeout(Conflict):
    """Another task held a host lock for longer than the wait allows."""

    def __init__(self, path, timeout):
        super(LockTimeout, self).__init__(
            'another task has held the host lock %s for more than %d s; wait for it to finish '
            '(or, if no cinderkit task runs on this host, check which process holds it: '
            'fuser %s)' % (path, timeout, path), lock_file=path)
        self.path = path


def lock_dir(candidates=None):
    """The first usable lock directory (created 0700 when missing)."""
    candidates = candidates or LOCK_DIRS
    last = None
    for d in candidates:
        parent = os.path.dirname(d)
        if not os.path.isdir(parent):
            continue
        try:
            os.mkdir(d, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                last = exc
                continue
        st = os.lstat(d)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            last = OSError('%s is not a directory owned by this user' % d)
            continue
        if os.access(d, os.W_OK | os.X_OK):
            return d
    raise Conflict('no usable lock directory (%s): %s' % (', '.join(candidates), last))


def lock_path(name):
    safe = re.sub(r'[^A-Za-z0-9._-]', '_', name)
    return os.path.join(lock_dir(), safe + '.lock')


def held(name):
    """Whether this process holds ``name``."""
    return name in _HELD


def generation(name):
    """An id of the current hold of ``name`` (None when not held): a view read under
    one hold is stale under the next."""
    entry = _HELD.get(name)
    return entry[2] if entry is not None else None


@contextlib.contextmanager
def host_lock(name, timeout=DEFAULT_TIMEOUT, poll=0.05):
    """Hold the host-wide lock ``name`` for the block (wait at most ``timeout`` s)."""
    entry = _HELD.get(name)
    if entry is not None:
        entry[1] += 1
        try:
            yield entry[0]
        finally:
            entry[1] -= 1
        return
    import fcntl
    path = lock_path(name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) |
                 getattr(os, 'O_CLOEXEC', 0), 0o600)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if time.time() >= deadline:
                raise LockTimeout(path, timeout)
            time.sleep(poll)
            poll = min(poll * 2, 0.5)
        _GENERATION[0] += 1
        _HELD[name] = [fd, 1, _GENERATION[0]]
        try:
            yield fd
        finally:
            _HELD.pop(name, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
