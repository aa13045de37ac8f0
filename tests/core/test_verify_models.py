"""Which models the verification probes: every model Claude Code sends (the main and subagent models too, once each),
and a model the key may use for the gateway-wide probes (count_tokens, the anthropic-beta header)."""

from __future__ import annotations

import json
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import TierMapping
from optscale_tui.core.verify import report
from optscale_tui.core.verify.engine import VerifyOptions, plan_checks, verify
from optscale_tui.core.verify.events import CheckStatus, VerificationDone
from optscale_tui.core.verify.targets import target_from_effective
from optscale_tui.demo.server import DEMO_KEY, DEMO_KEY_LIMITED
from tests.core.test_doctor import Sandbox
from tests.core.verify_targets import TIERS, make_target

QWEN = "ollama/qwen3:32b"
OPUS, SONNET, HAIKU = TIERS.opus, TIERS.sonnet, TIERS.haiku


def by_id(done: VerificationDone):
    return {r.id: r for r in done.results}


def prompted_models(gateway) -> list[str]:
    """The model of every Messages request that reached the demo gateway (count_tokens apart)."""
    return [r.body["model"] for r in gateway.requests
            if r.path.endswith("/messages") and r.body and not r.body.get("tools")]


async def test_subagent_model_no_tier_uses_gets_its_own_prompt_check(gateway):
    done = await verify(make_target(gateway, tiers=TierMapping(HAIKU, SONNET, OPUS, subagent_model=QWEN)),
                        VerifyOptions(beta_probe=False))
    result = by_id(done)["prompt.subagent"]
    assert result.status is CheckStatus.PASS and result.model == QWEN
    assert "Subagent" in result.title
    assert QWEN in prompted_models(gateway)
    # The CLI's text and the JSON report list it too.
    assert "Subagent model" in report.to_text(done)
    assert "prompt.subagent" in {c["id"] for c in report.to_json(done)["checks"]}


async def test_main_model_no_tier_uses_gets_its_own_prompt_check(gateway):
    done = await verify(make_target(gateway, tiers=TierMapping(HAIKU, SONNET, OPUS, main_model=QWEN)))
    assert by_id(done)["prompt.main"].status is CheckStatus.PASS
    assert by_id(done)["prompt.main"].model == QWEN


async def test_main_or_subagent_model_equal_to_a_tier_is_not_probed_twice(gateway):
    tiers = TierMapping(HAIKU, SONNET, OPUS, main_model=f"{SONNET}[1m]", subagent_model=HAIKU)
    target = make_target(gateway, tiers=tiers)
    ids = [s.id for s in plan_checks(target, VerifyOptions())]
    assert "prompt.main" not in ids and "prompt.subagent" not in ids
    # Both set to the same new model: one request, not two.
    target = make_target(gateway, tiers=TierMapping(HAIKU, SONNET, OPUS, main_model=QWEN, subagent_model=QWEN))
    ids = [s.id for s in plan_checks(target, VerifyOptions())]
    assert "prompt.main" in ids and "prompt.subagent" not in ids
    # An alias names a tier, which its tier check probes.
    target = make_target(gateway, tiers=TierMapping(HAIKU, SONNET, OPUS, main_model="sonnet", subagent_model="haiku"))
    assert not any(s.id in ("prompt.main", "prompt.subagent") for s in plan_checks(target, VerifyOptions()))


async def test_settings_in_effect_carry_the_main_and_subagent_models(gateway, tmp_path: Path):
    sb = Sandbox(tmp_path)
    sb.write(sb.user_file, {"model": QWEN, "env": {
        "ANTHROPIC_BASE_URL": gateway.anthropic_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS, "CLAUDE_CODE_SUBAGENT_MODEL": "openai/gpt-5"}})
    target = target_from_effective(sb.inspect())
    assert target.tiers.main_model == QWEN and target.tiers.subagent_model == "openai/gpt-5"
    assert {"prompt.main", "prompt.subagent"} <= {s.id for s in plan_checks(target, VerifyOptions())}
    assert json.loads(report.to_json_text(VerificationDone((), 0.0), target))["target"]["subagent_model"] == \
        "openai/gpt-5"


async def test_a_blocked_tier_does_not_fail_the_beta_and_count_tokens_probes(gateway):
    """Key …a002 may use Anthropic Sonnet and Haiku only; Opus mapped to a blocked model fails its own checks, but the
    gateway-wide probes use a model the key may use instead of repeating that cause."""
    done = await verify(make_target(gateway, key=DEMO_KEY_LIMITED))
    results = by_id(done)
    assert results["prompt.opus"].cause is Cause.MODEL_NOT_ALLOWED
    for check_id in ("betas", "count_tokens"):
        assert results[check_id].status is CheckStatus.PASS, results[check_id]
        assert results[check_id].model == SONNET


async def test_without_a_usable_model_the_beta_and_count_tokens_probes_are_skipped(gateway):
    done = await verify(make_target(gateway, key=DEMO_KEY_LIMITED, tiers=TierMapping(opus=OPUS, sonnet="openai/gpt-5")))
    results = by_id(done)
    assert results["prompt.opus"].status is CheckStatus.FAIL
    for check_id in ("betas", "count_tokens"):
        assert results[check_id].status is CheckStatus.SKIP, results[check_id]
        assert results[check_id].cause is None and "no model" in results[check_id].message


async def test_rerunning_the_beta_check_alone_still_picks_a_model_the_key_may_use(gateway):
    # A re-run of the beta check alone: the engine still reads the catalog to choose its model.
    done = await verify(make_target(gateway, key=DEMO_KEY_LIMITED), VerifyOptions(only=frozenset({"betas"})))
    assert by_id(done)["betas"].status is CheckStatus.PASS
    assert by_id(done)["betas"].model == SONNET
