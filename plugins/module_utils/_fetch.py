# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An image URL, fetched into a staging file before anything reads it (Cinder's fetch_to_raw).

qemu-img's curl driver (QEMU 7.2) can lose track of its sockets and wait forever on an idle
main loop (seen here: ``ppoll`` on its eventfds only, every HTTP connection idle).  So an
image URL is read once, by this process, into a 0600 file under ``image_conversion_dir``
(Cinder's option), and qemu-img reads that file.  The read ends when the server sends no
byte for ``stall`` seconds, or when the whole fetch passes ``timeout``.  Zero blocks are
skipped on write, so the staging file holds only the image's data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import tempfile
import time

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter

CHUNK = 1024 * 1024
STALL = 60          # s without a byte from the server
ZERO = bytes(CHUNK)


def fetch(url, directory, param, timeout=None, stall=STALL):
    """Path of a staging file with the bytes of ``url`` (the caller removes it)."""
    import urllib.error
    from ansible.module_utils.urls import ConnectionError as UrlConnectionError
    from ansible.module_utils.urls import SSLValidationError, open_url
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, path = tempfile.mkstemp(prefix='.cinderkit-image-', dir=directory)
    deadline = time.time() + timeout if timeout else None
    try:
        os.fchmod(fd, 0o600)
        total = 0
        with open_url(url, timeout=min(stall, timeout or stall), http_agent='cinderkit.storage',
                      follow_redirects='safe') as resp:
            length = resp.headers.get('Content-Length')
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                if chunk == ZERO[:len(chunk)]:
                    os.lseek(fd, len(chunk), os.SEEK_CUR)       # a hole, not a write
                else:
                    os.write(fd, chunk)
                total += len(chunk)
                if deadline is not None and time.time() > deadline:
                    raise InvalidParameter(param, 'fetching %s took longer than copy_timeout '
                                           '(%d s); stopped after %d bytes' % (url, timeout, total),
                                           'raise the backend option copy_timeout, or use a '
                                           'closer copy of the image')
        os.ftruncate(fd, total)
        if length is not None and length.isdigit() and int(length) != total:
            raise InvalidParameter(param, 'the server sent %d of the %s bytes of %s'
                                   % (total, length, url), 'check the server and try again')
        return path
    except (socket.timeout, TimeoutError) as exc:
        _drop(path)
        raise InvalidParameter(param, 'fetching %s timed out: no data for %d seconds (%s)'
                               % (url, min(stall, timeout or stall), exc),
                               'check that the server answers; copy_timeout bounds the wait')
    except (urllib.error.URLError, UrlConnectionError, SSLValidationError, OSError,
            ValueError) as exc:
        _drop(path)
        raise InvalidParameter(param, 'cannot fetch %s: %s' % (url, getattr(exc, 'reason', exc)),
                               'check the URL and that this host reaches it')
    except BaseException:
        _drop(path)
        raise
    finally:
        os.close(fd)


def _drop(path):
    try:
        os.unlink(path)
    except OSError:
        pass
