"""Verification targets pointing at a demo gateway, for the verification engine's tests."""

from __future__ import annotations

from optscale_tui.core.connection import (
    ApiKey,
    ConnectionValues,
    TierMapping,
    parse_anthropic_base_url,
    parse_base_url,
)
from optscale_tui.core.verify.events import VerificationTarget
from optscale_tui.core.verify.targets import target_from_values
from optscale_tui.demo.server import DEMO_KEY, DemoGateway

TIERS = TierMapping(haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6",
                    opus="anthropic/claude-opus-4-6")


def make_target(
    gw: DemoGateway, *, key: str = DEMO_KEY, tiers: TierMapping = TIERS, url: str | None = None
) -> VerificationTarget:
    """The demo gateway's /v1 URL (or `url`, an /anthropic one), with `key` and every tier mapped."""
    parsed = parse_anthropic_base_url(url) if url else parse_base_url(gw.base_url)
    return target_from_values(ConnectionValues(url=parsed, key=ApiKey(key), tiers=tiers))
