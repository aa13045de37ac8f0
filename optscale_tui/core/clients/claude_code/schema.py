"""How Claude Code's settings.json holds a gateway connection: ONE table (SCHEMA) of edited value <-> settings key
<-> secret? <-> how the stored text reads back, and what is derived from it (OWNED_ENV_KEYS, SAVED_AS,
stored_values), with the two plans that write and remove a connection (plan_apply, plan_remove).

The rules worth knowing:
- plan_apply writes only the keys this table owns; every other key stays, byte for byte (core/config's editor).
  New env keys go right after our existing ones (in table order), so the diff shows only ours.
- ANTHROPIC_API_KEY is dropped when a token is written: Claude Code would send two credentials.
- A tier's /model label (_NAME, _DESCRIPTION) names the model it was written for: when the tier now maps another
  model and no new label is given, it is dropped (a label for the same model stays).
- The top-level `model` is set when a main model is given. Without one, a `model` the values cannot serve is removed
  (main_model_left_behind: another gateway's id, an alias of a tier left unmapped); one that reaches their models,
  or that was chosen for the same gateway, stays.
- plan_remove deletes the `env` block only when it held nothing but our keys (so apply → remove gives back the
  original bytes); an `env` that was already empty is left alone. A top-level `model` is removed only when it is a
  gateway model id (`provider/model`), which means nothing without the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from optscale_tui.core.clients.claude_code.models import (
    CLAUDE_CODE_BUILTIN_MODELS,
    CLAUDE_CODE_TIERS,
    RESOLVED_BY_CLAUDE_CODE,
    TIERS,
    TIERS_OF_ALIAS,
    strip_context_suffix,
)
from optscale_tui.core.config.plan import (
    SettingsDocument,
    SettingsEdits,
    SettingsPlan,
    build_plan,
)
from optscale_tui.core.config.plan import plan_env_edit as _plan_env_edit
from optscale_tui.core.connection import (
    ConnectionValues,
    GatewayUrl,
    InputError,
    TierMapping,
    parse_anthropic_base_url,
    parse_model_name,
)


def read_text(value: object) -> str | None:
    """A non-empty string as stored, else absent."""
    return value if isinstance(value, str) and value else None


def read_model(value: object) -> str | None:
    """A model name core accepts, else absent (a name core would refuse is not offered for editing)."""
    try:
        return parse_model_name(value) if isinstance(value, str) else None
    except InputError:
        return None


def read_url(value: object) -> GatewayUrl | None:
    """ANTHROPIC_BASE_URL as the gateway URL it names, else absent."""
    text = read_text(value)
    try:
        return parse_anthropic_base_url(text) if text else None
    except InputError:
        return None


def read_flag(value: object) -> bool | None:
    """"1" or "true" is on; any other value off; absent (None) when the file does not say."""
    return None if value is None else str(value).strip() in ("1", "true")


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the table: a value Claude Code reads from its settings, and what optscale-tui does with it."""

    key: str  # the env name, or the top-level key when `top_level`
    value: str | None = None  # the edited value saved in it ("url", "haiku", "name.haiku", ...); None: not ours
    read: Callable[[object], object] = read_text  # the stored JSON value -> the edited value (absent: None)
    top_level: bool = False
    secret: bool = False  # agrees with core.secrets.is_secret_name (a test holds them together)
    tier: str | None = None  # the Claude Code tier the key is about (its model, or its /model label)
    label: bool = False  # the tier's /model label, not its model
    routes: bool = False  # decides where requests go, with what credential, for which model

    @property
    def saved_as(self) -> str:
        """The key as a plan's change names it: "env.NAME" or the top-level key."""
        return self.key if self.top_level else f"env.{self.key}"

    @property
    def owned(self) -> bool:
        """An env key optscale-tui writes (and plan_remove takes out again)."""
        return self.value is not None and not self.top_level


