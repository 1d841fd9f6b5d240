# -*- coding: utf-8 -*-
"""Host tier: a task on the ``file`` driver changes files in-process, so ``commands`` cannot
show what it did; ``writes`` does, in order, and only for writes that happened."""

import os

from support import run_module


def test_writes_name_each_in_process_change_and_nothing_else(tmp_path):
    d = str(tmp_path / 'vols')
    b = dict(volume_driver='file', file_volume_dir=d)
    vols = [dict(name='wa', size='8M'), dict(name='wb', size='8M')]

    r = run_module('volume', dict(backend=b, volumes=vols), check=True)
    assert not r.failed and r.changed and 'writes' not in r, r      # check mode writes nothing

    r = run_module('volume', dict(backend=b, volumes=vols))
    assert not r.failed and r.changed, r
    assert r['writes'] == ['created %s' % os.path.join(d, 'wa'), 'created %s' % os.path.join(d, 'wb')]
    assert all(os.path.isfile(os.path.join(d, v['name'])) for v in vols)

    r = run_module('volume', dict(backend=b, volumes=vols))
    assert not r.failed and not r.changed and 'writes' not in r, r  # nothing to do, nothing said

    r = run_module('volume', dict(backend=b, name='wa', state='absent'))
    assert not r.failed and r.changed, r
    assert r['writes'] == ['removed %s' % os.path.join(d, 'wa')]
    assert not os.path.exists(os.path.join(d, 'wa')) and os.path.isfile(os.path.join(d, 'wb'))
