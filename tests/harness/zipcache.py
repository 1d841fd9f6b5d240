# cinderkit test harness (tests/harness/vm.sh): a bytecode cache for Python code imported from
# zip files, appended to the guest's sitecustomize.py (the guest only; the host never runs it).
#
# Why: an Ansible module runs from its AnsiballZ payload, a zip holding ansible.module_utils and
# the collection's module_utils as source only. Python compiles every one of those files again
# in every task; under TCG that was about 4 s of a 12-14 s task. Here the first task compiles
# a file and stores the code object; a later task with byte-identical source (same path in the
# zip, same Python magic number and optimisation level) loads it instead. Nothing else changes:
# the code runs from the same payload, with its own file names (co_filename is set to the
# current payload's path). CK_ZIPCACHE=0 in the guest's environment turns it off.
def _ck_zipcache():
    import _imp
    import marshal
    import os
    import sys
    import zipimport
    ext = sys.modules.get('_frozen_importlib_external')
    compile_source = getattr(zipimport, '_compile_source', None)
    if ext is None or compile_source is None or os.environ.get('CK_ZIPCACHE') == '0':
        return
    root = os.path.join(os.environ.get('CK_ZIPCACHE_DIR', '/var/tmp/ck-zipcache'),
                        '%s-O%d' % (ext.MAGIC_NUMBER.hex(), sys.flags.optimize))
    code_type = type(_ck_zipcache.__code__)

    def retarget(code, path):
        consts = tuple(retarget(c, path) if isinstance(c, code_type) else c for c in code.co_consts)
        return code.replace(co_filename=path, co_consts=consts)

    def cached(pathname, source):
        inner = pathname.split('.zip' + os.sep, 1)[-1].replace(os.sep, '%')
        key = '%s.%s.%d' % (inner, _imp.source_hash(ext._RAW_MAGIC_NUMBER, source).hex(), len(source))
        path = os.path.join(root, key)
        try:
            with open(path, 'rb') as fh:
                code = marshal.loads(fh.read())
        except (OSError, ValueError, EOFError, TypeError):
            code = compile_source(pathname, source)
            try:
                os.makedirs(root, exist_ok=True)
                tmp = '%s.%d' % (path, os.getpid())
                with open(tmp, 'wb') as fh:
                    fh.write(marshal.dumps(code))
                os.replace(tmp, path)
            except OSError:
                pass
            return code
        return code if code.co_filename == pathname else retarget(code, pathname)

    zipimport._compile_source = cached


_ck_zipcache()
del _ck_zipcache
