"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.gateway.body import ACCEPT_ENCODING as ACCEPT_ENCODING
from optscale_tui.core.gateway.body import DECODE_STEP as DECODE_STEP
from optscale_tui.core.gateway.body import Body as Body
from optscale_tui.core.gateway.body import BodyDecoder as BodyDecoder
from optscale_tui.core.gateway.body import BodyEncodingError as BodyEncodingError
from optscale_tui.core.gateway.body import BodyTooLarge as BodyTooLarge
from optscale_tui.core.gateway.body import DeadlineExceeded as DeadlineExceeded
from optscale_tui.core.gateway.body import deadline as deadline
from optscale_tui.core.gateway.body import describe_size as describe_size
from optscale_tui.core.gateway.body import iter_decoded as iter_decoded
from optscale_tui.core.gateway.body import read_body as read_body
