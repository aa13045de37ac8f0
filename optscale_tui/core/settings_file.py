"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.clients.claude_code.schema import OWNED_ENV_KEYS as OWNED_ENV_KEYS
from optscale_tui.core.clients.claude_code.schema import SAVED_AS as SAVED_AS
from optscale_tui.core.clients.claude_code.schema import StoredValues as StoredValues
from optscale_tui.core.clients.claude_code.schema import plan_apply as plan_apply
from optscale_tui.core.clients.claude_code.schema import plan_env_edit as plan_env_edit
from optscale_tui.core.clients.claude_code.schema import plan_remove as plan_remove
from optscale_tui.core.clients.claude_code.schema import stored_values as stored_values
from optscale_tui.core.config.diff import _masked_diff as _masked_diff
from optscale_tui.core.config.errors import SettingsChangedOnDisk as SettingsChangedOnDisk
from optscale_tui.core.config.errors import SettingsError as SettingsError
from optscale_tui.core.config.errors import SettingsReadOnly as SettingsReadOnly
from optscale_tui.core.config.errors import SettingsWriteError as SettingsWriteError
from optscale_tui.core.config.files import MAX_SETTINGS_BYTES as MAX_SETTINGS_BYTES
from optscale_tui.core.config.files import is_read_only as is_read_only
from optscale_tui.core.config.files import read_regular_file as read_regular_file
from optscale_tui.core.config.files import regular_file_digest as regular_file_digest
from optscale_tui.core.config.plan import PlannedChange as PlannedChange
from optscale_tui.core.config.plan import SettingsDocument as SettingsDocument
from optscale_tui.core.config.plan import SettingsPlan as SettingsPlan
from optscale_tui.core.config.plan import load_settings as load_settings
from optscale_tui.core.config.plan import plan_top_level_edit as plan_top_level_edit
from optscale_tui.core.config.store import BACKUP_DIR_NAME as BACKUP_DIR_NAME
from optscale_tui.core.config.store import Backup as Backup
from optscale_tui.core.config.store import BackupStore as BackupStore
from optscale_tui.core.config.store import SaveResult as SaveResult
from optscale_tui.core.config.store import save_plan as save_plan
