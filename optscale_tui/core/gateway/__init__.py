"""The gateway: everything optscale-tui says to an OptScale AI LLM gateway and how it reads the answers."""

# --- TRANSITION SHIM start (issue 11): the old `optscale_tui.core.gateway` names; the lead's sweep rewrites imports
from optscale_tui.core.gateway.client import ANTHROPIC_VERSION as ANTHROPIC_VERSION
from optscale_tui.core.gateway.client import CLAUDE_CODE_BETAS as CLAUDE_CODE_BETAS
from optscale_tui.core.gateway.client import DEFAULT_PROMPT as DEFAULT_PROMPT
from optscale_tui.core.gateway.client import USER_AGENT as USER_AGENT
from optscale_tui.core.gateway.client import Catalog as Catalog
from optscale_tui.core.gateway.client import GatewayClient as GatewayClient
from optscale_tui.core.gateway.client import ModelInfo as ModelInfo
from optscale_tui.core.gateway.client import ProbeResult as ProbeResult
from optscale_tui.core.gateway.client import ProbeTimings as ProbeTimings
from optscale_tui.core.gateway.client import cause_for_stream_error as cause_for_stream_error
from optscale_tui.core.gateway.client import classify_exception as classify_exception
from optscale_tui.core.gateway.client import classify_http_error as classify_http_error
from optscale_tui.core.gateway.client import collect_request_ids as collect_request_ids
from optscale_tui.core.gateway.client import describe_exception as describe_exception
from optscale_tui.core.gateway.client import server_message as server_message
# --- TRANSITION SHIM end
