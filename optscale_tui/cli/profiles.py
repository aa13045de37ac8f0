"""`profile list|show|save|use|delete` and `run` (issue 13): gateway profiles in optscale-tui's own config file."""

from __future__ import annotations

import argparse

from optscale_tui.cli.apply import apply_settings
from optscale_tui.cli.common import confirm, inspect_settings, read_key
from optscale_tui.cli.output import EXIT_OK, EXIT_PROBLEM, UsageError, err, json_text, out, remember_secret
from optscale_tui.cli.profile_values import app_config, profile_connection, profile_named, save_app_config


def _key_status(config, profile) -> tuple[str | None, str]:
    """(masked key or None, a sentence saying where it comes from)."""
    from optscale_tui.core.app_config import key_store, profile_key
    from optscale_tui.core.secrets import mask_secret

    source = profile.key_source
    if source.kind == "none":
        return None, "none stored: `profile use` keeps the key in the settings file"
    store = key_store(config.path) if source.kind == "stored" else None
    value = profile_key(profile, store)
    remember_secret(value)
    where = f"${source.env_var}" if source.kind == "env" else store.description  # type: ignore[union-attr]
    if not value:
        return None, f"from {where}: {'not set' if source.kind == 'env' else 'missing'}"
    return mask_secret(value), f"from {where}"


def _profile_row(profile, config=None) -> dict[str, object]:
    row: dict[str, object] = {
        "name": profile.name, "label": profile.label, "base_url": profile.base_url,
        "haiku": profile.haiku, "sonnet": profile.sonnet, "opus": profile.opus,
        "main_model": profile.main_model, "subagent_model": profile.subagent_model,
        "disable_experimental_betas": profile.disable_experimental_betas, "key_source": str(profile.key_source),
    }
    if config is not None:
        row["key"], row["key_status"] = _key_status(config, profile)
    return row


def cmd_profile_list(args: argparse.Namespace) -> int:
    config = app_config(args)
    profiles = sorted(config.profiles.values(), key=lambda p: p.name)
    last = config.preferences.last_profile
    if args.json:
        out(json_text=True, text=json_text({"config": str(config.path), "last_profile": last,
                                              "profiles": [_profile_row(p) for p in profiles]}))
        return EXIT_OK
    if not profiles:
        out(f"No profiles in {config.path}. `optscale-tui profile save NAME` saves the settings in effect as one.")
        return EXIT_OK
    width = max(len(p.name) for p in profiles)
    for p in profiles:
        mark = "*" if p.name == last else " "
        label = f"  {p.label}" if p.label else ""
        out(f"{mark} {p.name:<{width}}  {p.base_url}  key: {p.key_source}{label}")
    if last in config.profiles:
        out(f"\n* last used ({last})")
    return EXIT_OK


def cmd_profile_show(args: argparse.Namespace) -> int:
    config, profile = profile_named(args, args.name)
    row = _profile_row(profile, config)
    if args.json:
        out(json_text=True, text=json_text(row))
        return EXIT_OK
    for name, value in row.items():
        if name == "key":
            continue
        if name == "key_status":
            value = f"{row['key']} ({value})" if row["key"] else value
            name = "key"
        if value not in (None, ""):
            out(f"{name.replace('_', ' ')}: {value}")
    return EXIT_OK


def _settings_in_effect_as_profile(args: argparse.Namespace, name: str, existing):
    """`profile save NAME` without value flags: what Claude Code uses now (so a hand-configured user starts with one)."""
    from optscale_tui.core.app_config import KeySource, Profile
    from optscale_tui.core.clients.claude_code.schema import SETTING, TIER_VARIABLES
    from optscale_tui.core.connection import InputError, parse_anthropic_base_url

    effective = inspect_settings(None)
    base = effective.get(SETTING["url"].key)
    if not base:
        raise UsageError("Claude Code has no gateway Base URL in effect to save: pass --base-url URL (and the "
                         "tier flags), or connect first with `optscale-tui apply`.")
    try:
        url = parse_anthropic_base_url(base)
    except InputError as exc:
        raise UsageError(f"The Base URL in effect: {exc.reason}") from None
    betas = effective.get(SETTING["disable_experimental_betas"].key)
    return Profile(
        name=name, label=existing.label if existing else "",
        base_url=url.openai_base if url.anthropic_base.endswith("/anthropic") else url.anthropic_base,
        haiku=effective.get(TIER_VARIABLES["haiku"]) or None,
        sonnet=effective.get(TIER_VARIABLES["sonnet"]) or None,
        opus=effective.get(TIER_VARIABLES["opus"]) or None,
        main_model=effective.setting("model") or None,
        subagent_model=effective.get(SETTING["subagent_model"].key) or None,
        disable_experimental_betas=True if betas == "1" else None,
        key_source=existing.key_source if existing else KeySource(),
    )


