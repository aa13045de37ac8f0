"""core.diagnosis.next_steps: the guide's last steps made concrete, and where/when to look in Traces (issue 10 §6)."""

from __future__ import annotations

from datetime import UTC, datetime

from optscale_tui.core.connection import TierMapping
from optscale_tui.core.diagnosis.next_steps import (
    after_save_steps,
    model_picker_rows,
    traces_lines,
    traces_window,
)

TIERS = TierMapping(haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6",
                    opus="anthropic/claude-opus-4-6")


def test_logout_only_when_a_claude_ai_login_is_present() -> None:
    assert not any("claude auth logout" in line for line in after_save_steps(TIERS))
    steps = after_save_steps(TIERS, claude_login_present=True)
    assert steps[0].startswith("1. Run `claude auth logout`")
    assert any("Restart Claude Code" in line for line in steps)


def test_model_rows_name_what_claude_code_shows() -> None:
    rows = model_picker_rows(TierMapping(sonnet="anthropic/claude-sonnet-4-6"),
                             {"sonnet": "claude-sonnet-4-6 via OptScale"})
    assert rows[0].startswith("Opus: Claude Code's built-in model")
    assert rows[1] == "Sonnet: “claude-sonnet-4-6 via OptScale” (anthropic/claude-sonnet-4-6)"
    assert model_picker_rows(TIERS)[2] == "Haiku: “Custom Haiku model (anthropic/claude-haiku-4-5)”"


def test_traces_window_and_ids() -> None:
    finished = datetime(2026, 12, 4, 16, 30, 20, tzinfo=UTC)
    assert traces_window(finished, 90_000) == "2026-12-04 16:27 – 16:31 UTC"
    line = traces_lines(["req_1", "req_2", "req_1"], finished, 1_000)[0]
    assert "Admin UI → Core Services → Traces" in line and "16:29 – 16:31 UTC" in line
    assert line.endswith("request ids: req_1, req_2.")
    assert traces_lines([], finished, 1_000) == []


def test_the_markdown_report_says_where_and_when_to_look_and_what_is_left() -> None:
    from optscale_tui.core.connection import ApiKey, parse_base_url
    from optscale_tui.core.verify.events import CheckResult, CheckStatus, VerificationDone, VerificationTarget
    from optscale_tui.core.verify.report import to_markdown, to_text

    done = VerificationDone(results=(CheckResult("prompt.opus", "Opus answers", CheckStatus.PASS,
                                                 timings={"total_ms": 12.0}, request_ids={"request-id": "req_9"}),),
                            elapsed_ms=300.0)
    target = VerificationTarget(parse_base_url("https://my.optscale.ai/llm_proxy/7f1c5a52-3f0e-4c2a-9a4e-0d7c1b2a3e4f/v1"),
                                ApiKey("sk-bf-REPORT-0123456789abcdef"), TIERS, "settings in effect")
    markdown = to_markdown(done, target)
    assert "Open OptScale AI Admin UI → Core Services → Traces, set the time to" in markdown
    assert "request id: req_9." in markdown
    assert "## Still to do in Claude Code" in markdown and "Restart Claude Code" in markdown
    text = to_text(done, target)
    assert "Traces:" in text and "Still to do in Claude Code:" in text
