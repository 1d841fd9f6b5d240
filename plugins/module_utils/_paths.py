# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File paths and image locations given by users: checked before anything reads or writes.

A path must be absolute and normalised (no ``.``/``..`` parts, no doubled ``/``): a
relative one would be taken from the module's temporary working directory, and a
``..`` hides what is really read or written.  No NUL bytes or other control
characters (no file name can hold a NUL; a newline breaks every log and listing).
An image source is such a path or an http(s)/ftp(s) URL (what qemu-img can read).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.cinderkit.storage.plugins.module_utils._errors import InvalidParameter

URL_RE = re.compile(r'^(https?|ftps?)://[^\s/?#]+', re.I)
SCHEME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:')
CONTROL_RE = re.compile(r'[\x00-\x1f\x7f]')


def path_problem(path):
    """Why ``path`` is not an absolute, normalised file path, or None."""
    if not isinstance(path, str) or not path:
        return 'must be a non-empty path'
    if '\x00' in path:
        return 'the path contains a NUL byte'
    if CONTROL_RE.search(path):
        return 'the path %r contains a control character' % path
    if not path.startswith('/'):
        return 'the path %s is not absolute' % path
    norm = posixpath.normpath(path)
    if norm.startswith('//'):
        norm = '/' + norm.lstrip('/')
    if norm != path:
        return 'the path %s is not normalised (it means %s)' % (path, norm)
    return None


def check_path(path, param):
    problem = path_problem(path)
    if problem:
        raise InvalidParameter(param, problem, 'give an absolute path without "." or ".." parts')
    return path


def check_image_source(value, param):
    """An image path (as check_path) or an http(s)/ftp(s) URL."""
    if isinstance(value, str) and SCHEME_RE.match(value) and not value.startswith('/'):
        if not URL_RE.match(value):
            raise InvalidParameter(param, '%r is neither an absolute path nor an http(s) or ftp(s) URL'
                                   % value[:200], 'give the path of an image file or an http(s) URL')
        if CONTROL_RE.search(value) or ' ' in value:
            raise InvalidParameter(param, 'the URL contains a blank or a control character',
                                   'percent-encode it (%20)')
        return value
    return check_path(value, param)


def check_volume_paths(params):
    """The volume module's image sources and to_image.path, before any planning."""
    sources = [('source', params.get('source'))]
    sources += [('volumes[%d].source' % i, v.get('source'))
                for i, v in enumerate(params.get('volumes') or [])]
    for param, src in sources:
        if src and src.get('image') is not None:
            check_image_source(src['image'], '%s.image' % param)
    if params.get('to_image'):
        check_path(params['to_image']['path'], 'to_image.path')
