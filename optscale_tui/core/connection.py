"""Connection values as users paste them from OptScale Chat: Base URL, API key, model names.

Everything is parsed into small frozen objects once, at the edge; the rest of the product never handles raw strings.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit, urlunsplit

from optscale_tui.core.causes import Cause

# mask_secret lives in core/secrets.py; it is also imported from here by older code, so it stays re-exported.
from optscale_tui.core.secrets import clean_outside_text, has_key_shape, is_clean, mask_secret

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
    """
    raw = _clean(text or "")
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
    scheme = parts.scheme.lower()
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
    loopback = is_loopback_host(parts.hostname)
    if scheme == "http" and not loopback:
        raise InputError(
            "base_url",
            "Plain http:// would send the API key unencrypted; use the https:// Base URL "
            "(http:// is only accepted for 127.0.0.1/localhost).",
            Cause.INSECURE_HTTP,
        )

    segments = [s for s in parts.path.split("/") if s]
    while segments and segments[-1].lower() in ("v1", "anthropic", "chat", "completions", "messages", "models"):
        # Strip what users commonly over-copy: /v1, /anthropic, /v1/chat/completions, /anthropic/v1/messages …
        segments.pop()
    warnings: list[str] = []
    if loopback and scheme == "http":
        warnings.append("Plain http:// accepted because the host is this machine (loopback).")
    org_id: str | None = None
    lowered = [s.lower() for s in segments]
    if "llm_proxy" in lowered:
        idx = lowered.index("llm_proxy")
        candidate = segments[idx + 1] if idx + 1 < len(segments) else None
        if candidate is None:
            warnings.append("The URL has no organisation id after /llm_proxy/; copy the full Base URL from OptScale Chat.")
        else:
            try:
                uuid.UUID(candidate)
                org_id = candidate.lower()
            except ValueError:
                warnings.append(f"'{clean_outside_text(candidate)}' after /llm_proxy/ is not an organisation UUID; "
                                "check the Base URL.")
            extra = segments[idx + 2 :]
            if extra:
                warnings.append(f"Unexpected path after the organisation id: /{clean_outside_text('/'.join(extra))}.")
    else:
        warnings.append("The URL has no /llm_proxy/<organisation-id> segment; OptScale gateway URLs normally do.")

    netloc = parts.hostname.lower()
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if port is not None and not ((scheme == "https" and port == 443) or (scheme == "http" and port == 80)):
        netloc = f"{netloc}:{port}"
    path = "/" + "/".join(segments) if segments else ""
    root = urlunsplit((scheme, netloc, path, "", ""))
    return GatewayUrl(
        proxy_root=root.rstrip("/"),
        org_id=org_id,
        is_loopback=loopback,
        is_https=scheme == "https",
        warnings=tuple(warnings),
    )


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


def is_mappable_model(model: str | None) -> bool:
    """Whether a model id (e.g. from the gateway's catalog) may be written into the settings as it is: only when it
    is shown exactly as it is. An id that had to be changed for display (control characters, something shaped like
    a key) is refused, never saved in its changed form (a name the gateway does not know) nor in its raw one (what
    the user never saw, or a key in clear)."""
    return bool(model) and is_clean(model)


def strip_context_suffix(model: str) -> str:
    """Claude Code strips `[1m]` before sending; the gateway catalog never has it."""
    return model[:-4] if model.endswith("[1m]") else model


TIERS = ("haiku", "sonnet", "opus")


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


# --- which catalog model suits which tier ------------------------------------------------------------------------

_FAMILY_RE = {tier: re.compile(rf"(?<![a-z]){tier}(?![a-z])") for tier in TIERS}
# A version right after the family ("claude-opus-4-1-20250805", "Claude Sonnet 4.6") or, in the older naming, right
# before it ("claude-3-5-sonnet"). Components are 1–2 digits, so a release date is never read as a version.
_VERSION = r"(?<!\d)(\d{1,2}(?!\d)(?:[-._]\d{1,2}(?!\d))*)"
_VERSION_AFTER = {t: re.compile(rf"(?<![a-z]){t}[-_. ]?{_VERSION}") for t in TIERS}
_VERSION_BEFORE = {t: re.compile(rf"{_VERSION}[-_. ]?{t}(?![a-z])") for t in TIERS}
_NEAREST = {"opus": ("sonnet", "haiku"), "sonnet": ("opus", "haiku"), "haiku": ("sonnet", "opus")}


def model_family(model: str, display_name: str | None = None) -> str | None:
    """The Claude Code tier a model is named for ("haiku", "sonnet", "opus"), by its id or display name, or None."""
    for text in (model.lower(), (display_name or "").lower()):
        found = [tier for tier in TIERS if _FAMILY_RE[tier].search(text)]
        if len(found) == 1:
            return found[0]
    return None


