# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for cinderkit.storage.group: keep backend secrets out of all output.

Every secret of the task's arguments (the backend's ``chap_password`` and any other
secret-named option) is masked anywhere in the result, also when the task fails before
the module loads the backend or in Ansible's argument checks.
See plugins/plugin_utils/_masking.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.plugin_utils._masking import MaskingAction


class ActionModule(MaskingAction):
    MODULE = 'cinderkit.storage.group'
