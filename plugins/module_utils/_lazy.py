# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deferred imports: a module's code runs when one of its attributes is first read.

oslo.config imports ``rfc3986``, ``netaddr`` and ``stevedore`` when it is imported, and uses
them only when a URI or IP address option is checked or a configuration-source driver is
loaded.  ``rfc3986`` alone compiles its regular expressions at import: about 50 ms of the
80 ms oslo.config takes to import on a fast host, and a second or more per task in a TCG
guest.  Every module task pays that import (AnsiballZ starts a new Python), most never use
them.  ``defer`` puts a stand-in for such a module in ``sys.modules``: the import statements
succeed at once and the real module is imported, in full, when one of its attributes is first
read.  Nothing else changes: an installed module is the same module, a missing one is left to
fail where it is imported.  (The standard library's ``importlib.util.LazyLoader`` does not do
here: on Python 3.11 the next ``import`` statement of the module already loads it.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import sys
import threading
import types

# Re-entrant: the real import of one deferred module may read another deferred module (or the
# same one, through a circular import); a plain lock would deadlock there.
_LOCK = threading.RLock()


class _Deferred(types.ModuleType):
    """Stands in ``sys.modules`` for a module not imported yet; the first attribute it does
    not have itself imports the real module (which then takes its place in ``sys.modules``)
    and is read from it from then on."""

    def __init__(self, name, spec):
        super(_Deferred, self).__init__(name)
        self.__spec__ = spec          # the import system reads it without loading anything
        self.__loader__ = spec.loader
        self.__file__ = getattr(spec, 'origin', None)
        self._ck_real = None

    def _ck_load(self):
        with _LOCK:
            if self._ck_real is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                self._ck_real = importlib.import_module(self.__name__)
        return self._ck_real

    def __getattr__(self, attr):
        if attr == '_ck_real':
            raise AttributeError(attr)
        return getattr(self._ck_load(), attr)


def defer(*names):
    """Put a stand-in for each top-level module of ``names`` in ``sys.modules``, unless it is
    imported already or cannot be found (then its own import statement behaves as before).
    Returns the names deferred."""
    done = []
    find_spec = getattr(getattr(importlib, 'util', None), 'find_spec', None)
    if find_spec is None:  # pragma: no cover - Python 2
        return done
    for name in names:
        if '.' in name or name in sys.modules:
            continue
        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        sys.modules[name] = _Deferred(name, spec)
        done.append(name)
    return done
