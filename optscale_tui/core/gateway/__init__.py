"""The gateway: what optscale-tui says to an OptScale AI LLM gateway, and how it reads the answers.

client.py is the entry point (GatewayClient); see each module's docstring for its part.
"""

# --- TRANSITION SHIM start (issue 11): the old `optscale_tui.core.gateway` names, for code outside the package
# until the lead's sweep points it at the modules below. The caps (MAX_*) are deliberately not re-exported: a
# test patching one here would change nothing, so it must patch the module that reads it.
from optscale_tui.core.gateway.catalog import Catalog as Catalog
from optscale_tui.core.gateway.catalog import ModelInfo as ModelInfo
from optscale_tui.core.gateway.client import ANTHROPIC_VERSION as ANTHROPIC_VERSION
from optscale_tui.core.gateway.client import USER_AGENT as USER_AGENT
from optscale_tui.core.gateway.client import GatewayClient as GatewayClient
from optscale_tui.core.gateway.errors import cause_for_stream_error as cause_for_stream_error
from optscale_tui.core.gateway.errors import classify_exception as classify_exception
from optscale_tui.core.gateway.errors import classify_http_error as classify_http_error
from optscale_tui.core.gateway.errors import collect_request_ids as collect_request_ids
from optscale_tui.core.gateway.errors import describe_exception as describe_exception
from optscale_tui.core.gateway.errors import server_message as server_message
from optscale_tui.core.gateway.messages import CLAUDE_CODE_BETAS as CLAUDE_CODE_BETAS
from optscale_tui.core.gateway.messages import DEFAULT_PROMPT as DEFAULT_PROMPT
from optscale_tui.core.gateway.results import ProbeResult as ProbeResult
from optscale_tui.core.gateway.results import ProbeTimings as ProbeTimings
# --- TRANSITION SHIM end
