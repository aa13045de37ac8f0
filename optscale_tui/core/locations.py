"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.clients.claude_code.locations import Scope as Scope
from optscale_tui.core.clients.claude_code.locations import SettingsTarget as SettingsTarget
from optscale_tui.core.clients.claude_code.locations import claude_config_dir as claude_config_dir
from optscale_tui.core.clients.claude_code.locations import managed_settings_paths as managed_settings_paths
from optscale_tui.core.clients.claude_code.locations import resolve_target as resolve_target
from optscale_tui.core.clients.claude_code.locations import scope_path as scope_path
