# -*- coding: utf-8 -*-
import pytest

from support import LoopVG, Play, tool_missing


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.fspath)
        if '/integration/host/' in path:
            item.add_marker(pytest.mark.host)
        elif '/integration/vm/' in path:
            item.add_marker(pytest.mark.vm)


@pytest.fixture
def loop_vg():
    """Factory: loop_vg(size_gb=20, activation=None, ...) -> LoopVG, removed after the test."""
    made = []

    def make(**kw):
        vg = LoopVG(**kw)
        made.append(vg)
        return vg
    yield make
    for vg in made:
        vg.close()


@pytest.fixture
def vg(loop_vg):
    """One 20 GiB VG (activation as this host allows)."""
    return loop_vg()


@pytest.fixture
def play(tmp_path):
    return Play(str(tmp_path))


@pytest.fixture
def need():
    """need('tgtd', 'tgtadm'): fail loudly (not skip) when a tool is missing."""
    def check(*tools):
        missing = tool_missing(*tools)
        if missing:
            pytest.fail('required tool(s) missing on this host: %s (make setup installs them)'
                        % ', '.join(missing))
    return check


@pytest.fixture
def ck(localhost):
    """ck('volume', backend=..., name=...) -> the module's result, run through Ansible."""
    def call(module, **args):
        res = getattr(localhost, 'cinderkit.storage.%s' % module)(**args)
        return dict(res['localhost'])
    return call
