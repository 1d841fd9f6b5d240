# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data movement: wipe, device copy, image <-> device, through one runner.

* Wipes prefer the kernel's zero-out (``blkdiscard -z``, BLKZEROOUT) and fall
  back to ``dd`` with ``volume_dd_blocksize``.
* Copies use ``qemu-img convert``: it detects zero runs in the source and
  either skips them (a target known to read zeros, e.g. a new thin LV) or
  turns them into write-zeroes requests, so zeros and holes are not copied
  as data.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import (
    CinderkitError, CommandFailed, InvalidParameter, MissingDependency)
from ansible_collections.cinderkit.storage.plugins.module_utils import _inuse

PACKAGES = {'qemu-img': 'qemu-utils (Debian) / qemu-img (RHEL)', 'blkdiscard': 'util-linux',
            'dd': 'coreutils', 'ionice': 'util-linux'}
IMAGE_FORMATS = ('raw', 'qcow2', 'vmdk')
URL_RE = re.compile(r'^(https?|ftps?)://', re.I)


def _ionice(ionice):
    return ['ionice'] + ionice.split() if ionice else []


def parse_blocksize(bs):
    m = re.match(r'^\s*(\d+)\s*([kKmMgG]?)\s*$', str(bs))
    if not m or int(m.group(1)) == 0:
        raise InvalidParameter('backend.volume_dd_blocksize', 'invalid block size %r' % (bs,),
                               'use a number with an optional K, M or G suffix, e.g. 1M')
    mult = {'': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3}[m.group(2).lower()]
    return int(m.group(1)) * mult


def zero_device(runner, path, size, blocksize='1M', ionice=None, hold=None):
    """Overwrite the first ``size`` bytes of ``path`` with zeros; 'blkdiscard' or 'dd'.

    The kernel's zero-out first: ``blkdiscard`` opens the device O_EXCL itself
    (util-linux >= 2.36), so nothing can mount it meanwhile.  Where it cannot run
    (not installed, no exclusive open: a CoW device its snapshot's table claims),
    ``dd`` writes the zeros while ``hold`` (a device path, default ``path``) is
    held O_EXCL here, unless ``hold`` is False.
    """
    runner.packages.update(PACKAGES)
    bs = parse_blocksize(blocksize)
    try:
        res = runner.run(_ionice(ionice) + ['blkdiscard', '--zeroout', '--length', str(size), path],
                         write=True, check=False)
        if res.ok:
            return 'blkdiscard'
    except MissingDependency:
        pass
    argv = _ionice(ionice) + ['dd', 'if=/dev/zero', 'of=%s' % path, 'bs=%d' % bs,
                              'count=%d' % size, 'iflag=count_bytes', 'oflag=direct',
                              'conv=fdatasync', 'status=none']
    if hold is False or runner.check_mode:
        runner.run(argv, write=True)
    else:
        with _inuse.exclusive(hold or path, path):
            runner.run(argv, write=True)
    return 'dd'


def copy_device(runner, src, dst, size, target_is_zero=False, timeout=None):
    """Copy ``src`` (raw) to the existing device ``dst``, sparse-aware (at most ``timeout`` s)."""
    runner.packages.update(PACKAGES)
    argv = ['qemu-img', 'convert', '-n', '-f', 'raw', '-O', 'raw', '-t', 'none', '-T', 'none']
    if target_is_zero:
        argv.append('--target-is-zero')
    argv += [src, dst]
    runner.run(argv, write=True, timeout=timeout)


