"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.gateway.tls import CA_BUNDLE_OPTION as CA_BUNDLE_OPTION
from optscale_tui.core.gateway.tls import CA_ENV_VARS as CA_ENV_VARS
from optscale_tui.core.gateway.tls import CaSource as CaSource
from optscale_tui.core.gateway.tls import TrustError as TrustError
from optscale_tui.core.gateway.tls import build_ssl_context as build_ssl_context
from optscale_tui.core.gateway.tls import describe_trust as describe_trust
from optscale_tui.core.gateway.tls import extra_ca_sources as extra_ca_sources
from optscale_tui.core.gateway.tls import shared_ssl_context as shared_ssl_context
