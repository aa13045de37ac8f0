"""Connection values as users paste them from OptScale Chat: Base URL, API key, model names.

Everything is parsed into small frozen objects once, at the edge; the rest of the product never handles raw strings.
The /v1 → /anthropic rule (Chat shows …/v1, Claude Code needs …/anthropic) lives in `parse_base_url`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import uuid
from dataclasses import dataclass, field, replace
from urllib.parse import SplitResult, urlsplit, urlunsplit

from optscale_tui.core.causes import Cause

# mask_secret lives in core/secrets.py; it is also imported from here by older code, so it stays re-exported.
from optscale_tui.core.secrets import clean_outside_text, has_key_shape, mask_secret

_QUOTES = "\"'`“”‘’<>"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class InputError(ValueError):
    """A value the user typed cannot be used. `field` names the input, `cause` a diagnosis when one fits."""

    def __init__(self, field_name: str, reason: str, cause: Cause | None = None) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason
        self.cause = cause


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _clean(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


@dataclass(frozen=True, slots=True)
class GatewayUrl:
    """The gateway's address in both shapes the product needs.

    `openai_base` is what OptScale Chat shows (…/v1); `anthropic_base` is what Claude Code wants in
    ANTHROPIC_BASE_URL (…/anthropic, no /v1: Claude Code appends /v1/messages itself).
    """

    proxy_root: str  # scheme://host[:port]/…/llm_proxy/<org> (or whatever precedes /v1 or /anthropic)
    org_id: str | None
    is_loopback: bool
    is_https: bool
    warnings: tuple[str, ...] = ()
    # Set when the URL comes from a settings file: the ANTHROPIC_BASE_URL exactly as Claude Code will use it,
    # even when it is wrong (e.g. left at /v1), so verification probes what Claude Code really requests.
    anthropic_literal: str | None = None

    @property
    def openai_base(self) -> str:
        return f"{self.proxy_root}/v1"

    @property
    def anthropic_base(self) -> str:
        return self.anthropic_literal or f"{self.proxy_root}/anthropic"

    @property
    def ends_in_v1(self) -> bool:
        return bool(self.anthropic_literal) and self.anthropic_literal.rstrip("/").lower().endswith("/v1")

    @property
    def host(self) -> str:
        return urlsplit(self.proxy_root).hostname or ""

    @property
    def origin(self) -> str:
        parts = urlsplit(self.proxy_root)
        return f"{parts.scheme}://{parts.netloc}"


def looks_like_api_key(text: str | None) -> bool:
    """A value pasted into the wrong field: an API key (sk-…), not a URL. Used to keep it off the screen."""
    raw = _clean(text or "")
    return raw.lower().startswith(("sk-", "bearer sk-")) and "://" not in raw and "/" not in raw


_KEY_IN_TEXT = re.compile(r"(?:bearer\s+)?(sk-bf-[A-Za-z0-9._~+\-]+)", re.I)


def split_key_from_url(text: str | None) -> tuple[str, str] | None:
    """(URL text, key) when an OptScale key (sk-bf-…) sits inside what was typed or pasted into the URL field, e.g.
    the key typed before the focus had moved on; None otherwise. The key must never be shown there in clear."""
    match = _KEY_IN_TEXT.search(text or "")
    if match is None:
        return None
    rest = (text[: match.start()] + text[match.end():]).strip()
    return rest, match.group(1)


def _is_control(ch: str) -> bool:
    """A control, format (invisible) or surrogate character: never part of a URL as OptScale Chat shows it."""
    return not ch.isspace() and unicodedata.category(ch) in ("Cc", "Cf", "Cs")


def _masked_key_in(text: str) -> str:
    """The key found in `text`, masked (for a message that must say what was found without repeating it)."""
    found = split_key_from_url(text)
    if found is not None:
        return mask_secret(found[1])
    match = re.search(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_.~+\-]+", text, re.I)
    return mask_secret(match.group(0)) if match else "sk-…"


MAX_HOST_LENGTH = 253  # DNS: a name of at most 253 characters …
MAX_LABEL_LENGTH = 63  # … in labels of at most 63


def _host_name_problem(host: str) -> str | None:
    """Why a host name cannot be resolved (None: it can be tried). IP literals are left to the IP parser."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host  # one trailing dot: a fully qualified name
    if len(name) > MAX_HOST_LENGTH:
        return f"is {len(name)} characters long; DNS allows at most {MAX_HOST_LENGTH}"
    labels = name.split(".")
    if any(not label for label in labels):
        return "has an empty part between dots (e.g. a..b); check it for a typo"
    longest = max(labels, key=len)
    if len(longest) > MAX_LABEL_LENGTH:
        return (f"has a part of {len(longest)} characters between dots; DNS allows at most {MAX_LABEL_LENGTH} "
                "(was something else pasted into it?)")
    return None


