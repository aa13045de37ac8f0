"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.clients.claude_code.effective import ANTHROPIC_API_ORIGIN as ANTHROPIC_API_ORIGIN
from optscale_tui.core.clients.claude_code.effective import EffectiveConfig as EffectiveConfig
from optscale_tui.core.clients.claude_code.effective import EffectiveVariable as EffectiveVariable
from optscale_tui.core.clients.claude_code.effective import claude_resolved_model as claude_resolved_model
from optscale_tui.core.clients.claude_code.effective import display_value as display_value
from optscale_tui.core.clients.claude_code.effective import is_secret_variable as is_secret_variable
from optscale_tui.core.clients.claude_code.effective import key_home_url as key_home_url
from optscale_tui.core.clients.claude_code.effective import shown_origin as shown_origin
from optscale_tui.core.clients.claude_code.effective import unmapped_tiers as unmapped_tiers
from optscale_tui.core.clients.claude_code.effective import url_origin as url_origin
from optscale_tui.core.clients.claude_code.layers import FOLDER_LAYERS as FOLDER_LAYERS
from optscale_tui.core.clients.claude_code.layers import PRECEDENCE as PRECEDENCE
from optscale_tui.core.clients.claude_code.layers import Layer as Layer
from optscale_tui.core.clients.claude_code.layers import SettingsSource as SettingsSource
from optscale_tui.core.clients.claude_code.layers import same_file as _same_file  # noqa: F401 (renamed: now public)
from optscale_tui.core.clients.claude_code.models import (
    CLAUDE_CODE_BUILTIN_MODELS as CLAUDE_CODE_BUILTIN_MODELS,
)
from optscale_tui.core.clients.claude_code.schema import GATEWAY_ENV_KEYS as GATEWAY_ENV_KEYS
from optscale_tui.core.clients.claude_code.schema import TIER_VARIABLES as TIER_VARIABLES
from optscale_tui.core.clients.claude_code.schema import TOP_LEVEL_KEYS as TOP_LEVEL_KEYS
from optscale_tui.core.clients.claude_code.schema import VARIABLES_OF_INTEREST as VARIABLES_OF_INTEREST
from optscale_tui.core.diagnosis.doctor import inspect_environment as inspect_environment
from optscale_tui.core.diagnosis.findings import Finding as Finding
from optscale_tui.core.diagnosis.findings import Severity as Severity
