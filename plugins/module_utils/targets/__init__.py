# -*- coding: utf-8 -*-
# Copyright: cinderkit.storage contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-helper registry entry point: importing it registers every helper."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cinderkit.storage.plugins.module_utils.targets._base import (  # noqa: F401
    REQUIRED_TARGET_METHODS, Target, get_target_class, register_target, registered_targets,
    storage_protocol_for, unimplemented_target)
