"""The real-client check inside `optscale-tui verify`, with the real Claude Code CLI."""

from __future__ import annotations

import json

from optscale_tui.demo.server import DEMO_KEY

HAIKU, SONNET, OPUS = "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6"


def _apply(e2e, gateway, *flags, key=DEMO_KEY):
    out = e2e.optscale("apply", "--base-url", gateway.base_url, "--api-key-env", "K", *flags, "--yes", env={"K": key})
    assert out.returncode == 0, out.stderr


def checks(report):
    return {c["id"]: c for c in report["checks"]}


def test_real_client_check_passes_and_streams_its_reply(e2e, gateway):
    _apply(e2e, gateway, "--haiku", HAIKU, "--sonnet", SONNET, "--opus", OPUS)
    report = e2e.verify()
    assert report["ok"], [c for c in report["checks"] if c["status"] != "pass"]
    by_id = checks(report)
    assert {"claude.default", "claude.haiku", "claude.sonnet"} <= set(by_id)
    assert by_id["claude.default"]["status"] == "pass"
    assert gateway.anthropic_url in by_id["claude.default"]["message"]  # what Claude Code resolved (get_settings)
    # Each run reached the gateway as the real client, with the mapped model.
    claude_models = {r.body["model"] for r in gateway.requests
                     if r.method == "POST" and r.headers.get("user-agent", "").startswith("claude-cli/")}
    assert claude_models == {HAIKU, SONNET, OPUS}

    text = e2e.optscale("verify")
    assert text.returncode == 0
    assert "[claude.default]" in text.stdout and "Hello from the OptScale demo gateway" in text.stdout


def test_real_client_verdict_matches_on_a_wrong_key(e2e, gateway):
    _apply(e2e, gateway, "--opus", OPUS, key="sk-bf-wrong-key-000000000000")
    report = e2e.verify()
    by_id = checks(report)
    assert by_id["claude.default"]["status"] == "fail"
    assert by_id["claude.default"]["cause"] == by_id["prompt.opus"]["cause"] == "auth_invalid_key"
    assert "sk-bf-wrong-key-000000000000" not in str(report)


def test_only_haiku_the_real_client_shows_the_builtin_model(e2e, gateway):
    _apply(e2e, gateway, "--haiku", HAIKU)
    by_id = checks(e2e.verify())
    assert by_id["claude.default"]["cause"] == "tier_unmapped"
    assert "claude-opus-5-5" in by_id["claude.default"]["message"]
    assert by_id["claude.haiku"]["status"] == "pass"


def test_missing_cli_is_a_skip_with_the_install_hint(e2e, gateway):
    _apply(e2e, gateway, "--opus", OPUS)
    report = e2e.verify(env={"OPTSCALE_TUI_CLAUDE_BIN": str(e2e.home / "no-such-claude")})
    skipped = checks(report)["claude"]
    assert skipped["status"] == "skip" and "npm install -g @anthropic-ai/claude-code" in skipped["fix"]
    assert report["ok"]


def test_trust_that_only_we_have_is_reported_as_a_disagreement(e2e, tmp_path):
    """--ca-bundle makes our probes trust the gateway; Claude Code does not get it, so its verdict differs."""
    import trustme

    from optscale_tui.demo.server import DemoGateway

    ca = trustme.CA()
    server_pem, ca_pem = tmp_path / "server.pem", tmp_path / "ca.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    with DemoGateway(certfile=server_pem, keyfile=server_pem) as gateway:
        _apply(e2e, gateway, "--opus", OPUS)
        report = e2e.verify("--ca-bundle", str(ca_pem))
    by_id = checks(report)
    assert by_id["prompt.opus"]["status"] == "pass"
    assert by_id["claude.default"]["cause"] == "tls_untrusted"
    assert by_id["agreement"]["status"] == "warn"
    assert "Claude Code says tls_untrusted" in by_id["agreement"]["message"]
    assert not report["ok"]  # what the user's sessions will do decides


# --- what the check may run and leave behind (issue 9 §4, issue 14 §1) -------------------------------------------