def parse_base_url(text: str) -> GatewayUrl:
    """Parse any form of the Base URL a user is likely to paste.

    Accepts `…/llm_proxy/<uuid>/v1` (what Chat shows), `…/anthropic`, the bare `…/llm_proxy/<uuid>`, with trailing
    slashes, surrounding whitespace or quotes. Raises InputError with a plain reason otherwise.

    The /v1 → /anthropic rule: whatever the pasted form, the path is cut back to the proxy root (`_proxy_root_path`)
    and GatewayUrl adds `/v1` (`openai_base`) or `/anthropic` (`anthropic_base`, what Claude Code needs) to it.
    """
    raw = _clean(text or "")
    _reject_pasted_text(raw)
    parts, port = _split_url(raw)
    scheme = parts.scheme.lower()
    _reject_url_parts(raw, parts, scheme)
    loopback = is_loopback_host(parts.hostname)
    if scheme == "http" and not loopback:
        raise InputError(
            "base_url",
            "Plain http:// would send the API key unencrypted; use the https:// Base URL "
            "(http:// is only accepted for 127.0.0.1/localhost).",
            Cause.INSECURE_HTTP,
        )
    segments = _proxy_root_path(parts.path)
    warnings: list[str] = []
    if loopback and scheme == "http":
        warnings.append("Plain http:// accepted because the host is this machine (loopback).")
    org_id = _organisation_id(segments, warnings)
    path = "/" + "/".join(segments) if segments else ""
    root = urlunsplit((scheme, _netloc(parts.hostname or "", scheme, port), path, "", ""))
    return GatewayUrl(
        proxy_root=root.rstrip("/"),
        org_id=org_id,
        is_loopback=loopback,
        is_https=scheme == "https",
        warnings=tuple(warnings),
    )


def _reject_pasted_text(raw: str) -> None:
    """Refuse text that is not a URL as OptScale Chat shows it, before it is parsed as one."""
    if not raw:
        raise InputError("base_url", "Paste the Base URL from OptScale Chat (it starts with https://).")
    if looks_like_api_key(raw):
        raise InputError("base_url", "That is the API key, not the Base URL; it belongs in the API key field.")
    if "://" not in raw:
        raise InputError("base_url", "The Base URL must start with https:// (e.g. https://my.optscale.ai/llm_proxy/…/v1).")
    if split_key_from_url(raw) is not None or any(has_key_shape(s) for s in raw.split("://", 1)[-1].split("/")):
        # A key typed into the URL would be echoed by every warning and saved in ANTHROPIC_BASE_URL.
        raise InputError("base_url", f"The Base URL contains what looks like an API key ({_masked_key_in(raw)}); "
                                     "the key belongs in its own field, not in the URL.")
    if any(_is_control(ch) for ch in raw):
        raise InputError("base_url", "The Base URL contains control characters (e.g. a terminal escape sequence); "
                                     "paste it again from OptScale Chat.")
    if any(ch.isspace() for ch in raw):
        raise InputError("base_url", "The Base URL contains spaces; paste it again as one piece.")


