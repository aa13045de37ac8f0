"""Report rendering for files: default names, format from the extension, the key always masked."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
from optscale_tui.core.verify import report
from optscale_tui.core.verify.events import CheckResult, CheckStatus, VerificationDone
from optscale_tui.core.verify.targets import target_from_values

KEY = "sk-bf-secret-report-key-9876"


def _done() -> VerificationDone:
    return VerificationDone((
        CheckResult("connect", "Gateway reachable", CheckStatus.PASS, timings={"ttfb_ms": 3.0, "total_ms": 4.0},
                    request_ids={"x-request-id": "req_1"}),
        CheckResult("prompt.opus", "Opus tier answers", CheckStatus.FAIL, Cause.AUTH_INVALID_KEY,
                    "The gateway rejected the API key.", "Copy the key again."),
    ), 1234.0)


def _target():
    url = parse_base_url("https://gw.example.org/llm_proxy/00000000-0000-4000-8000-000000000001/v1")
    return target_from_values(ConnectionValues(url=url, key=ApiKey(KEY), tiers=TierMapping(opus="anthropic/x")))


def test_default_report_name_uses_local_timestamp_and_extension():
    now = datetime(2026, 3, 4, 5, 6, 7)
    assert report.default_report_name("markdown", now) == "optscale-tui-report-20260304-050607.md"
    assert report.default_report_name("json", now) == "optscale-tui-report-20260304-050607.json"


@pytest.mark.parametrize(("name", "fmt"), [("a.json", "json"), ("A.JSON", "json"), ("r.md", "markdown"),
                                           ("r.markdown", "markdown"), ("report.txt", "markdown")])
def test_format_for_path(name, fmt):
    assert report.format_for_path(name) == fmt


def test_render_report_markdown_and_json_mask_the_key():
    md = report.render_report(_done(), _target(), "markdown")
    assert md.startswith("# optscale-tui verification report")
    assert "auth_invalid_key" in md and "req_1" in md and KEY not in md and "sk-bf-…9876" in md
    js = report.render_report(_done(), _target(), "json")
    data = json.loads(js)
    assert data["ok"] is False and data["target"]["api_key"] == "sk-bf-…9876" and KEY not in js


def test_render_report_rejects_unknown_format():
    with pytest.raises(ValueError, match="unknown report format"):
        report.render_report(_done(), None, "html")


def test_traces_rows_list_each_request_id_once_per_check():
    result = CheckResult("connect", "Gateway reachable", CheckStatus.PASS, timings={"total_ms": 4.2},
                         request_ids={"x-request-id": "req_1", "request-id": "req_1", "x-bf-trace": "tr_9"})
    assert report.traces_rows([result]) == [("connect", "req_1", "4 ms"), ("connect", "tr_9", "4 ms")]


def _results(*statuses: CheckStatus) -> VerificationDone:
    return VerificationDone(tuple(CheckResult(f"c{i}", f"Check {i}", s) for i, s in enumerate(statuses)), 1000.0)


def test_verdict_line_counts_in_words_and_names_skipped_checks():
    line = report.verdict_line(_results(CheckStatus.PASS, CheckStatus.WARN, CheckStatus.SKIP))
    assert line == "Connection verified: 1 passed, 1 warning, 0 failed, 1 skipped in 1.0 s."
    line = report.verdict_line(_results(CheckStatus.PASS, CheckStatus.FAIL))
    assert line == "Verification failed: 1 passed, 0 warnings, 1 failed in 1.0 s."  # nothing skipped: not mentioned


def test_verdict_line_counts_only_the_rows_shown():
    # The TUI's checklist sums the doctor's findings up in its "config" row: a doctor.<cause> row it does not show
    # must not be counted (it used to say "2 warnings" beside a single WARN row).
    done = VerificationDone((CheckResult("config", "Configuration", CheckStatus.WARN, Cause.TIER_UNMAPPED),
                             CheckResult("connect", "Gateway reachable", CheckStatus.PASS),
                             CheckResult("doctor.tier_unmapped", "Tier unmapped", CheckStatus.WARN,
                                         Cause.TIER_UNMAPPED)), 1000.0)
    assert report.verdict_line(done) == "Connection verified: 1 passed, 2 warnings, 0 failed in 1.0 s."
    assert report.verdict_line(done, ["config", "connect"]) == \
        "Connection verified: 1 passed, 1 warning, 0 failed in 1.0 s."


def _wrong_key_everywhere() -> VerificationDone:
    fail = [CheckResult(f"prompt.{t}", f"{t} answers", CheckStatus.FAIL, Cause.AUTH_INVALID_KEY,
                        f"The gateway rejected the API key ({t}).", "Copy the key again.") for t in ("haiku", "opus")]
    return VerificationDone((_done().results[0], *fail), 10.0)


def test_a_cause_shared_by_several_checks_is_explained_once_in_reports():
    done = _wrong_key_everywhere()
    assert report.repeated_problems(done.results) == {"prompt.opus"}
    text = report.to_text(done)
    assert text.count("fix:   Copy the key again.") == 1
    assert "    same cause as above (auth_invalid_key)" in text.splitlines()
    md = report.to_markdown(done)
    assert md.count("Fix: Copy the key again.") == 1 and "Same cause and fix as above (auth_invalid_key)." in md
    # Streamed line by line (the CLI): the set carries what was printed above.
    seen: set = set()
    assert len(report.result_details(done.results[1], seen)) == 3
    assert report.result_details(done.results[2], seen) == ["    same cause as above (auth_invalid_key)"]


def test_missing_connection_gives_plain_words_and_the_cli_command_apart(tmp_path):
    from optscale_tui.core.diagnosis.doctor import inspect_environment
    from optscale_tui.core.verify.targets import WRITE_CONNECTION_COMMAND, target_from_effective

    config = inspect_environment(cwd=tmp_path, env={}, home=tmp_path, user_settings=tmp_path / "settings.json")
    target = target_from_effective(config)
    problem = next(p for p in target.problems if p.id == "config.base_url")
    # The fix in words fits any front end (the TUI adds where to go); the CLI prints the command.
    assert "optscale-tui" not in problem.fix and problem.fix_command == WRITE_CONNECTION_COMMAND
    assert problem.to_json()["fix_command"] == WRITE_CONNECTION_COMMAND
    text = report.to_text(VerificationDone(target.problems, 1.0))
    assert f"run:   {WRITE_CONNECTION_COMMAND}" in text
