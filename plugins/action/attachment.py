# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for cinderkit.storage.attachment: keep connection_info secrets out of all output.

The module never returns the CHAP secrets or keyring keys of ``connection_info``.  It
cannot mask them when Ansible refuses the task's arguments before the module's code runs
(an unknown option, a bad ``state``): this plugin masks every such secret anywhere in the
result, on the controller.  See plugins/plugin_utils/_masking.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.plugin_utils._masking import MaskingAction


class ActionModule(MaskingAction):
    MODULE = 'cinderkit.storage.attachment'