def _split_url(raw: str) -> tuple[SplitResult, int | None]:
    """The URL's parts and its port (None: none given)."""
    try:
        parts = urlsplit(raw)
    except ValueError as exc:  # e.g. an unbalanced [ ] around an IPv6 address
        raise InputError("base_url", f"The Base URL is not a valid URL ({clean_outside_text(str(exc))}).") from None
    try:
        port = parts.port  # raises on a non-numeric or out-of-range port, quoting it
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        # Our own words: urllib's message quotes the port as typed (a key pasted there would be echoed).
        raise InputError("base_url", "The port in the Base URL must be a number from 1 to 65535 (or left out).")
    return parts, port


def _reject_url_parts(raw: str, parts: SplitResult, scheme: str) -> None:
    """Refuse a scheme, host, credentials, query or fragment a gateway Base URL cannot have."""
    if scheme not in ("http", "https"):
        raise InputError("base_url", f"The Base URL must use https://, not {clean_outside_text(scheme)}://.")
    if not parts.hostname:
        raise InputError("base_url", "The Base URL has no host name.")
    host_problem = _host_name_problem(parts.hostname)
    if host_problem:
        raise InputError("base_url", f"The Base URL's host name {host_problem}.")
    if parts.username is not None or parts.password is not None:
        raise InputError("base_url", "The Base URL must not contain a user name or password; the API key goes in its own field.")
    if parts.query:
        raise InputError("base_url", "The Base URL must not contain a query (?…); copy it exactly as OptScale Chat shows it.")
    if parts.fragment or raw.endswith("#"):
        raise InputError("base_url", "The Base URL must not contain a fragment (#…).")


# What users commonly over-copy after the proxy root: /v1, /anthropic, /v1/chat/completions, /anthropic/v1/messages …
_API_SUFFIX_SEGMENTS = ("v1", "anthropic", "chat", "completions", "messages", "models")


def _proxy_root_path(path: str) -> list[str]:
    """The path's segments up to the proxy root: any API suffix (/v1, /anthropic, …) cut off."""
    segments = [s for s in path.split("/") if s]
    while segments and segments[-1].lower() in _API_SUFFIX_SEGMENTS:
        segments.pop()
    return segments


def _organisation_id(segments: list[str], warnings: list[str]) -> str | None:
    """The organisation UUID after /llm_proxy/, or None; what looks wrong about it is added to `warnings`."""
    lowered = [s.lower() for s in segments]
    if "llm_proxy" not in lowered:
        warnings.append("The URL has no /llm_proxy/<organisation-id> segment; OptScale gateway URLs normally do.")
        return None
    idx = lowered.index("llm_proxy")
    candidate = segments[idx + 1] if idx + 1 < len(segments) else None
    if candidate is None:
        warnings.append("The URL has no organisation id after /llm_proxy/; copy the full Base URL from OptScale Chat.")
        return None
    org_id: str | None = None
    try:
        uuid.UUID(candidate)
        org_id = candidate.lower()
    except ValueError:
        warnings.append(f"'{clean_outside_text(candidate)}' after /llm_proxy/ is not an organisation UUID; "
                        "check the Base URL.")
    extra = segments[idx + 2 :]
    if extra:
        warnings.append(f"Unexpected path after the organisation id: /{clean_outside_text('/'.join(extra))}.")
    return org_id


def _netloc(hostname: str, scheme: str, port: int | None) -> str:
    """host[:port] in lower case, the port left out when it is the scheme's default."""
    netloc = hostname.lower()
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if port is not None and not ((scheme == "https" and port == 443) or (scheme == "http" and port == 80)):
        netloc = f"{netloc}:{port}"
    return netloc


def parse_anthropic_base_url(text: str) -> GatewayUrl:
    """ANTHROPIC_BASE_URL as found in a settings file: validated like any Base URL, but kept literally."""
    parsed = parse_base_url(text)
    literal = _clean(text).rstrip("/")
    return replace(parsed, anthropic_literal=literal)


