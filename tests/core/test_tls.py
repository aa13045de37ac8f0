"""TLS trust and network failures against real sockets on 127.0.0.1 (no other network).

A trustme CA signs server certificates for a tiny ssl-wrapped stdlib HTTP server started in a thread.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import trustme

import optscale_tui.core.gateway as gateway_package
from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import InputError, parse_api_key, parse_base_url
from optscale_tui.core.gateway.client import GatewayClient
from optscale_tui.core.gateway.tls import TrustError, build_ssl_context, describe_trust

ORG = "00000000-0000-4000-8000-00000000d3e0"
KEY = parse_api_key("sk-bf-TLSTEST-0123456789abcdef")


def _sse_body() -> bytes:
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "msg_tls", "model": "m", "usage": {}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "pong"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen_auth: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        type(self).seen_auth.append(self.headers.get("authorization") or "")
        body = _sse_body()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.send_header("request-id", "req_tls")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@contextmanager
def https_server(cert: trustme.LeafCert) -> Iterator[int]:
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "corp-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def url_for(port: int, host: str = "127.0.0.1"):
    return parse_base_url(f"https://{host}:{port}/llm_proxy/{ORG}/v1")


async def probe(port: int, *, host: str = "127.0.0.1", ca_bundle: Path | None = None,
                env: dict[str, str] | None = None):
    async with GatewayClient(url_for(port, host), KEY, ca_bundle=ca_bundle, env=env or {}, timeout=5) as gw:
        return await gw.stream_message("m", "ping")


# ---------------------------------------------------------------------------------------------------------------
# trust


async def test_untrusted_ca_is_tls_untrusted(ca: trustme.CA) -> None:
    with https_server(ca.issue_cert("127.0.0.1")) as port:
        result = await probe(port)
    assert not result.ok
    assert result.cause is Cause.TLS_UNTRUSTED
    assert "certificate verify failed" in result.detail
    assert KEY.value not in repr(result)


async def test_trusted_via_ca_bundle(ca: trustme.CA, ca_file: Path) -> None:
    _Handler.seen_auth.clear()
    with https_server(ca.issue_cert("127.0.0.1")) as port:
        result = await probe(port, ca_bundle=ca_file)
    assert result.ok, result.detail
    assert result.text == "pong"
    assert result.request_ids == {"request-id": "req_tls"}
    assert result.timings.ttfb_ms is not None
    assert _Handler.seen_auth == [f"Bearer {KEY.value}"]


@pytest.mark.parametrize("variable", ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"])
async def test_trusted_via_env_variable(ca: trustme.CA, ca_file: Path, variable: str) -> None:
    with https_server(ca.issue_cert("127.0.0.1")) as port:
        result = await probe(port, env={variable: str(ca_file)})
    assert result.ok, result.detail


async def test_intermediate_ca_chain(ca: trustme.CA, ca_file: Path) -> None:
    intermediate = ca.create_child_ca()
    with https_server(intermediate.issue_cert("127.0.0.1")) as port:
        result = await probe(port, ca_bundle=ca_file)
    assert result.ok, result.detail


async def test_localhost_name(ca: trustme.CA, ca_file: Path) -> None:
    try:
        socket.getaddrinfo("localhost", 443)
    except OSError:
        pytest.skip("localhost does not resolve here")
    with https_server(ca.issue_cert("localhost")) as port:
        result = await probe(port, host="localhost", ca_bundle=ca_file)
    assert result.ok, result.detail


async def test_ip_mismatch_is_tls_hostname(ca: trustme.CA, ca_file: Path) -> None:
    with https_server(ca.issue_cert("example.org")) as port:
        result = await probe(port, ca_bundle=ca_file)
    assert result.cause is Cause.TLS_HOSTNAME
    assert "mismatch" in result.detail.lower()


async def test_hostname_mismatch_is_tls_hostname(ca: trustme.CA, ca_file: Path) -> None:
    try:
        socket.getaddrinfo("localhost", 443)
    except OSError:
        pytest.skip("localhost does not resolve here")
    with https_server(ca.issue_cert("example.org")) as port:
        result = await probe(port, host="localhost", ca_bundle=ca_file)
    assert result.cause is Cause.TLS_HOSTNAME


async def test_expired_certificate_is_tls_expired(ca: trustme.CA, ca_file: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    cert = ca.issue_cert("127.0.0.1", not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1))
    with https_server(cert) as port:
        result = await probe(port, ca_bundle=ca_file)
    assert result.cause is Cause.TLS_EXPIRED
    assert "expired" in result.detail


async def test_requests_ca_bundle_does_not_replace_our_context(
    ca: trustme.CA, ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))
    with https_server(ca.issue_cert("127.0.0.1")) as port:
        result = await probe(port, ca_bundle=ca_file)
    assert result.ok, result.detail


# ---------------------------------------------------------------------------------------------------------------
# CA files that cannot be used


def test_missing_env_ca_file_names_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(TrustError) as info:
        build_ssl_context(env={"NODE_EXTRA_CA_CERTS": str(missing)})
    assert "NODE_EXTRA_CA_CERTS" in str(info.value) and str(missing) in str(info.value)
    assert "does not exist" in str(info.value)
    assert isinstance(info.value, InputError)
    assert info.value.source == "NODE_EXTRA_CA_CERTS"
    assert info.value.cause is Cause.TLS_UNTRUSTED


def test_missing_ca_bundle_option(tmp_path: Path) -> None:
    with pytest.raises(TrustError, match="--ca-bundle"):
        build_ssl_context(tmp_path / "nope.pem", env={})


def test_garbage_ca_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("this is not a certificate\n")
    with pytest.raises(TrustError, match=r"SSL_CERT_FILE.*PEM"):
        build_ssl_context(env={"SSL_CERT_FILE": str(junk)})


def test_unreadable_ca_file(tmp_path: Path, ca: trustme.CA) -> None:
    path = tmp_path / "locked.pem"
    ca.cert_pem.write_to_path(str(path))
    path.chmod(0)
    try:
        try:
            path.read_bytes()
        except PermissionError:
            pass
        else:
            pytest.skip("running as root: permissions are not enforced")
        with pytest.raises(TrustError, match="permission denied"):
            build_ssl_context(path, env={})
    finally:
        path.chmod(0o600)


def test_gateway_client_raises_trust_error_at_construction(tmp_path: Path) -> None:
    with pytest.raises(TrustError):
        GatewayClient(url_for(1), KEY, env={"NODE_EXTRA_CA_CERTS": str(tmp_path / "gone.pem")})


def test_empty_variables_are_ignored() -> None:
    ctx = build_ssl_context(env={"NODE_EXTRA_CA_CERTS": "", "SSL_CERT_FILE": "  "})
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True


def test_describe_trust(ca_file: Path, tmp_path: Path) -> None:
    lines = describe_trust({"NODE_EXTRA_CA_CERTS": str(ca_file), "SSL_CERT_FILE": str(tmp_path / "x.pem")}, ca_file)
    assert lines[0].startswith("system certificate store")
    assert any(line.startswith("Mozilla CA bundle") for line in lines)
    assert f"NODE_EXTRA_CA_CERTS={ca_file} (1 certificate)" in lines
    assert any(line.startswith("SSL_CERT_FILE=") and "does not exist" in line for line in lines)
    assert f"--ca-bundle={ca_file} (1 certificate)" in lines
    assert describe_trust({}, None) == lines[:2]


def test_no_verification_switch_in_source() -> None:
    forbidden = ("CERT_" + "NONE", "verify=" + "False", "check_hostname = " + "False", "_create_" + "unverified")
    modules = sorted(Path(gateway_package.__file__).parent.glob("*.py"))
    assert len(modules) > 5  # the whole gateway package: tls.py and every module that opens a connection
    for module in modules:
        source = module.read_text()
        for word in forbidden:
            assert word not in source, (module.name, word)


# ---------------------------------------------------------------------------------------------------------------
# network failures on loopback


async def test_connection_refused_is_connect() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    url = parse_base_url(f"http://127.0.0.1:{port}/llm_proxy/{ORG}/v1")
    async with GatewayClient(url, KEY, env={}, timeout=5) as gw:
        result = await gw.stream_message("m", "x")
        catalog = await gw.list_models()
    assert result.cause is Cause.CONNECT
    assert "refused" in result.detail
    assert catalog.probe.cause is Cause.CONNECT


async def test_server_that_never_answers_is_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes the handshake; nobody ever reads or writes
    port = listener.getsockname()[1]
    try:
        url = parse_base_url(f"http://127.0.0.1:{port}/llm_proxy/{ORG}/v1")
        async with GatewayClient(url, KEY, env={}, timeout=0.3) as gw:
            result = await gw.stream_message("m", "x")
    finally:
        listener.close()
    assert result.cause is Cause.TIMEOUT
    assert "timed out" in result.detail
    assert 250 <= result.timings.total_ms < 5000


async def test_unresolvable_name_is_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    # The resolver here would send a query off-box even for .invalid, so resolution is faked for that name.
    real = socket.getaddrinfo

    def fake_getaddrinfo(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = parse_base_url(f"https://gateway.optscale.invalid/llm_proxy/{ORG}/v1")
    async with GatewayClient(url, KEY, env={}, timeout=5) as gw:
        result = await gw.stream_message("m", "x")
    assert result.cause is Cause.DNS
    assert "lookup failed" in result.detail
