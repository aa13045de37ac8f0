"""The CLI against the demo gateway over HTTPS, with a test CA (trustme): trusted, untrusted, wrong host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme

from optscale_tui.demo.server import DEMO_KEY, DemoGateway

OPUS = "anthropic/claude-opus-4-6"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _serve(ca: trustme.CA, tmp: Path, *hosts: str) -> DemoGateway:
    cert = ca.issue_cert(*hosts)
    cert_path, key_path = tmp / "server.pem", tmp / "server.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(cert_path), append=True)
    cert.private_key_pem.write_to_path(str(key_path))
    return DemoGateway(certfile=cert_path, keyfile=key_path)


def _write_settings(sandbox, base_url: str) -> None:
    sandbox.config_dir.mkdir(exist_ok=True)
    sandbox.settings.write_text(json.dumps({"env": {
        "ANTHROPIC_BASE_URL": base_url.removesuffix("/v1") + "/anthropic",
        "ANTHROPIC_AUTH_TOKEN": DEMO_KEY,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": OPUS,
    }}))


def _connect_cause(result) -> str | None:
    report = json.loads(result.stdout)
    return next(c for c in report["checks"] if c["id"] == "connect")["cause"]


def test_https_untrusted_then_trusted_with_ca_bundle_and_node_extra_ca_certs(sandbox, ca, tmp_path):
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    with _serve(ca, tmp_path, "127.0.0.1", "localhost") as gw:
        assert gw.base_url.startswith("https://127.0.0.1:")
        _write_settings(sandbox, gw.base_url)

        untrusted = sandbox.run("verify", "--json", "--no-claude-cli")
        assert untrusted.returncode == 1
        assert _connect_cause(untrusted) == "tls_untrusted"

        trusted = sandbox.run("verify", "--json", "--no-claude-cli", "--ca-bundle", str(ca_path))
        assert trusted.returncode == 0, trusted.stdout
        assert json.loads(trusted.stdout)["ok"] is True

        via_env = sandbox.run("verify", "--json", "--no-claude-cli", env={"NODE_EXTRA_CA_CERTS": str(ca_path)})
        assert via_env.returncode == 0, via_env.stdout

        models = sandbox.run("models", "--base-url", gw.base_url, "--api-key-env", "K", "--ca-bundle", str(ca_path),
                             env={"K": DEMO_KEY})
        assert models.returncode == 0 and OPUS in models.stdout


def test_https_certificate_for_another_host(sandbox, ca, tmp_path):
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    with _serve(ca, tmp_path, "gateway.example.org") as gw:
        _write_settings(sandbox, gw.base_url)
        result = sandbox.run("verify", "--json", "--no-claude-cli", "--ca-bundle", str(ca_path))
        assert result.returncode == 1
        assert _connect_cause(result) == "tls_hostname"


def test_missing_ca_file_is_a_clear_error(sandbox, tmp_path):
    _write_settings(sandbox, "https://127.0.0.1:9/llm_proxy/00000000-0000-0000-0000-000000000000/v1")
    result = sandbox.run("verify", "--json", "--no-claude-cli", env={"NODE_EXTRA_CA_CERTS": str(tmp_path / "nope.pem")})
    assert result.returncode == 1
    connect = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "connect")
    assert "NODE_EXTRA_CA_CERTS" in connect["message"] and connect["cause"] == "tls_untrusted"
    models = sandbox.run("models", "--base-url", "https://127.0.0.1:9/llm_proxy/x/v1", "--api-key-env", "K",
                         "--ca-bundle", str(tmp_path / "nope.pem"), env={"K": DEMO_KEY})
    assert models.returncode == 2 and "--ca-bundle" in models.stderr and "Traceback" not in models.stderr