def _hooks(marker_dir, tag):
    """A hook for every event a `claude -p` session goes through, each touching its own marker file."""
    return {event: [{"hooks": [{"type": "command", "command": f"touch {marker_dir}/{tag}-{event}"}]}]
            for event in ("SessionStart", "UserPromptSubmit", "PreToolUse", "Stop", "SessionEnd")}


def test_the_check_runs_no_hook_of_the_project_or_the_user(e2e, gateway, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    _apply(e2e, gateway, "--haiku", HAIKU, "--sonnet", SONNET, "--opus", OPUS)
    user = json.loads(e2e.settings.read_text())
    e2e.settings.write_text(json.dumps({**user, "hooks": _hooks(markers, "user")}))
    project = e2e.cwd / ".claude"
    project.mkdir()
    (project / "settings.json").write_text(json.dumps({"hooks": _hooks(markers, "project"),
                                                       "apiKeyHelper": f"touch {markers}/apiKeyHelper"}))
    (project / "settings.local.json").write_text(json.dumps({"hooks": _hooks(markers, "local")}))
    # The hooks are live: a plain `claude -p` in the same folder runs them (proof the test would see them run).
    assert e2e.claude_p().ok
    ran = sorted(p.name for p in markers.iterdir())
    assert {"user-SessionStart", "project-SessionStart", "local-SessionStart"} <= set(ran), ran
    for marker in markers.iterdir():
        marker.unlink()

    report = e2e.verify()
    assert report["ok"], [c for c in report["checks"] if c["status"] != "pass"]
    assert {c["id"] for c in report["checks"]} >= {"claude.default", "claude.haiku", "claude.sonnet"}
    assert sorted(p.name for p in markers.iterdir()) == []


def test_the_check_leaves_no_session_in_the_users_history(e2e, gateway):
    _apply(e2e, gateway, "--haiku", HAIKU, "--sonnet", SONNET, "--opus", OPUS)
    report = e2e.verify()
    assert checks(report)["claude.default"]["status"] == "pass"
    projects = e2e.home / ".claude" / "projects"
    assert not projects.exists() or list(projects.rglob("*")) == []


def test_the_project_connection_settings_still_reach_the_check(e2e, gateway):
    """Only the connection is copied from the project, but all of it: a project tier model is what Claude Code uses."""
    _apply(e2e, gateway, "--haiku", HAIKU, "--sonnet", SONNET, "--opus", OPUS)
    project = e2e.cwd / ".claude"
    project.mkdir()
    (project / "settings.local.json").write_text(json.dumps({"env": {"ANTHROPIC_DEFAULT_SONNET_MODEL": HAIKU}}))
    report = e2e.verify()
    assert checks(report)["claude.sonnet"]["model"] == HAIKU


async def test_claude_resolving_another_host_gets_no_prompt(e2e, gateway, monkeypatch):
    """The check's own guard: the target says one gateway, Claude Code's settings another (here: values not saved
    yet). Claude Code is asked which URL it resolved and stopped before any prompt: the other host sees nothing."""
    from pathlib import Path

    from optscale_tui.core.connection import ApiKey, ConnectionValues, TierMapping, parse_base_url
    from optscale_tui.core.verify.engine import VerifyOptions, verify
    from optscale_tui.core.verify.real_client import real_client_checks
    from optscale_tui.core.verify.targets import target_from_values
    from optscale_tui.demo.server import DemoGateway

    with DemoGateway() as elsewhere:
        _apply(e2e, elsewhere, "--opus", OPUS)
        for name, value in e2e.env.items():
            monkeypatch.setenv(name, value)
        target = target_from_values(ConnectionValues(parse_base_url(gateway.base_url), ApiKey(DEMO_KEY),
                                                     TierMapping(opus=OPUS)))
        extra = real_client_checks(target, cwd=Path(e2e.cwd), binary=e2e.claude)
        done = await verify(target, VerifyOptions(extra_checks=extra, tool_probe=False))
        row = next(r for r in done.results if r.id == "claude.default")
        assert row.cause.value == "key_sent_elsewhere" and f"127.0.0.1:{elsewhere.port}" in row.message
        assert elsewhere.requests == []