def _version(tier: str, model: str, display_name: str | None) -> tuple[int, ...]:
    for text in (model.rsplit("/", 1)[-1].lower(), (display_name or "").lower()):
        match = _VERSION_AFTER[tier].search(text) or _VERSION_BEFORE[tier].search(text)
        if match:
            return tuple(int(part) for part in re.split(r"[-._]", match.group(1)))
    return ()


@dataclass(frozen=True, slots=True)
class TierSuggestion:
    """The model suggested for an unmapped tier. When it is not named for the tier (`matches_family` False: no
    candidate of that family), callers must say so; `borrowed_from` is the tier whose model it borrows, if any."""

    tier: str
    model: str
    matches_family: bool = True
    borrowed_from: str | None = None

    @property
    def note(self) -> str:
        """Why the model is not named for the tier, in plain words ("" when it is)."""
        if self.matches_family:
            return ""
        whose = f"; uses {self.borrowed_from.capitalize()}'s model" if self.borrowed_from else ""
        return f"no {self.tier.capitalize()} model known{whose}"


def suggest_tier_models(
    tiers: TierMapping,
    candidates: Iterable[str | tuple[str, str | None]],
    *,
    fallback: str | None = None,
) -> dict[str, TierSuggestion]:
    """A model for each unmapped tier, in the order opus, sonnet, haiku (the default session follows Opus).

    `candidates` are catalog model ids (or `(id, display_name)` pairs), in catalog order. Each unmapped tier gets the
    candidate named for its family (opus/sonnet/haiku in the id or display name), preferring `anthropic/` ids, then
    the newest version (4-6 over 4-5; numbers, not strings), then catalog order. A tier whose family no candidate has
    borrows its nearest neighbour's model (mapped, or suggested for its family), else gets `fallback`; without
    either it is left out.
    """
    pairs = [(c, None) if isinstance(c, str) else c for c in candidates]
    pairs = [(m, name) for m, name in pairs if is_mappable_model(m)]  # never suggest what cannot be saved as is
    if fallback is not None and not is_mappable_model(fallback):
        fallback = None
    suggestions: dict[str, TierSuggestion] = {}
    for tier in ("opus", "sonnet", "haiku"):
        if getattr(tiers, tier):
            continue
        family = [(i, m, name) for i, (m, name) in enumerate(pairs) if model_family(m, name) == tier]
        if family:
            _, model, _ = max(family, key=lambda f: (f[1].lower().startswith("anthropic/"),
                                                    _version(tier, f[1], f[2]), -f[0]))
            suggestions[tier] = TierSuggestion(tier, model)
    for tier in ("opus", "sonnet", "haiku"):
        if getattr(tiers, tier) or tier in suggestions:
            continue
        for near in _NEAREST[tier]:
            model = getattr(tiers, near) or (suggestions[near].model if near in suggestions and
                                             suggestions[near].matches_family else None)
            if model:
                suggestions[tier] = TierSuggestion(tier, model, matches_family=False, borrowed_from=near)
                break
        else:
            if fallback:
                suggestions[tier] = TierSuggestion(tier, fallback, matches_family=False)
    return {t: suggestions[t] for t in ("opus", "sonnet", "haiku") if t in suggestions}


# --- which mapped models the key's catalog lists -----------------------------------------------------------------

# The names Claude Code resolves itself (to a tier's model) when they are the main or subagent model: not gateway ids.
CLAUDE_CODE_MODEL_ALIASES = frozenset({*TIERS, "default", "opusplan"})
MAPPED_TARGETS = ("haiku", "sonnet", "opus", "main_model", "subagent_model")


def models_not_in_catalog(tiers: TierMapping, catalog: Iterable[str]) -> dict[str, str]:
    """The mapped targets (tiers, main model, subagent model) whose model the catalog does not list: target → model.

    `catalog` is the model ids the gateway listed for the key. A `[1m]` suffix is ignored (Claude Code strips it
    before sending), and a Claude Code alias as the main or subagent model ("opus", "sonnet[1m]", "default"…) is
    left out: it resolves to a tier, which is checked itself. An empty catalog lists nothing, so every mapped model
    is returned; a caller without a catalog must not call this (there is nothing to check against).
    """
    ids = set(catalog)
    missing: dict[str, str] = {}
    for target in MAPPED_TARGETS:
        model = getattr(tiers, target)
        if not model:
            continue
        sent = strip_context_suffix(model)
        if sent in ids:
            continue
        if target in ("main_model", "subagent_model") and sent.lower() in CLAUDE_CODE_MODEL_ALIASES:
            continue
        missing[target] = model
    return missing
