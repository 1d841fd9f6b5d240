# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for cinderkit.storage.discovery_auth: keep CHAP secrets out of all output.

The module returns the discovery credentials (initiators need them),
so it cannot let Ansible mask its secrets.  On success, when the task's arguments or the
result carry a secret, the whole result is censored in the output (``_ansible_no_log``,
also at ``-vvv``) and the registered variable keeps everything; on failure every known
secret anywhere in the result is replaced with ``********`` so the error stays readable.
See plugins/plugin_utils/_masking.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.plugin_utils._masking import MaskingAction


class ActionModule(MaskingAction):
    MODULE = 'cinderkit.storage.discovery_auth'
    HIDE_SUCCESS = True   # the result carries the discovery secrets for the initiators