# Bifrost virtual keys are "sk-bf-" and a UUID (42 characters); the demo's are 30. Anything much shorter was cut.
MIN_VIRTUAL_KEY_LENGTH = 20


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A gateway virtual key. repr/str never show the secret."""

    value: str = field(repr=False)

    @property
    def masked(self) -> str:
        return mask_secret(self.value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"ApiKey({self.masked!r})"

    @property
    def doubt(self) -> str | None:
        """Why a key that can be sent still looks wrong (None: it looks like an OptScale virtual key). Other
        gateways' keys are still accepted: the gateway has the last word, this only says what to check."""
        if not self.value.startswith("sk-bf-"):
            return "it does not start with sk-bf- as OptScale virtual keys do; check it is the one from OptScale Chat"
        if len(self.value) < MIN_VIRTUAL_KEY_LENGTH:
            return f"it is only {len(self.value)} characters long; it may have been cut when copied"
        return None


def parse_api_key(text: str) -> ApiKey:
    raw = _clean(text or "")
    if raw.lower().startswith("bearer ") or raw.lower() == "bearer":
        raw = raw[6:].strip()  # pasted with the header scheme
    if not raw:
        raise InputError("api_key", "Paste the API key from OptScale Chat (it starts with sk-bf-).")
    if any(ch.isspace() for ch in raw):
        raise InputError("api_key", "The API key contains spaces or line breaks; paste it again as one piece.")
    if not raw.isprintable() or not raw.isascii():
        raise InputError("api_key", "The API key contains characters that cannot be sent in an HTTP header.")
    return ApiKey(raw)


_MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+\-/]*(\[1m\])?$")


def parse_model_name(text: str | None) -> str | None:
    """A model name as the gateway lists it: `provider/model`, a bare name, optionally with Claude Code's `[1m]`.

    Returns None for an empty value (the tier is left unmapped).
    """
    raw = _clean(text or "")
    if not raw:
        return None
    if has_key_shape(raw):
        # A model id holding a key (typed, or listed so by a hostile gateway) would be saved in clear in the
        # settings file, where nothing masks model names.
        raise InputError("model", f"'{clean_outside_text(raw, single_line=True)}' looks like an API key, not a "
                                  "model name; use the Model name from OptScale Chat, e.g. anthropic/claude-sonnet-4-6.")
    if not _MODEL_RE.match(raw) or raw.endswith("/") or "//" in raw:
        raise InputError("model", f"'{clean_outside_text(raw, single_line=True)}' is not a model name; use the Model "
                                  "name from OptScale Chat, e.g. anthropic/claude-sonnet-4-6.")
    return raw


@dataclass(frozen=True, slots=True)
class TierMapping:
    """Which gateway model serves each Claude Code tier. None means unmapped (the env key is removed)."""

    haiku: str | None = None
    sonnet: str | None = None
    opus: str | None = None
    main_model: str | None = None  # top-level `model` in settings.json
    subagent_model: str | None = None  # CLAUDE_CODE_SUBAGENT_MODEL

    def tiers(self) -> dict[str, str | None]:
        return {"haiku": self.haiku, "sonnet": self.sonnet, "opus": self.opus}

    def mapped(self) -> dict[str, str]:
        return {t: m for t, m in self.tiers().items() if m}

    @property
    def any_tier(self) -> bool:
        return bool(self.mapped())


@dataclass(frozen=True, slots=True)
class ConnectionValues:
    """Everything the user chose: the first object on the data path (values → plan → save → verify)."""

    url: GatewayUrl
    key: ApiKey | None  # None: keep the key already in the settings file
    tiers: TierMapping = TierMapping()
    disable_experimental_betas: bool | None = None  # None: leave the file's value alone
    display_names: dict[str, str] = field(default_factory=dict)  # tier -> ANTHROPIC_DEFAULT_<TIER>_MODEL_NAME


