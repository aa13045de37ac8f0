"""Issue 10 §6: after a save and in the verification report, the guide's last steps and where to look in Traces."""

from __future__ import annotations

from tests.cli.test_cli import ALL_TIERS, OPUS, apply


def test_apply_says_what_is_left_restart_model_rows_and_traces(sandbox, gateway):
    result = apply(sandbox, gateway, *ALL_TIERS, "--yes")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Restart Claude Code" in out and "read its settings when it started" in out
    assert f"Opus: “Custom Opus model ({OPUS})”" in out  # what /model will list for the tier
    assert "Core Services → Traces" in out
    assert "claude auth logout" not in out  # no claude.ai login in the sandbox


def test_verify_names_where_and_when_to_look_in_traces_and_what_is_left(sandbox, gateway):
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes").returncode == 0
    result = sandbox.run("verify", "--no-claude-cli")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Admin UI → Core Services → Traces, set the time to" in out and " UTC, and search for the request" in out
    assert "Still to do in Claude Code:" in out and "run /model" in out


def test_plain_verify_gives_the_install_hint_when_the_claude_cli_is_missing(sandbox, gateway, tmp_path):
    """The README promises the install hint with the skipped real-client check; it was only in --json."""
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes").returncode == 0
    result = sandbox.run("verify", env={"OPTSCALE_TUI_CLAUDE_BIN": str(tmp_path / "no-claude-here")})
    assert "The claude CLI is not installed" in result.stdout
    assert "hint:  Install it to add this check: npm install -g @anthropic-ai/claude-code" in result.stdout


def test_cli_doctor_keeps_the_source_column_in_line_with_a_long_url(sandbox, gateway):
    assert apply(sandbox, gateway, *ALL_TIERS, "--yes").returncode == 0
    result = sandbox.run("doctor")
    lines = [line for line in result.stdout.splitlines() if line.startswith(("variable", "ANTHROPIC_"))]
    header = lines[0]
    column = header.index("source")
    for line in lines[1:]:
        assert line[column:].startswith("user"), (header, line)
