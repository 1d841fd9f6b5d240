# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors raised below the module layer.

Nothing under module_utils calls fail_json or exit_json.  Code raises one of
these; the module wrapper (_module.CinderkitModule.run) turns it into a single
fail_json with the message and whatever partial result the error carries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class CinderkitError(Exception):
    """Base error.  ``result`` holds partial results to report with it."""

    def __init__(self, msg, **result):
        super(CinderkitError, self).__init__(msg)
        self.msg = msg
        self.result = result

    def __str__(self):
        return self.msg


class InvalidParameter(CinderkitError):
    """Bad user input.  Always names the parameter and how to fix it."""

    def __init__(self, param, problem, fix=None, **result):
        msg = "parameter '%s': %s" % (param, problem)
        if fix:
            msg += "; %s" % fix
        super(InvalidParameter, self).__init__(msg, **result)
        self.param = param


class NotFound(CinderkitError):
    pass


class Conflict(CinderkitError):
    """The request clashes with existing state (in use, taken, has snapshots)."""


class NotSupported(CinderkitError):
    """A driver or helper does not declare the capability asked for."""


class MissingDependency(CinderkitError):
    """A Python library or system tool is not installed on the managed node."""

    def __init__(self, what, package, reason=None):
        msg = "%s is required but not available on this host; install %s" % (what, package)
        if reason:
            msg += " (%s)" % reason
        super(MissingDependency, self).__init__(msg)


class TargetUnavailable(CinderkitError):
    """The target daemon/subsystem cannot be reached (e.g. tgtd not running).

    Nothing can be exported live then; callers that only ask "is this volume
    exported?" may treat it as "no".
    """


class CommandFailed(CinderkitError):
    """An external command failed.  Secrets in its argv are already redacted."""

    def __init__(self, cmd, rc, stdout='', stderr='', msg=None):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        if msg is None:
            detail = (stderr or stdout or '').strip()
            msg = "command %s failed with exit code %s%s" % (
                ' '.join(cmd), rc, (': ' + detail) if detail else '')
        super(CinderkitError, self).__init__(msg)
        self.msg = msg
        self.result = dict(cmd=cmd, rc=rc, stdout=stdout, stderr=stderr)
