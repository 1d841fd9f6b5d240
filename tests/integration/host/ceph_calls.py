# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count the librados/librbd calls the RBD driver makes (host tier and bench/rbd_bench.py).

``counting()`` swaps the ``rados`` and ``rbd`` modules the driver files see for proxies:
every call on a ``Rados``, ``Ioctx``, ``RBD``, ``Image`` or ``Group`` object (and opening an
``Image`` or ``Group``) is counted as ``Class.method``, then passed to the real binding with
the real objects.  Exceptions, constants and op contexts are the real ones.  In-process
module runs only (``support.run_module``); nothing is patched below the Python binding.
"""

import collections
import contextlib
import threading

WRAPPED = ('Rados', 'Ioctx', 'RBD', 'Image', 'Group')
OPENED = ('Image', 'Group')     # opening one is a cluster call


class Calls(object):
    def __init__(self):
        self.counts = collections.Counter()
        self._lock = threading.Lock()

    def add(self, what):
        with self._lock:
            self.counts[what] += 1

    @property
    def total(self):
        return sum(self.counts.values())

    def of(self, cls):
        return sum(n for k, n in self.counts.items() if k.startswith(cls + '.'))


def _unwrap(args, kwargs):
    return ([a._real if isinstance(a, _Obj) else a for a in args],
            dict((k, v._real if isinstance(v, _Obj) else v) for k, v in kwargs.items()))


class _Obj(object):
    """One real binding object; each method call counted."""

    def __init__(self, real, cls, calls, modules):
        self._real, self._cls, self._calls, self._modules = real, cls, calls, modules

    def _wrap(self, value):
        for mod in self._modules:
            for cls in WRAPPED:
                real_cls = getattr(mod, cls, None)
                if isinstance(real_cls, type) and isinstance(value, real_cls):
                    return _Obj(value, cls, self._calls, self._modules)
        return value

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self._calls.add('%s.%s' % (self._cls, name))
            a, k = _unwrap(args, kwargs)
            return self._wrap(attr(*a, **k))
        return call

    def __enter__(self):
        self._real.__enter__()
        return self

    def __exit__(self, *exc):
        self._calls.add('%s.close' % self._cls)
        return self._real.__exit__(*exc)


class _Module(object):
    """Stands for the ``rados`` or ``rbd`` module."""

    def __init__(self, real, calls, modules):
        self._real, self._calls, self._modules = real, calls, modules

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if name not in WRAPPED:
            return attr
        calls, modules = self._calls, self._modules

        def make(*args, **kwargs):
            if name in OPENED:
                calls.add('%s.open' % name)
            a, k = _unwrap(args, kwargs)
            return _Obj(attr(*a, **k), name, calls, modules)
        return make


@contextlib.contextmanager
def counting(calls=None):
    """Yield a ``Calls`` that sees every binding call of the RBD driver and its Ceph client."""
    from ansible_collections.cinderkit.storage.plugins.module_utils.drivers import _ceph, _rbd
    calls = calls or Calls()
    real_rados, real_rbd = _ceph.rados, _ceph.rbd
    modules = (real_rados, real_rbd)
    fake_rados = _Module(real_rados, calls, modules)
    fake_rbd = _Module(real_rbd, calls, modules)
    saved = [(m, n, getattr(m, n)) for m in (_ceph, _rbd) for n in ('rados', 'rbd')]
    for m in (_ceph, _rbd):
        m.rados, m.rbd = fake_rados, fake_rbd
    try:
        yield calls
    finally:
        for m, n, v in saved:
            setattr(m, n, v)