# The env form of the main model. Claude Code ranks it above the settings file's top-level `model` (only --model and
# /model beat it), so a value left there from another connection wins over the main model written beside it.
MAIN_MODEL_ENV = "ANTHROPIC_MODEL"


def _model_key(tier: str) -> str:
    return f"ANTHROPIC_DEFAULT_{tier.upper()}_MODEL"


# Row order matters: owned env keys are inserted in this order, and SAVED_AS lists the values in it (labels last).
SCHEMA: tuple[Setting, ...] = (
    Setting("ANTHROPIC_BASE_URL", "url", read_url, routes=True),
    Setting("ANTHROPIC_AUTH_TOKEN", "key", secret=True, routes=True),
    *(Setting(_model_key(t), t, read_model, tier=t, routes=True) for t in TIERS),
    Setting("model", "main_model", read_model, top_level=True),
    *(Setting(f"{_model_key(t)}_NAME", f"name.{t}", tier=t, label=True) for t in TIERS),
    Setting("CLAUDE_CODE_SUBAGENT_MODEL", "subagent_model", read_model),
    Setting("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS", "disable_experimental_betas", read_flag),
    # Not ours, but Claude Code reads them: plan_apply drops the first, the doctor watches the others, and a `run`
    # session blanks them when another layer sets them.
    Setting("ANTHROPIC_API_KEY", secret=True),
    Setting(MAIN_MODEL_ENV, read=read_model, routes=True),
    Setting(_model_key("fable"), read=read_model, tier="fable", routes=True),
    Setting("ANTHROPIC_SMALL_FAST_MODEL", read=read_model),  # the deprecated name of the Haiku (background) model
    # The /model labels we do not write; like ours, each describes the model it was written for.
    Setting(f"{_model_key('fable')}_NAME", tier="fable", label=True),
    *(Setting(f"{_model_key(t)}_DESCRIPTION", tier=t, label=True) for t in CLAUDE_CODE_TIERS),
)
SETTING: dict[str, Setting] = {row.value: row for row in SCHEMA if row.value is not None}  # by edited value
OWNED_ENV_KEYS: tuple[str, ...] = tuple(row.key for row in SCHEMA if row.owned)
# Each value the app edits and the settings key plan_apply saves it in ("name.<tier>": the tier's /model label).
SAVED_AS: dict[str, str] = {row.value: row.saved_as for row in sorted(SETTING.values(), key=lambda r: r.label)}
# The env name of each tier we map (Claude Code's tier -> its model variable).
TIER_VARIABLES: dict[str, str] = {row.value: row.key for row in SCHEMA if row.tier and row.value and not row.label}
# Every tier's model variable, Fable's too, and the /model labels (_NAME, _DESCRIPTION) of each tier.
MODEL_VARIABLES: dict[str, str] = {row.tier: row.key for row in SCHEMA if row.tier and not row.label}
LABEL_VARIABLES: dict[str, tuple[str, ...]] = {
    tier: tuple(row.key for row in SCHEMA if row.tier == tier and row.label) for tier in CLAUDE_CODE_TIERS}
# Keys that decide where Claude Code sends requests, with what credential and for which model: a project file
# setting one of these changes the user's gateway connection (cause project_override). Listed as the doctor's notes
# name them: the credential, then the URL and the main model, then the tier models.
_ROUTES = [row for row in SCHEMA if row.routes]
GATEWAY_ENV_KEYS: tuple[str, ...] = (
    *(row.key for row in _ROUTES if row.secret),
    *(row.key for row in _ROUTES if not row.secret and row.tier is None),
    *(row.key for row in _ROUTES if row.tier is not None),
)
# Top-level keys of settings.json that decide the connection, as the doctor shows them.
TOP_LEVEL_KEYS: tuple[str, ...] = ("model", "apiKeyHelper", "forceLoginMethod", "forceLoginOrgUUID")
# Every variable the doctor shows (in this order) when a layer or the process sets it: ours, the others Claude Code
# reads for the connection, and what changes where or how it connects (headers, config dir, CA, proxy, cloud).
VARIABLES_OF_INTEREST: tuple[str, ...] = (
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL_NAME",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL_NAME",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL_NAME",
    "ANTHROPIC_DEFAULT_FABLE_MODEL",
    "ANTHROPIC_DEFAULT_FABLE_MODEL_NAME",
    "CLAUDE_CODE_SUBAGENT_MODEL",
    "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS",
    "ANTHROPIC_CUSTOM_HEADERS",
    "CLAUDE_CONFIG_DIR",
    "NODE_EXTRA_CA_CERTS",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
)
# New env keys go after the last of ours (grouping them); new top-level keys after these, `$schema` staying first.
ENV_ANCHORS = frozenset(OWNED_ENV_KEYS)
TOP_ANCHORS = frozenset({"$schema", "env", *(row.key for row in SCHEMA if row.top_level)})

