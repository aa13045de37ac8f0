"""The app's own config file (issue 13 §1, §2): round-trip, refusal with line and column, modes, key stores."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from optscale_tui.core import app_config as ac

KEY = "sk-" + "bf-" + "profile-test-0123456789"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_path_is_the_platform_config_dir_unless_the_variable_points_elsewhere(tmp_path: Path) -> None:
    import platformdirs

    assert ac.default_config_path({}) == Path(platformdirs.user_config_dir("optscale-tui")) / "config.toml"
    assert ac.default_config_path({ac.CONFIG_ENV: str(tmp_path / "x.toml")}) == tmp_path / "x.toml"


def test_a_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    config = ac.load_config(tmp_path / "config.toml")
    assert config.profiles == {} and config.preferences == ac.Preferences()


def test_round_trip_keeps_preferences_profiles_and_unknown_tables_mode_0600_with_header(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    profile = ac.Profile(name="staging", label="Staging org", base_url="https://gw.example/llm_proxy/org/v1",
                         haiku="anthropic/claude-haiku-4-5", sonnet="anthropic/claude-sonnet-4-6",
                         opus="anthropic/claude-opus-4-6", subagent_model="anthropic/claude-haiku-4-5",
                         disable_experimental_betas=True, key_source=ac.KeySource("env", "STAGING_KEY"))
    config = ac.AppConfig(path=path, preferences=ac.Preferences(theme="nord", default_scope="project",
                                                                ca_bundle="/etc/ca.pem", real_client_check=False,
                                                                last_profile="staging"),
                          profiles={"staging": profile}, extra={"future": {"x": 1}})
    ac.save_config(config)
    assert mode(path) == 0o600
    text = path.read_text()
    assert text.startswith("# optscale-tui's own preferences") and "rewrites this file" in text.splitlines()[0]
    back = ac.load_config(path)
    assert back.preferences == config.preferences
    assert back.profiles == {"staging": profile}
    assert back.extra == {"future": {"x": 1}}
    assert not list(path.parent.glob(".*.tmp"))  # the temp file was renamed into place


@pytest.mark.parametrize(("text", "line", "column"), [
    ("[preferences]\ntheme = \n", 2, 9),
    ("[profiles.a]\nbase_url = 'x'\n[profiles.a]\n", 3, 12),
    ("[profiles.x]\nbase_url = 'https://x/v1\n", 3, 1),  # tomllib says only "at end of document"
])
def test_a_file_that_does_not_parse_is_refused_with_line_and_column_and_never_overwritten(
        tmp_path: Path, text: str, line: int, column: int) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ac.ConfigError) as caught:
        ac.load_config(path)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"line {line}, column {column}" in str(caught.value)
    with pytest.raises(ac.ConfigError):
        ac.save_config(ac.AppConfig(path=path))
    assert path.read_text() == text


def test_a_key_in_the_profile_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[profiles.p]\nbase_url = 'https://x/v1'\napi_key = 'gw-not-a-real-one'\n")
    with pytest.raises(ac.ConfigError, match="keys never go in this file"):
        ac.load_config(path)


@pytest.mark.parametrize("text", ["[preferences]\ndefault_scope = 'global'\n", "[preferences]\nreal_client_check = 1\n",
                                  "[profiles.p]\nkey = 'vault'\n", "profiles = 3\n"])
def test_wrong_shapes_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ac.ConfigError):
        ac.load_config(path)


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "x" * 65, "é"])
def test_profile_names_are_simple(name: str) -> None:
    with pytest.raises(ac.ProfileError):
        ac.check_profile_name(name)


def test_key_source_text_round_trips() -> None:
    for text in ("none", "stored", "env:MY_KEY"):
        assert str(ac.KeySource.parse(text)) == text
    with pytest.raises(ac.ProfileError):
        ac.KeySource.parse("env:1BAD")


def test_the_file_store_keeps_keys_beside_the_config_0600_and_never_in_it(tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    store = ac.key_store(config_path, {ac.KEY_STORE_ENV: "file"})
    assert isinstance(store, ac.FileKeyStore) and store.path == tmp_path / "keys.toml"
    store.set("staging", KEY)
    store.set("prod", KEY + "x")
    assert mode(store.path) == 0o600
    assert store.get("staging") == KEY
    ac.save_config(ac.AppConfig(path=config_path, profiles={"staging": ac.Profile(
        name="staging", base_url="https://x/v1", key_source=ac.KeySource("stored"))}))
    assert KEY not in config_path.read_text()
    profile = ac.load_config(config_path).profiles["staging"]
    assert ac.profile_key(profile, store, {}) == KEY
    store.delete("staging")
    assert store.get("staging") is None and store.get("prod") == KEY + "x"


def test_an_env_key_source_reads_the_variable_only(tmp_path: Path) -> None:
    profile = ac.Profile(name="p", base_url="https://x/v1", key_source=ac.KeySource("env", "P_KEY"))
    assert ac.profile_key(profile, None, {"P_KEY": KEY}) == KEY
    assert ac.profile_key(profile, None, {}) is None
    assert ac.profile_key(ac.Profile(name="p", base_url="u"), None, {"P_KEY": KEY}) is None


def test_without_the_keyring_package_the_file_store_is_used(tmp_path: Path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "keyring", None)  # import fails, as when the extra is not installed
    assert isinstance(ac.key_store(tmp_path / "config.toml", {}), ac.FileKeyStore)


# --- rename and delete (the TUI's picker and `profile delete`) ---------------------------------------------------


def two_profiles(tmp_path: Path) -> tuple[ac.AppConfig, ac.FileKeyStore]:
    path = tmp_path / "config.toml"
    store = ac.FileKeyStore(tmp_path / "keys.toml")
    config = ac.AppConfig(path=path, preferences=ac.Preferences(last_profile="staging"), profiles={
        "staging": ac.Profile(name="staging", base_url="https://s.example/llm_proxy/o/v1",
                              opus="anthropic/claude-opus-4-6", key_source=ac.KeySource("stored")),
        "prod": ac.Profile(name="prod", base_url="https://p.example/llm_proxy/o/v1")})
    ac.save_config(config)
    store.set("staging", KEY)
    return ac.load_config(path), store


def test_rename_moves_the_profile_its_stored_key_and_the_last_used_mark(tmp_path: Path) -> None:
    config, store = two_profiles(tmp_path)
    change = ac.rename_profile(config, "staging", "stage-2", store)
    assert change.warning is None
    back = ac.load_config(config.path)
    assert sorted(back.profiles) == ["prod", "stage-2"]
    assert back.profiles["stage-2"].name == "stage-2" and back.profiles["stage-2"].opus == "anthropic/claude-opus-4-6"
    assert back.preferences.last_profile == "stage-2"
    assert (store.get("stage-2"), store.get("staging")) == (KEY, None)
    assert KEY not in config.path.read_text()


@pytest.mark.parametrize(("new", "says"), [("prod", "already exists"), ("bad name", "1 to 64"), ("", "1 to 64")])
def test_rename_to_a_taken_or_bad_name_is_refused_and_changes_nothing(tmp_path: Path, new: str, says: str) -> None:
    config, store = two_profiles(tmp_path)
    before = config.path.read_bytes()
    with pytest.raises(ac.ProfileError, match=says):
        ac.rename_profile(config, "staging", new, store)
    assert config.path.read_bytes() == before and store.get("staging") == KEY


def test_a_rename_whose_write_fails_loses_nothing(tmp_path: Path, monkeypatch) -> None:
    config, store = two_profiles(tmp_path)
    before = config.path.read_bytes()
    real_write = ac._write_private

    def full_disk(path: Path, text: str) -> None:
        if path == config.path:
            raise OSError(28, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(ac, "_write_private", full_disk)
    with pytest.raises(OSError):
        ac.rename_profile(config, "staging", "stage-2", store)
    assert config.path.read_bytes() == before
    assert (store.get("staging"), store.get("stage-2")) == (KEY, None)  # the copy made first is taken back


def test_a_config_that_stopped_parsing_is_not_rewritten_by_a_rename_or_delete(tmp_path: Path) -> None:
    config, store = two_profiles(tmp_path)
    config.path.write_text("[profiles\n")  # edited by hand meanwhile
    for change in (lambda: ac.rename_profile(config, "staging", "x", store),
                   lambda: ac.delete_profile(config, "staging", store)):
        with pytest.raises(ac.ConfigError):
            change()
    assert config.path.read_text() == "[profiles\n" and store.get("staging") == KEY and store.get("x") is None


def test_delete_writes_the_file_first_then_removes_the_key(tmp_path: Path, monkeypatch) -> None:
    config, store = two_profiles(tmp_path)
    monkeypatch.setattr(ac, "_write_private", lambda path, text: (_ for _ in ()).throw(OSError(28, "full")))
    with pytest.raises(OSError):
        ac.delete_profile(config, "staging", store)
    monkeypatch.undo()
    assert "staging" in ac.load_config(config.path).profiles and store.get("staging") == KEY
    change = ac.delete_profile(config, "staging", store)
    back = ac.load_config(config.path)
    assert sorted(back.profiles) == ["prod"] and back.preferences.last_profile is None
    assert change.warning is None and store.get("staging") is None
    with pytest.raises(ac.ProfileError, match="no profile named"):
        ac.delete_profile(back, "staging", store)


def test_the_default_scope_preference_applies_only_when_no_scope_is_given() -> None:
    assert ac.preferred_scope(None, None) == "user"
    assert ac.preferred_scope(None, ac.Preferences(default_scope="project")) == "project"
    assert ac.preferred_scope("local", ac.Preferences(default_scope="project")) == "local"


def test_record_last_profile_writes_it_once_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    profile = ac.Profile(name="staging", base_url="https://gw.example/llm_proxy/org/v1")
    ac.save_config(ac.AppConfig(path=path, preferences=ac.Preferences(theme="nord"), profiles={"staging": profile}))
    config = ac.record_last_profile(path, "staging")
    assert config.preferences.last_profile == "staging"
    back = ac.load_config(path)
    assert back.preferences == ac.Preferences(theme="nord", last_profile="staging") and "staging" in back.profiles
    written = path.stat().st_mtime_ns
    path.chmod(0o400)  # unchanged: not written again (a write would replace the file and its mode)
    ac.record_last_profile(path, "staging")
    assert path.stat().st_mtime_ns == written and mode(path) == 0o400


def test_record_last_profile_never_rewrites_a_file_that_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[preferences\n")
    with pytest.raises(ac.ConfigError):
        ac.record_last_profile(path, "staging")
    assert path.read_text() == "[preferences\n"
