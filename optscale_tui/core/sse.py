"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.gateway.sse import ServerSentEvent as ServerSentEvent
from optscale_tui.core.gateway.sse import SSEDecoder as SSEDecoder
from optscale_tui.core.gateway.sse import SSEError as SSEError