API_KEY_REASON = (
    "Claude Code would send both x-api-key and Bearer headers (ANTHROPIC_API_KEY next to ANTHROPIC_AUTH_TOKEN)"
)


@dataclass(frozen=True)
class StoredValues:
    """Our values as a settings file holds them, read back the way plan_apply writes them: what an editor of the
    file starts from. Unusable values (a URL or model name core would refuse) read as absent."""

    base_url_text: str | None = None  # ANTHROPIC_BASE_URL as written
    url: GatewayUrl | None = None
    key: str | None = field(default=None, repr=False)  # ANTHROPIC_AUTH_TOKEN (a secret: never shown as is)
    tiers: TierMapping = field(default_factory=TierMapping)  # tiers + subagent; main_model: None
    model: str | None = None  # the top-level `model`: Claude Code's own setting as much as ours
    disable_experimental_betas: bool | None = None  # None: the file does not say
    display_names: dict[str, str] = field(default_factory=dict)


def stored_values(doc: SettingsDocument) -> StoredValues:
    env = doc.env
    read = {row.value: row.read(doc.data.get(row.key) if row.top_level else env.get(row.key))
            for row in SETTING.values()}
    return StoredValues(
        base_url_text=read_text(env.get(SETTING["url"].key)),
        url=read["url"],
        key=read["key"],
        tiers=TierMapping(**{t: read[t] for t in TIERS}, subagent_model=read["subagent_model"]),
        model=read["main_model"],
        disable_experimental_betas=read["disable_experimental_betas"],
        display_names={t: name for t in TIERS if (name := read[f"name.{t}"])},
    )


class _ApplyEdits:
    """plan_apply's edits as they are collected: each env key set or dropped with its reason."""

    def __init__(self, doc: SettingsDocument) -> None:
        self.env = doc.env
        self.edits = SettingsEdits(env_anchors=ENV_ANCHORS, top_anchors=TOP_ANCHORS)

    def put(self, value: str, text: str, reason: str) -> None:
        key = SETTING[value].key
        self.edits.env_set[key] = text
        self.edits.reasons[f"env.{key}"] = reason

    def drop(self, key: str, reason: str) -> None:
        if key in self.env:
            self.edits.env_remove.append(key)
            self.edits.reasons[f"env.{key}"] = reason