def inspect_image(runner, location, fmt='auto', param='source.image', timeout=None,
                  staging=None):
    """qemu-img info of an image file or URL; refuse what is unsafe or unsupported.

    A URL is fetched first into a staging file under ``staging`` (``_fetch.py``: qemu-img's
    curl driver can hang); the result's ``location`` is that file and ``staged`` names it for
    the caller to remove.  ``timeout`` bounds the fetch and each ``qemu-img info``."""
    runner.packages.update(PACKAGES)
    is_url = bool(URL_RE.match(location))
    url = None
    if is_url:
        from ansible_collections.cinderkit.storage.plugins.module_utils import _fetch
        url, location = location, _fetch.fetch(location, staging or '/var/tmp', param, timeout)
        try:
            info = inspect_image(runner, location, fmt, param, timeout)
        except BaseException:
            os.unlink(location)
            raise
        info.update(url=url, staged=location, is_url=True)
        return info
    if not is_url:
        if not os.path.exists(location):
            raise InvalidParameter(param, 'image %s does not exist' % location,
                                   'give the path of an existing image file or an http(s) URL')
        if os.path.isdir(location):
            raise InvalidParameter(param, 'image %s is a directory' % location,
                                   'give the path of an image file')
    if fmt not in ('auto',) + IMAGE_FORMATS:
        raise InvalidParameter('source.format', 'unsupported format %r' % fmt,
                               'use one of: auto, %s' % ', '.join(IMAGE_FORMATS))
    argv = ['qemu-img', 'info', '--output', 'json']
    if fmt != 'auto':
        argv += ['-f', fmt]
    argv.append(location)
    res = runner.run(argv, check=False, timeout=timeout)
    if not res.ok and fmt != 'auto':
        probe = runner.run(['qemu-img', 'info', '--output', 'json', location], check=False,
                           timeout=timeout)
        if probe.ok:
            try:
                actual = json.loads(probe.stdout).get('format')
            except ValueError:
                actual = None
            if actual and actual != fmt:
                raise InvalidParameter('source.format', 'image %s is %s, not %s' % (location, actual, fmt),
                                       'set format: %s or format: auto' % actual)
    if not res.ok:
        raise InvalidParameter(param, 'qemu-img cannot read %s: %s' % (location, res.stderr.strip()),
                               'check the path/URL and the format')
    try:
        info = json.loads(res.stdout)
    except ValueError:
        raise CinderkitError('cannot parse qemu-img info output for %s' % location)
    detected = info.get('format')
    if detected not in IMAGE_FORMATS:
        raise InvalidParameter(param, 'image %s has format %r, which is not supported'
                               % (location, detected), 'convert it to one of: %s' % ', '.join(IMAGE_FORMATS))
    if fmt != 'auto' and detected != fmt:
        raise InvalidParameter('source.format', 'image %s is %s, not %s' % (location, detected, fmt),
                               "set format: %s or format: auto" % detected)
    if info.get('backing-filename') or info.get('full-backing-filename'):
        raise InvalidParameter(param, 'image %s has a backing file (%s); refusing it'
                               % (location, info.get('backing-filename')),
                               'flatten it first: qemu-img convert -O qcow2 IN OUT')
    if info.get('encrypted'):
        raise InvalidParameter(param, 'image %s is encrypted' % location, 'decrypt it first')
    return dict(location=location, format=detected, virtual_size=int(info['virtual-size']),
                actual_size=info.get('actual-size'), is_url=is_url)


def image_to_device(runner, image, dst, target_is_zero=False, timeout=None):
    runner.packages.update(PACKAGES)
    argv = ['qemu-img', 'convert', '-n', '-f', image['format'], '-O', 'raw', '-t', 'none']
    if target_is_zero:
        argv.append('--target-is-zero')
    argv += [image['location'], dst]
    runner.run(argv, write=True, timeout=timeout)


def image_matches(runner, path, fmt, size_bytes):
    """(True, info) if ``path`` exists as ``fmt`` with virtual size ``size_bytes``."""
    if not os.path.isfile(path):
        return False, None
    res = runner.run(['qemu-img', 'info', '--output', 'json', '-f', fmt, path], check=False)
    if not res.ok:
        return False, None
    try:
        info = json.loads(res.stdout)
    except ValueError:
        return False, None
    ok = info.get('format') == fmt and int(info.get('virtual-size', -1)) == int(size_bytes)
    return ok, info


def device_to_image(runner, src, image, timeout=None):
    """Write ``src`` to image['path'] (raw/qcow2), atomically through a temp file."""
    runner.packages.update(PACKAGES)
    path = image['path']
    tmp = '%s.cinderkit-tmp' % path
    argv = ['qemu-img', 'convert', '-f', 'raw', '-O', image['format'], '-T', 'none']
    if image.get('compress'):
        argv.append('-c')
    argv += [src, tmp]
    try:
        runner.run(argv, write=True, timeout=timeout)
        if not runner.check_mode:
            os.chmod(tmp, image.get('mode', 0o600))
            os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


__all__ = ['CommandFailed']
