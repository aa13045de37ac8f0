"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.clients.claude_code.key_helper import MAX_OUTPUT_BYTES as MAX_OUTPUT_BYTES
from optscale_tui.core.clients.claude_code.key_helper import HelperOutcome as HelperOutcome
from optscale_tui.core.clients.claude_code.key_helper import run_api_key_helper as run_api_key_helper
