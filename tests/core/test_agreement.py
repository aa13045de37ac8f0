"""The agreement check: the direct probes' verdict next to the real client's, and any disagreement named."""

from __future__ import annotations

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
from optscale_tui.core.verify.checks import AGREEMENT
from optscale_tui.core.verify.engine import VerifyOptions, verify
from optscale_tui.core.verify.events import CheckResult, CheckSpec, CheckStatus
from optscale_tui.core.verify.targets import target_from_values
from optscale_tui.demo.server import DEMO_KEY


def fake_real_client(status: CheckStatus, cause: Cause | None = None):
    spec = CheckSpec("claude.default", "Claude Code itself (default session)", "opus")

    async def run(_emit) -> CheckResult:
        return CheckResult(spec.id, spec.title, status, cause, "Claude Code says: something")

    return spec, run


def target(gw, key=DEMO_KEY):
    return target_from_values(ConnectionValues(url=parse_base_url(gw.base_url), key=ApiKey(key),
                                               tiers=TierMapping(opus="anthropic/claude-opus-4-6")))


async def test_agreeing_verdicts_pass(gateway):
    done = await verify(target(gateway), VerifyOptions(extra_checks=[fake_real_client(CheckStatus.PASS)]))
    agreement = {r.id: r for r in done.results}[AGREEMENT]
    assert agreement.status is CheckStatus.PASS and "default session" in agreement.message


async def test_disagreement_is_named_with_both_verdicts(gateway):
    real = fake_real_client(CheckStatus.FAIL, Cause.TLS_UNTRUSTED)
    done = await verify(target(gateway), VerifyOptions(extra_checks=[real]))
    agreement = {r.id: r for r in done.results}[AGREEMENT]
    assert agreement.status is CheckStatus.WARN
    assert "direct probes say works, Claude Code says tls_untrusted" in agreement.message
    assert "NODE_EXTRA_CA_CERTS" in agreement.fix


async def test_both_failing_agree(gateway):
    real = fake_real_client(CheckStatus.FAIL, Cause.AUTH_INVALID_KEY)
    done = await verify(target(gateway, key="sk-bf-wrong-000000000000"), VerifyOptions(extra_checks=[real]))
    assert {r.id: r for r in done.results}[AGREEMENT].status is CheckStatus.PASS


async def test_no_agreement_row_without_a_real_client(gateway):
    done = await verify(target(gateway))
    assert AGREEMENT not in {r.id for r in done.results}
