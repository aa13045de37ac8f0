"""optscale-tui's own config file as the commands read it: preferences, and a profile as the values and key that
`apply --profile`, `verify --profile`, `profile use` and `run` work with."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from optscale_tui.cli.common import inspect_settings
from optscale_tui.cli.output import UsageError, err, remember_secret

if TYPE_CHECKING:
    from optscale_tui.core.connection import ApiKey


def app_config(args: argparse.Namespace):
    from optscale_tui.core.app_config import ConfigError, default_config_path, load_config

    try:
        return load_config(getattr(args, "config", None) or default_config_path())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def save_app_config(config, write=None):
    """Save `config` (or run `write`, a core change that saves it), a refused or failed write as a usage error."""
    from optscale_tui.core.app_config import ConfigError, save_config

    try:
        return write() if write is not None else save_config(config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"Could not write {config.path}: {exc.strerror or exc}") from None


def preferences(args: argparse.Namespace):
    """The app's preferences (CA bundle, real-client check) for commands that only read them: a config file that
    does not parse is reported and the defaults are used (it is never rewritten here)."""
    from optscale_tui.core.app_config import Preferences

    try:
        return app_config(args).preferences
    except UsageError as exc:
        err(f"warning: preferences not used: {exc}")
        return Preferences()


def profile_named(args: argparse.Namespace, name: str):
    config = app_config(args)
    profile = config.profiles.get(name)
    if profile is None:
        raise UsageError(f"No profile named {name!r} in {config.path}. `optscale-tui profile list` shows them.")
    return config, profile


def profile_api_key(config, profile) -> ApiKey | None:
    """The profile's key from its source (remembered for masking), None when it stores none."""
    from optscale_tui.core.app_config import key_store, profile_key
    from optscale_tui.core.connection import InputError, parse_api_key

    store = key_store(config.path) if profile.key_source.kind == "stored" else None
    value = profile_key(profile, store)
    if value is None and profile.key_source.kind == "env":
        raise UsageError(f"Profile {profile.name} takes its key from ${profile.key_source.env_var}, "
                         "which is not set or empty.")
    if value is None and store is not None:
        raise UsageError(f"Profile {profile.name}'s stored key is missing from {store.description}: store it "
                         f"again with `optscale-tui profile save {profile.name} --api-key-stdin --store-key`.")
    if value is None:
        return None
    remember_secret(value)
    try:
        key = parse_api_key(value)
    except InputError as exc:
        raise UsageError(f"Profile {profile.name}'s key: {exc.reason}") from None
    remember_secret(key.value)
    return key


def apply_profile_to_args(args: argparse.Namespace) -> ApiKey | None:
    """`apply --profile`: the profile's values fill the flags not given; its key unless one was passed."""
    config, profile = profile_named(args, args.profile)
    args.base_url = args.base_url or profile.base_url
    for name in ("haiku", "sonnet", "opus", "subagent_model", "disable_experimental_betas"):
        if getattr(args, name) is None:  # a tier the profile leaves unmapped is unmapped ("") in the file too:
            setattr(args, name, getattr(profile, name) or ("" if name in ("haiku", "sonnet", "opus") else None))
    args.main_model = profile.main_model
    if args.api_key_env or args.api_key_stdin:
        return None
    return profile_api_key(config, profile)


def profile_connection(args: argparse.Namespace, name: str):
    """A profile as ConnectionValues; a profile that stores no key uses the one in the settings in effect."""
    from optscale_tui.core.clients.claude_code.schema import SETTING
    from optscale_tui.core.connection import (
        ConnectionValues,
        InputError,
        TierMapping,
        parse_api_key,
        parse_base_url,
    )

    config, profile = profile_named(args, name)
    try:
        url = parse_base_url(profile.base_url)
    except InputError as exc:
        raise UsageError(f"Profile {name}'s Base URL: {exc.reason}") from None
    key = profile_api_key(config, profile)
    if key is None:
        effective = inspect_settings(getattr(args, "settings", None)).get(SETTING["key"].key)
        if effective:
            remember_secret(effective)
            try:
                key = parse_api_key(effective)
            except InputError:
                key = None
    tiers = TierMapping(haiku=profile.haiku, sonnet=profile.sonnet, opus=profile.opus,
                        main_model=profile.main_model, subagent_model=profile.subagent_model)
    return config, profile, ConnectionValues(url=url, key=key, tiers=tiers,
                                             disable_experimental_betas=profile.disable_experimental_betas)


def profile_target(args: argparse.Namespace):
    from dataclasses import replace

    from optscale_tui.core.verify.targets import target_from_values

    _config, profile, values = profile_connection(args, args.profile)
    return replace(target_from_values(values), source=f"profile {profile.name}")
