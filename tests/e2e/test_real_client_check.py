"""The real-client check inside `optscale-tui verify`, with the real Claude Code CLI."""

from __future__ import annotations

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
    assert gateway.anthropic_url in by_id["claude.default"]["message"]  # what `claude auth status` reported
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
