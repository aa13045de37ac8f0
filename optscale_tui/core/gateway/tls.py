"""An `ssl.SSLContext` that trusts what Claude Code trusts.

Claude Code (Bun/Node) trusts `CLAUDE_CODE_CERT_STORE=bundled,system` by default: its bundled Mozilla roots plus the
operating system's store, plus the PEM file named by `NODE_EXTRA_CA_CERTS`. We mirror that:

* the **system store** through `truststore.SSLContext` — on Linux it loads OpenSSL's default locations (or the
  distribution's bundle), on macOS / Windows it asks the OS verifier (Keychain / CryptoAPI), so a corporate root
  installed by IT is honoured the way Claude Code honours it;
* the **Mozilla bundle** (certifi, the same source Node bundles);
* `NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE` and `--ca-bundle PATH`, each loaded with `load_verify_locations`.

Why truststore even when extra CA files are given: truststore 0.10 forwards `load_verify_locations` to its inner
context on every platform (on Linux OpenSSL verifies against system + extra roots; on macOS / Windows the loaded
roots are passed to the OS verifier as extra anchors), so one code path covers both cases. Only when truststore is
unavailable or cannot build a context on this platform do we fall back to the stdlib
`ssl.create_default_context()` + `load_default_certs()` + certifi — still verifying, with the same extra files.

Verification is never switched off here or anywhere else: the context always requires a valid chain and a matching
host name. A CA file that is missing or unreadable raises `TrustError` naming the variable (or `--ca-bundle`), so
callers can show one line instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import ssl
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import InputError

# The environment variables that add CA files, in the order they are loaded. NODE_EXTRA_CA_CERTS is what Claude Code
# reads (from the shell only — settings.json's env block cannot set it); SSL_CERT_FILE is the OpenSSL convention that
# Python tools and curl honour.
CA_ENV_VARS: tuple[str, ...] = ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE")
CA_BUNDLE_OPTION = "--ca-bundle"


class TrustError(InputError):
    """A CA file we were told to trust cannot be used. `source` is the variable name or `--ca-bundle`."""

    def __init__(self, source: str, path: str, reason: str) -> None:
        self.source = source
        self.path = path
        super().__init__(
            "ca_bundle" if source == CA_BUNDLE_OPTION else source,
            f"{source} points to {path}, which {reason}.",
            Cause.TLS_UNTRUSTED,
        )


@dataclass(frozen=True, slots=True)
class CaSource:
    """One extra CA file: where it came from (variable name or `--ca-bundle`) and its path."""

    source: str
    path: Path


def extra_ca_sources(
    ca_bundle: Path | str | None = None, env: Mapping[str, str] | None = None
) -> list[CaSource]:
    """The extra CA files in use: NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, then --ca-bundle (empty values ignored)."""
    env = os.environ if env is None else env
    sources: list[CaSource] = []
    for name in CA_ENV_VARS:
        value = (env.get(name) or "").strip()
        if value:
            sources.append(CaSource(name, Path(value).expanduser()))
    if ca_bundle is not None and str(ca_bundle).strip():
        sources.append(CaSource(CA_BUNDLE_OPTION, Path(ca_bundle).expanduser()))
    return sources


def _system_context() -> tuple[ssl.SSLContext, str]:
    """A verifying client context backed by the OS store, and a words-description of which one."""
    try:
        import truststore

        ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return ctx, "system certificate store (via truststore)"
    except Exception:  # truststore missing or unsupported here: stdlib defaults still verify
        ctx = ssl.create_default_context()
        ctx.load_default_certs()
        return ctx, "OpenSSL default certificate locations"


def _load_certifi(ctx: ssl.SSLContext) -> str | None:
    try:
        import certifi

        ctx.load_verify_locations(cafile=certifi.where())
        return f"Mozilla CA bundle (certifi {getattr(certifi, '__version__', '?')})"
    except Exception:
        return None


# A CA bundle is a few hundred KB (the whole Mozilla bundle is ~300 KB); the cap keeps /dev/zero out of memory.
MAX_CA_FILE_BYTES = 16 * 1024 * 1024
_PEM_BLOCK_RE = re.compile(rb"-----BEGIN (?:TRUSTED )?CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END (?:TRUSTED )?"
                           rb"CERTIFICATE-----")


def _load_extra(ctx: ssl.SSLContext, src: CaSource) -> None:
    """Load one extra CA file (or a hashed folder). The file is read by us, not by OpenSSL: only a regular file,
    never blocking (a FIFO there would hang OpenSSL's open for ever) and never more than MAX_CA_FILE_BYTES."""
    from optscale_tui.core.config.errors import SettingsError
    from optscale_tui.core.config.files import read_regular_file

    path = src.path
    try:
        is_dir = stat.S_ISDIR(os.stat(path).st_mode)
    except FileNotFoundError:
        raise TrustError(src.source, str(path), "does not exist") from None
    except OSError as exc:
        why = "is a loop of symbolic links" if exc.errno == errno.ELOOP else f"cannot be read ({exc.strerror or exc})"
        raise TrustError(src.source, str(path), why) from None
    if is_dir:
        ctx.load_verify_locations(capath=str(path))
        return
    try:
        data = read_regular_file(path, limit=MAX_CA_FILE_BYTES)
    except SettingsError as exc:
        reason = exc.reason.replace("; optscale-tui neither reads nor replaces it", ", so it is not read")
        if "denied" in reason.lower():
            reason = "cannot be read (permission denied)"
        raise TrustError(src.source, str(path), reason) from None
    if data is None:
        raise TrustError(src.source, str(path), "does not exist")
    blocks = _PEM_BLOCK_RE.findall(data)
    if not blocks:
        raise TrustError(src.source, str(path), "does not contain a PEM certificate (no BEGIN CERTIFICATE block)")
    try:
        ctx.load_verify_locations(cadata=b"\n".join(blocks).decode("ascii"))
    except ssl.SSLError as exc:
        raise TrustError(
            src.source, str(path), f"does not contain a PEM certificate ({exc.reason or exc})"
        ) from None


def build_ssl_context(
    ca_bundle: Path | str | None = None, env: Mapping[str, str] | None = None
) -> ssl.SSLContext:
    """A client context trusting the system store, the Mozilla bundle and every extra CA file in use.

    `env` defaults to `os.environ`; pass a mapping to make the CA variables explicit (tests, the doctor).
    Raises `TrustError` when a configured CA file is missing, unreadable or not PEM.
    """
    ctx, _ = _system_context()
    _load_certifi(ctx)
    for src in extra_ca_sources(ca_bundle, env):
        _load_extra(ctx, src)
    # Belt and braces: whatever the backend, a chain and a matching host name are required.
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def describe_trust(env: Mapping[str, str] | None = None, ca_bundle: Path | str | None = None) -> list[str]:
    """Which trust sources are in use, one plain line each, for diagnostics. Never raises; problems are described."""
    lines: list[str] = []
    try:
        ctx, system = _system_context()
        lines.append(system)
        bundled = _load_certifi(ctx)
        if bundled:
            lines.append(bundled)
    except Exception as exc:  # pragma: no cover - defensive: describing must not fail
        lines.append(f"system certificate store unavailable ({exc})")
    for src in extra_ca_sources(ca_bundle, env):
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            _load_extra(probe, src)
        except TrustError as exc:
            lines.append(f"{src.source}={src.path}: not usable — {exc.reason}")
            continue
        count = len(probe.get_ca_certs())
        noun = "certificate" if count == 1 else "certificates"
        extra = f" ({count} {noun})" if count or not src.path.is_dir() else " (directory, loaded on demand)"
        lines.append(f"{src.source}={src.path}{extra}")
    return lines


_CONTEXTS: dict[tuple[tuple[str, str, int, int], ...], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def shared_ssl_context(
    ca_bundle: Path | str | None = None, env: Mapping[str, str] | None = None
) -> ssl.SSLContext:
    """`build_ssl_context`, reused while the CA files in use are unchanged.

    Loading the system store and the Mozilla bundle costs ~70 ms; the TUI re-runs verification and the engine opens
    one client per run, so the context is built once per set of CA files (keyed by path, mtime and size).
    """
    key_parts = []
    for src in extra_ca_sources(ca_bundle, env):
        try:
            st = src.path.stat()
            key_parts.append((src.source, str(src.path), st.st_mtime_ns, st.st_size))
        except OSError:
            return build_ssl_context(ca_bundle, env)  # let the builder raise its clear TrustError
    key = tuple(key_parts)
    with _CONTEXTS_LOCK:
        ctx = _CONTEXTS.get(key)
        if ctx is None:
            ctx = _CONTEXTS[key] = build_ssl_context(ca_bundle, env)
        return ctx