def cmd_profile_save(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from optscale_tui.core.app_config import KeySource, ProfileError, check_profile_name

    try:
        name = check_profile_name(args.name)
        if args.api_key_env:
            KeySource.parse(f"env:{args.api_key_env}")
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    if args.api_key_stdin != args.store_key:
        raise UsageError("A key is stored only when you say so: --api-key-stdin --store-key together (or "
                         "--api-key-env VAR, which records the variable and stores nothing).")
    config = app_config(args)
    existing = config.profiles.get(name)
    value_flags = ("base_url", "haiku", "sonnet", "opus", "main_model", "subagent_model",
                   "disable_experimental_betas")
    only_key_or_label = bool(args.api_key_env or args.api_key_stdin or args.label is not None)
    # No value flags: the settings in effect (an existing profile given only a key source or label keeps its
    # values and changes just that).
    imported = all(getattr(args, flag) is None for flag in value_flags) and not (existing and only_key_or_label)
    if imported:
        profile = _settings_in_effect_as_profile(args, name, existing)
    else:
        profile = _profile_from_flags(args, name, existing)
    if args.label is not None:
        profile = replace(profile, label=args.label)
    profile, store_note = _with_key_source(args, config, name, profile, existing)
    config.profiles[name] = profile
    save_app_config(config)
    out(f"Saved profile {name} in {config.path}" + (" (from the settings in effect)" if imported else ""))
    if store_note:
        out(f"  {store_note}")
    out(f"  key source: {profile.key_source}")
    return EXIT_OK


def _profile_from_flags(args: argparse.Namespace, name: str, existing):
    """`profile save NAME --base-url … --opus …`: a new profile, or the existing one with the flags given changed."""
    from dataclasses import replace

    from optscale_tui.core.app_config import Profile
    from optscale_tui.core.connection import InputError, parse_base_url, parse_model_name

    if existing is None and not args.base_url:
        raise UsageError(f"A new profile needs --base-url (or no value flags at all, to save the settings in "
                         f"effect as {name}).")
    profile = existing or Profile(name=name, base_url="")
    try:
        if args.base_url:
            parse_base_url(args.base_url)
            profile = replace(profile, base_url=args.base_url.strip())
        for flag in ("haiku", "sonnet", "opus", "main_model", "subagent_model"):
            if getattr(args, flag) is not None:
                profile = replace(profile, **{flag: parse_model_name(getattr(args, flag))})
    except InputError as exc:
        raise UsageError(exc.reason) from None
    if args.disable_experimental_betas is not None:
        profile = replace(profile, disable_experimental_betas=args.disable_experimental_betas or None)
    return profile


def _with_key_source(args: argparse.Namespace, config, name: str, profile, existing):
    """(the profile with the key source --api-key-env / --api-key-stdin --store-key give, a note on a stored key).
    A key stored before and no longer used is deleted from the store."""
    from dataclasses import replace

    from optscale_tui.core.app_config import KeySource, key_store

    store_note = ""
    old_source = existing.key_source if existing else KeySource()
    if args.api_key_env:
        profile = replace(profile, key_source=KeySource("env", args.api_key_env))
    elif args.api_key_stdin:
        key = read_key(args)
        store = key_store(config.path)
        store.set(name, key.value)  # type: ignore[union-attr]
        profile = replace(profile, key_source=KeySource("stored"))
        store_note = f"key: stored in {store.description} ({key.masked})"  # type: ignore[union-attr]
    if old_source.kind == "stored" and profile.key_source.kind != "stored":
        key_store(config.path).delete(name)
    return profile, store_note


def cmd_profile_use(args: argparse.Namespace) -> int:
    from optscale_tui.core.app_config import record_last_profile

    ns = argparse.Namespace(
        profile=args.name, base_url=None, api_key_env=None, api_key_stdin=False, haiku=None, sonnet=None, opus=None,
        subagent_model=None, disable_experimental_betas=None, settings=args.settings, scope=args.scope,
        dry_run=args.dry_run, yes=args.yes, force=args.force, config=getattr(args, "config", None))
    if apply_settings(ns):  # written: the profile is the last used
        config = app_config(args)
        save_app_config(config, lambda: record_last_profile(config.path, args.name))
    return EXIT_OK


def cmd_profile_delete(args: argparse.Namespace) -> int:
    from optscale_tui.core.app_config import delete_profile, key_store

    config, profile = profile_named(args, args.name)
    if not confirm(f"Delete profile {profile.name}{' and its stored key' if profile.key_source.kind == 'stored' else ''}?",
                    args.yes):
        out("Nothing was deleted.")
        return EXIT_OK
    # The file first, then the key: a file that cannot be written leaves the profile and its key as they were.
    store = key_store(config.path) if profile.key_source.kind == "stored" else None
    change = save_app_config(config, lambda: delete_profile(config, profile.name, store))
    if change.warning:
        err(f"warning: {change.warning}")
    out(f"Deleted profile {profile.name} from {config.path}. Claude Code's settings are unchanged.")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from optscale_tui.core.session_run import lower_layer_values, run_session, session_settings
    from optscale_tui.core.verify.claude_cli import INSTALL_HINT, find_claude

    command = list(args.claude_command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("Name the program after --: optscale-tui run --profile NAME -- claude [ARGS…]")
    if command[0] == "claude":  # as the user would run it: $OPTSCALE_TUI_CLAUDE_BIN, else PATH
        found = find_claude()
        if found is None:
            err(f"optscale-tui: the claude CLI was not found. Install it: {INSTALL_HINT}")
            return EXIT_PROBLEM
        command[0] = str(found)
    _config, profile, values = profile_connection(args, args.profile)
    if values.key is None:
        raise UsageError(f"Profile {profile.name} stores no key and none is in effect: save one with "
                         f"`optscale-tui profile save {profile.name} --api-key-env VAR` or --api-key-stdin --store-key.")
    effective = inspect_settings(None)
    settings = session_settings(values, lower_layer_values(effective))
    err(f"optscale-tui: Claude Code runs through profile {profile.name} ({values.url.host}); "
         "settings.json is not written.")
    try:
        return run_session(command, settings)
    except OSError as exc:
        err(f"optscale-tui: could not start {command[0]}: {exc.strerror or exc}")
        return EXIT_PROBLEM


PROFILE_COMMANDS = {
    "list": cmd_profile_list,
    "show": cmd_profile_show,
    "save": cmd_profile_save,
    "use": cmd_profile_use,
    "delete": cmd_profile_delete,
}


def cmd_profile(args: argparse.Namespace) -> int:
    return PROFILE_COMMANDS[args.profile_command](args)