def plan_apply(doc: SettingsDocument, values: ConnectionValues) -> SettingsPlan:
    """Set the gateway keys we own; keep everything else. See the module docstring for the rules."""
    e = _ApplyEdits(doc)
    if "ANTHROPIC_API_KEY" in e.env:
        e.drop("ANTHROPIC_API_KEY", API_KEY_REASON)
    e.put("url", values.url.anthropic_base, "the gateway's Anthropic endpoint (Claude Code adds /v1/messages)")
    _apply_key(e, doc, values)
    _apply_tiers(e, values)
    if values.tiers.subagent_model:
        e.put("subagent_model", values.tiers.subagent_model, "the gateway model for subagents")
    else:
        e.drop(SETTING["subagent_model"].key, "the subagent model was cleared")
    if values.disable_experimental_betas is True:
        # The user ticked this; whether the gateway really rejects the betas is for verify to find out.
        e.put("disable_experimental_betas", "1", "you turned off experimental betas (for gateways that reject them)")
    elif values.disable_experimental_betas is False:
        e.drop(SETTING["disable_experimental_betas"].key, "you turned experimental betas back on")
    main_key = SETTING["main_model"].key
    if values.tiers.main_model:
        e.edits.top_set[main_key] = values.tiers.main_model
        e.edits.reasons[main_key] = "the main model of every session"
    elif (why := main_model_left_behind(doc, values)) is not None:
        e.edits.top_remove.append(main_key)
        e.edits.reasons[main_key] = why
    if (why := env_model_left_behind(doc, values)) is not None:
        e.drop(MAIN_MODEL_ENV, why)
    # Keep OWNED_ENV_KEYS order for keys that will be appended.
    e.edits.env_set = {k: e.edits.env_set[k] for k in OWNED_ENV_KEYS if k in e.edits.env_set}
    return build_plan(doc, e.edits)


def main_model_left_behind(doc: SettingsDocument, values: ConnectionValues) -> str | None:
    """Why the file's top-level `model` must go when `values` (without a main model of their own) are written; None:
    it stays. The one rule for apply, apply/use of a profile and the TUI's save.

    It stays when it reaches a model `values` map: an alias Claude Code resolves to a mapped tier (what /model
    writes), or one of their own models. Else it goes when the file pointed at another gateway (or none): Claude
    Code would send the previous connection's id to this gateway, which refuses it. (A file has no higher layer to
    override it, as `run` does with `"model": ""`; without `model` the default session follows the Opus tier.) On
    the same gateway a model the user chose stays, as before, unless it is an alias of a tier `values` leave
    unmapped, which Claude Code sends as its built-in name: it goes when the Opus tier can take its place."""
    return _model_left_behind(doc.data.get(SETTING["main_model"].key), doc, values)


def env_model_left_behind(doc: SettingsDocument, values: ConnectionValues) -> str | None:
    """Why the file's env ANTHROPIC_MODEL must go when `values` are written; None: it stays. It outranks the
    top-level `model`: with a main model of their own, any other value there would replace it; without one, the
    same rule as for the top-level `model` (main_model_left_behind)."""
    model = doc.env.get(MAIN_MODEL_ENV)
    if values.tiers.main_model:
        if isinstance(model, str) and model.strip() and model.strip() != values.tiers.main_model.strip():
            return (f"{MAIN_MODEL_ENV} outranks the top-level model: Claude Code would use it instead of the main "
                    f"model written ({values.tiers.main_model})")
        return None
    return _model_left_behind(model, doc, values)


def _model_left_behind(model: object, doc: SettingsDocument, values: ConnectionValues) -> str | None:
    if not isinstance(model, str) or not model.strip():
        return None  # nothing there, or not a name (not ours to judge)
    name = strip_context_suffix(model.strip())
    mapped = values.tiers.mapped()
    own = {strip_context_suffix(m) for m in (*mapped.values(), values.tiers.subagent_model) if m}
    alias_tiers = TIERS_OF_ALIAS.get(name.lower())
    if name in own or (alias_tiers is not None and all(t in mapped for t in alias_tiers)):
        return None
    opus = ("the default session then uses the Opus tier" if "opus" in mapped
            else "map the Opus tier for the default session")
    if alias_tiers is not None:
        unmapped = next(t for t in alias_tiers if t not in mapped)
        return None if "opus" not in mapped else (
            f"an alias of the {unmapped.capitalize()} tier, which these values leave unmapped: Claude Code would send "
            f"its built-in {CLAUDE_CODE_BUILTIN_MODELS[unmapped]}, which the gateway does not serve; {opus}")
    if name.lower() in RESOLVED_BY_CLAUDE_CODE:
        return None  # resolved by Claude Code in a way not measured here ("best"): left to the user
    before = read_url(doc.env.get(SETTING["url"].key))
    if before is not None and before.anthropic_base == values.url.anthropic_base:
        return None  # chosen for this same gateway
    return (f"a model of the file's previous connection, not one these values map: Claude Code would send it to this "
            f"gateway, which would refuse it; {opus}")


