"""VerifyOptions.only: re-running a subset of checks (the TUI's "re-run this check")."""

from __future__ import annotations

from optscale_tui.core.verify.engine import VerifyOptions, merge_results, plan_checks, run_verification
from optscale_tui.core.verify.events import (
    CheckFinished,
    CheckResult,
    CheckStarted,
    CheckStatus,
    VerificationDone,
    VerificationPlanned,
)
from tests.core.verify_targets import make_target


def test_only_none_plans_everything(gateway):
    target = make_target(gateway)
    assert plan_checks(target, VerifyOptions()) == plan_checks(target, VerifyOptions(only=None))


def test_only_one_network_check_keeps_config_and_connect_first(gateway):
    specs = plan_checks(make_target(gateway), VerifyOptions(only=frozenset({"prompt.sonnet"})))
    assert [s.id for s in specs] == ["config", "connect", "prompt.sonnet"]


def test_only_config_needs_no_network(gateway):
    specs = plan_checks(make_target(gateway), VerifyOptions(only=frozenset({"config"})))
    assert [s.id for s in specs] == ["config"]


async def test_rerun_one_check_runs_only_it_and_its_connect(gateway):
    events = [e async for e in run_verification(make_target(gateway), VerifyOptions(only=frozenset({"tools.opus"})))]
    assert isinstance(events[0], VerificationPlanned)
    started = [e.check_id for e in events if isinstance(e, CheckStarted)]
    assert started[:2] == ["config", "connect"] and set(started) == {"config", "connect", "tools.opus"}
    done = events[-1]
    assert isinstance(done, VerificationDone) and done.ok
    assert {r.id for r in done.results} == {"config", "connect", "tools.opus"}
    # Only the connect probe and the one tool-use request reached the gateway (no catalog, no prompts).
    paths = [r.path for r in gateway.requests]
    assert not any(p.endswith("/models") for p in paths)
    assert sum(p.endswith("/messages") for p in paths) == 1


async def test_rerun_one_check_with_a_wrong_key_fails_with_the_cause(gateway):
    options = VerifyOptions(only=frozenset({"prompt.haiku"}))
    done = [e async for e in run_verification(make_target(gateway, key="sk-bf-wrong-key-0000"), options)][-1]
    result = {r.id: r for r in done.results}["prompt.haiku"]
    assert result.status is CheckStatus.FAIL and result.cause is not None
    assert result.cause.value == "auth_invalid_key"


async def test_only_network_free_checks_never_connect(gateway):
    events = [e async for e in run_verification(make_target(gateway), VerifyOptions(only=frozenset({"config"})))]
    assert [e.result.id for e in events if isinstance(e, CheckFinished)] == ["config"]
    assert isinstance(events[-1], VerificationDone)
    assert gateway.requests == []


def _result(check_id: str, status: CheckStatus = CheckStatus.PASS) -> CheckResult:
    return CheckResult(check_id, check_id.title(), status)


def test_merge_results_replaces_in_place_and_appends_new_rows():
    full = VerificationDone((_result("config"), _result("connect"), _result("prompt.opus", CheckStatus.FAIL)), 900.0)
    rerun = VerificationDone((_result("config"), _result("connect"), _result("prompt.opus"), _result("extra")), 40.0)
    merged = merge_results(full, rerun)
    assert [r.id for r in merged.results] == ["config", "connect", "prompt.opus", "extra"]
    assert merged.ok
    assert merge_results(None, rerun) is rerun


def test_merge_results_keeps_the_full_runs_time_and_tells_the_reruns_apart():
    """Re-running one check after a full run said "11 passed … in 0.0 s": the re-run's time, as if for every check."""
    from optscale_tui.core.verify.report import to_json, verdict_line

    full = VerificationDone((_result("config"), _result("connect"), _result("prompt.opus")), 4200.0)
    rerun = VerificationDone((_result("config"), _result("connect"), _result("prompt.opus")), 400.0)
    merged = merge_results(full, rerun)
    assert merged.elapsed_ms == 4200.0 and merged.rerun_ms == 400.0 and merged.rerun_checks == 1
    # "connect" ran again too (it runs first for any network check): the words say so, not just "re-ran 1 check".
    assert verdict_line(merged) == "Connection verified: 3 passed, 0 warnings, 0 failed (full run 4.2 s; re-ran 1 check, " \
                                   "plus the reachability check it needs, in 0.4 s)."
    assert to_json(merged)["elapsed_ms"] == 4200.0 and to_json(merged)["rerun_elapsed_ms"] == 400.0
    assert verdict_line(full).endswith("in 4.2 s.")


def test_a_rerun_without_the_reachability_check_does_not_claim_it():
    from optscale_tui.core.verify.report import verdict_line

    full = VerificationDone((_result("config"), _result("connect"), _result("doctor.tier_unmapped")), 4200.0)
    network_free = merge_results(full, VerificationDone((_result("config"), _result("doctor.tier_unmapped")), 5.0))
    assert not network_free.rerun_connect
    assert verdict_line(network_free).endswith("(full run 4.2 s; re-ran 1 check in 0.0 s).")
    connect_only = merge_results(full, VerificationDone((_result("config"), _result("connect")), 50.0))
    assert not connect_only.rerun_connect  # it was the check asked for
    two = merge_results(full, VerificationDone((_result("config"), _result("connect"), _result("a"), _result("b")), 9.0))
    assert "re-ran 2 checks, plus the reachability check they need, in" in verdict_line(two)
