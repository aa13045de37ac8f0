"""The scenario matrix: for each case, `optscale-tui verify` and the real `claude -p` must reach the same verdict,
and our cause id must name what is really wrong. The demo gateway's request log shows what the real client sent."""

from __future__ import annotations

import pytest
import trustme

from optscale_tui.demo.server import DEMO_KEY, DEMO_KEY_LIMITED, DemoGateway

HAIKU, SONNET, OPUS = "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6"
TIERS = ("--haiku", HAIKU, "--sonnet", SONNET, "--opus", OPUS)


def apply(e2e, gateway_url: str, *flags: str, key: str = DEMO_KEY):
    out = e2e.optscale("apply", "--base-url", gateway_url, "--api-key-env", "K", *flags, "--yes", env={"K": key})
    assert out.returncode == 0, out.stderr
    return out


def failing_causes(report: dict) -> set[str]:
    return {c["cause"] for c in report["checks"] if c["status"] == "fail"}


def claude_posts(gateway: DemoGateway):
    return [r for r in gateway.requests if r.method == "POST" and "/messages" in r.path
            and r.headers.get("user-agent", "").startswith("claude-cli/")]


def test_good_config(e2e, gateway):
    apply(e2e, gateway.base_url, *TIERS)
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert report["ok"] and claude.ok
    posts = claude_posts(gateway)
    assert posts, "the real client reached the gateway"
    assert posts[0].body["model"] == OPUS  # the default session follows the Opus tier
    assert posts[0].headers["authorization"] == f"Bearer {DEMO_KEY}"
    assert "x-api-key" not in posts[0].headers
    assert posts[0].path.endswith("/anthropic/v1/messages")


def test_wrong_key(e2e, gateway):
    apply(e2e, gateway.base_url, *TIERS, key="sk-bf-wrong-key-000000000000")
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    assert failing_causes(report) == {"auth_invalid_key"}
    assert claude.result["api_error_status"] == 401


def test_base_url_left_at_v1(e2e, gateway):
    e2e.write_settings({"ANTHROPIC_BASE_URL": gateway.base_url, "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
                        "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS})  # by hand: apply would derive /anthropic
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    assert "base_url_v1" in failing_causes(report)
    assert claude.result["api_error_status"] == 404
    assert any(r.path.endswith("/v1/v1/messages") for r in claude_posts(gateway))


def test_unknown_model(e2e, gateway):
    apply(e2e, gateway.base_url, "--opus", "anthropic/claude-opus-9-9")
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    assert "model_unknown" in failing_causes(report)
    assert claude.result["api_error_status"] == 404


def test_model_not_allowed_for_the_key(e2e, gateway):
    apply(e2e, gateway.base_url, "--sonnet", SONNET, "--opus", OPUS, key=DEMO_KEY_LIMITED)
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    prompt = next(c for c in report["checks"] if c["id"] == "prompt.opus")
    assert prompt["cause"] == "model_not_allowed"
    assert next(c for c in report["checks"] if c["id"] == "prompt.sonnet")["status"] == "pass"
    assert claude.result["api_error_status"] == 403


def test_only_haiku_mapped(e2e, gateway):
    apply(e2e, gateway.base_url, "--haiku", HAIKU)
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    assert "tier_unmapped" in failing_causes(report)
    # The default session sent Claude Code's built-in name, which the gateway does not know.
    assert claude_posts(gateway)[0].body["model"] == "claude-opus-5-5"
    haiku = e2e.claude_p("--model", "haiku")
    assert haiku.ok
    assert claude_posts(gateway)[-1].body["model"] == HAIKU


def test_shell_api_key_sends_both_headers(e2e, gateway):
    apply(e2e, gateway.base_url, *TIERS)
    shell = {"ANTHROPIC_API_KEY": "sk-ant-shell-key-0123456789abcdef"}
    report = e2e.verify("--no-claude-cli", env=shell)
    claude = e2e.claude_p(env=shell)
    # The gateway takes the Bearer token, so both succeed; we still warn, because two credentials travel.
    assert report["ok"] and claude.ok
    shell_checks = [c for c in report["checks"] if c["cause"] == "shell_api_key"]
    assert shell_checks and shell_checks[0]["status"] == "warn"
    post = claude_posts(gateway)[0]
    assert post.headers["x-api-key"] == shell["ANTHROPIC_API_KEY"]
    assert post.headers["authorization"] == f"Bearer {DEMO_KEY}"


def test_project_level_override(e2e, gateway):
    apply(e2e, gateway.base_url, *TIERS)
    e2e.write_settings({"ANTHROPIC_AUTH_TOKEN": "sk-bf-stale-project-token-0000"},
                       path=e2e.cwd / ".claude" / "settings.json")
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    causes = {c["cause"] for c in report["checks"]}
    assert "project_override" in causes and "auth_invalid_key" in failing_causes(report)
    assert claude_posts(gateway)[0].headers["authorization"] == "Bearer sk-bf-stale-project-token-0000"


def test_experimental_betas_rejected_claude_code_recovers(e2e, gateway):
    gateway.faults.reject_beta = True  # a gateway that forwards only the stable betas
    apply(e2e, gateway.base_url, *TIERS)
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    # Claude Code retries with fewer betas and succeeds: both say "works", we warn about the wasted requests.
    assert report["ok"] and claude.ok
    betas = next(c for c in report["checks"] if c["id"] == "betas")
    assert (betas["status"], betas["cause"]) == ("warn", "beta_rejected")
    statuses = [r.status for r in claude_posts(gateway)]
    assert statuses[0] == 400 and statuses[-1] == 200
    # The fix we suggest removes the failed round trips.
    apply(e2e, gateway.base_url, "--disable-experimental-betas")
    gateway.clear_requests()
    assert e2e.verify("--no-claude-cli")["ok"]
    assert e2e.claude_p().ok
    assert [r.status for r in claude_posts(gateway)] == [200]


def test_every_beta_rejected(e2e, gateway):
    gateway.faults.reject_beta = True
    gateway.faults.accepted_betas = ()
    apply(e2e, gateway.base_url, *TIERS, "--disable-experimental-betas")
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    assert failing_causes(report) == {"beta_rejected"}
    assert claude.result["api_error_status"] == 400
    assert "anthropic-beta" in claude.result["result"]


def test_gateway_down(e2e, gateway):
    apply(e2e, gateway.base_url, *TIERS)
    gateway.stop()
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    assert failing_causes(report) == {"connect"}
    assert "ECONNREFUSED" in claude.result["result"]


@pytest.fixture
def tls_gateway(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_pem = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    with DemoGateway(certfile=server_pem, keyfile=server_pem) as gw:
        yield gw, ca_pem


def test_untrusted_tls_certificate(e2e, tls_gateway):
    gateway, ca_pem = tls_gateway
    apply(e2e, gateway.base_url, *TIERS)
    report = e2e.verify("--no-claude-cli")
    claude = e2e.claude_p()
    assert not report["ok"] and not claude.ok
    assert failing_causes(report) == {"tls_untrusted"}
    assert "certificate" in claude.result["result"].lower()
    # Trusting the CA the way Claude Code does (NODE_EXTRA_CA_CERTS in the shell) fixes both.
    trusted = {"NODE_EXTRA_CA_CERTS": str(ca_pem)}
    assert e2e.verify("--no-claude-cli", env=trusted)["ok"]
    assert e2e.claude_p(env=trusted).ok