def _apply_key(e: _ApplyEdits, doc: SettingsDocument, values: ConnectionValues) -> None:
    helper = doc.data.get("apiKeyHelper")
    has_helper = isinstance(helper, str) and bool(helper.strip()) and not e.env.get("ANTHROPIC_AUTH_TOKEN")
    if values.key is not None:
        e.put("key", values.key.value, "the gateway API key, sent as Authorization: Bearer")
        if has_helper:
            # Claude Code prefers the token: the helper that supplies the key today would silently stop being used.
            e.edits.notices.append("This file's apiKeyHelper supplies the key today; ANTHROPIC_AUTH_TOKEN takes "
                                   "precedence over it, so once saved Claude Code stops running the helper. Leave "
                                   "the API key empty to keep using the helper.")
    elif has_helper:
        e.edits.notices.append("No API key is written: this file's apiKeyHelper supplies it, as Claude Code runs it.")
    elif not e.env.get("ANTHROPIC_AUTH_TOKEN"):
        e.edits.notices.append("No API key was given and the file has none: Claude Code cannot authenticate to the "
                               "gateway until ANTHROPIC_AUTH_TOKEN is set.")


def _apply_tiers(e: _ApplyEdits, values: ConnectionValues) -> None:
    for tier in TIERS:
        model = getattr(values.tiers, tier)
        model_key, label_key = SETTING[tier].key, SETTING[f"name.{tier}"].key
        if not model:
            e.drop(model_key, f"the {tier.capitalize()} tier was cleared")
            for key in LABEL_VARIABLES[tier]:
                e.drop(key, f"the {tier.capitalize()} tier was cleared")
            continue
        model_changed = e.env.get(model_key) != model
        e.put(tier, model, f"the gateway model Claude Code uses for its {tier.capitalize()} tier")
        name = values.display_names.get(tier)
        if name is not None and name.strip():
            e.put(f"name.{tier}", name.strip(), f"label of the {tier.capitalize()} row in /model")
        elif name is not None:
            e.drop(label_key, "display name cleared")
        if model_changed:
            # A label (and description) names the model it was written for: kept, /model would show the old name
            # beside the new model. Dropped, not rewritten: core has no name for the new model (the TUI's Models
            # pane gives one when labels are on), and without one the row shows the model id.
            for key in LABEL_VARIABLES[tier]:
                if key not in e.edits.env_set and key not in e.edits.env_remove:
                    e.drop(key, f"the {tier.capitalize()} label named the model the tier mapped before, not {model}")


def plan_remove(doc: SettingsDocument) -> SettingsPlan:
    """Take our keys out again (a "disconnect"); other keys stay. Drops `env` only if we emptied it."""
    e = SettingsEdits(drop_empty_env=True, env_anchors=ENV_ANCHORS, top_anchors=TOP_ANCHORS)
    for key in OWNED_ENV_KEYS:
        if key in doc.env:
            e.env_remove.append(key)
            e.reasons[f"env.{key}"] = "set by optscale-tui for the gateway"
    model = doc.data.get(SETTING["main_model"].key)
    if isinstance(model, str) and "/" in model:
        e.top_remove.append("model")
        e.reasons["model"] = "a gateway model id, unknown to Claude Code without the gateway"
    return build_plan(doc, e)


def plan_env_edit(
    doc: SettingsDocument, set_keys: Mapping[str, str], remove_keys: Iterable[str], reason: str
) -> SettingsPlan:
    """A targeted fix-it in Claude Code's `env`: set and/or remove any env keys (not only ours), everything else
    kept; a new key goes after our own keys."""
    return _plan_env_edit(doc, set_keys, remove_keys, reason, anchors=ENV_ANCHORS)
