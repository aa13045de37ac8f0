"""`optscale-tui run --profile p -- claude -p …` with the real Claude Code (issue 13 §3): the session reaches the
profile's gateway although ~/.claude/settings.json points at a dead one (and holds another token, which the
temporary --settings file must beat key by key), settings.json is left exactly as it was, and no temporary
settings file is left behind."""

from __future__ import annotations

import json
import socket

from optscale_tui.demo.server import DEMO_KEY

HAIKU, SONNET, OPUS = "anthropic/claude-haiku-4-5", "anthropic/claude-sonnet-4-6", "anthropic/claude-opus-4-6"


def dead_url() -> str:
    with socket.socket() as s:  # a port that was just free on loopback: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/llm_proxy/dead/anthropic"


def test_run_reaches_the_profiles_gateway_and_leaves_settings_json_alone(e2e, gateway, tmp_path):
    e2e.write_settings({"ANTHROPIC_BASE_URL": dead_url(), "ANTHROPIC_AUTH_TOKEN": "sk-bf-" + "other-gateway-0000000",
                        "ANTHROPIC_DEFAULT_OPUS_MODEL": "anthropic/claude-opus-old"})
    before = e2e.settings.read_bytes()
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    env = {"OPTSCALE_TUI_KEY_STORE": "file", "TMPDIR": str(temp_root),
           "CLAUDE_CONFIG_DIR": str(e2e.home / ".claude"), "CLAUDE_CODE_MAX_RETRIES": "0"}
    saved = e2e.optscale("profile", "save", "p", "--base-url", gateway.base_url, "--haiku", HAIKU,
                         "--sonnet", SONNET, "--opus", OPUS, "--api-key-stdin", "--store-key",
                         input=DEMO_KEY + "\n", env=env)
    assert saved.returncode == 0, saved.stderr

    out = e2e.optscale("run", "--profile", "p", "--", "claude", "-p", "hi", "--no-session-persistence", env=env)

    assert out.returncode == 0, out.stderr[-2000:]
    posts = [r for r in gateway.requests if r.method == "POST" and r.path.endswith("/anthropic/v1/messages")
             and r.headers.get("user-agent", "").startswith("claude-cli/")]
    assert posts, "the real Claude Code reached the profile's gateway"
    assert posts[-1].headers["authorization"] == f"Bearer {DEMO_KEY}"  # the profile's key, not the file's token
    assert {p.body["model"] for p in posts} <= {HAIKU, SONNET, OPUS}
    assert e2e.settings.read_bytes() == before
    # Claude Code keeps its own things in TMPDIR too; ours is the optscale-tui-run-* directory and its settings.json.
    assert list(temp_root.glob("optscale-tui-run-*")) == [] and list(temp_root.rglob("settings.json")) == []
    assert DEMO_KEY not in out.stdout + out.stderr


def test_run_blanks_the_models_settings_json_sets_that_the_profile_leaves_unmapped(e2e, gateway, tmp_path):
    # Another gateway's main model and Sonnet model in settings.json; the profile maps Haiku and Opus only. Claude
    # Code must not send those ids to the profile's gateway: env blocks merge key by key, so the temporary file
    # blanks them.
    e2e.write_settings({"ANTHROPIC_BASE_URL": dead_url(), "ANTHROPIC_MODEL": "other-gw/main",
                        "ANTHROPIC_DEFAULT_SONNET_MODEL": "other-gw/sonnet"})
    before = e2e.settings.read_bytes()
    env = {"OPTSCALE_TUI_KEY_STORE": "file", "CLAUDE_CONFIG_DIR": str(e2e.home / ".claude"),
           "CLAUDE_CODE_MAX_RETRIES": "0"}
    saved = e2e.optscale("profile", "save", "p", "--base-url", gateway.base_url, "--haiku", HAIKU, "--opus", OPUS,
                         "--api-key-stdin", "--store-key", input=DEMO_KEY + "\n", env=env)
    assert saved.returncode == 0, saved.stderr

    default = e2e.optscale("run", "--profile", "p", "--", "claude", "-p", "hi", "--no-session-persistence", env=env)
    sonnet = e2e.optscale("run", "--profile", "p", "--", "claude", "-p", "hi", "--model", "sonnet",
                          "--no-session-persistence", env=env)

    assert default.returncode == 0, default.stderr[-2000:]  # the default session follows the profile's Opus tier
    models = {r.body["model"] for r in gateway.requests if r.method == "POST" and r.body
              and r.path.endswith("/anthropic/v1/messages")}
    assert OPUS in models
    # --model sonnet asked for the Sonnet tier: Claude Code's built-in name (this gateway refuses it), not the
    # other gateway's id.
    assert sonnet.returncode == 1 and "claude-sonnet" in sonnet.stdout + sonnet.stderr
    assert not {m for m in models if m.startswith("other-gw/")}, models
    assert e2e.settings.read_bytes() == before


def test_run_gives_way_to_the_profile_over_a_main_and_a_fable_model_in_settings_json(e2e, gateway):
    # settings.json's top-level `model` and Fable model name another gateway's ids; the profile has no main model.
    # Measured: "model": "" in the --settings file wins over the user file's `model` (null would not), and the
    # default session then follows the profile's Opus tier.
    e2e.settings.parent.mkdir(parents=True, exist_ok=True)
    e2e.settings.write_text(json.dumps({"model": "other-gw/main", "env": {
        "ANTHROPIC_BASE_URL": dead_url(), "ANTHROPIC_DEFAULT_FABLE_MODEL": "other-gw/fable"}}, indent=2) + "\n")
    before = e2e.settings.read_bytes()
    env = {"OPTSCALE_TUI_KEY_STORE": "file", "CLAUDE_CONFIG_DIR": str(e2e.home / ".claude"),
           "CLAUDE_CODE_MAX_RETRIES": "0"}
    saved = e2e.optscale("profile", "save", "p", "--base-url", gateway.base_url, "--haiku", HAIKU, "--opus", OPUS,
                         "--api-key-stdin", "--store-key", input=DEMO_KEY + "\n", env=env)
    assert saved.returncode == 0, saved.stderr

    default = e2e.optscale("run", "--profile", "p", "--", "claude", "-p", "hi", "--no-session-persistence", env=env)
    fable = e2e.optscale("run", "--profile", "p", "--", "claude", "-p", "hi", "--model", "fable",
                         "--no-session-persistence", env=env)

    assert default.returncode == 0, default.stderr[-2000:]
    models = [r.body["model"] for r in gateway.requests if r.method == "POST" and r.body
              and r.path.endswith("/anthropic/v1/messages")]
    assert OPUS in models
    # --model fable: Claude Code's built-in Fable name (this gateway refuses it), not the other gateway's id.
    assert fable.returncode == 1 and "claude-fable" in fable.stdout + fable.stderr
    assert not {m for m in models if m.startswith("other-gw/")}, models
    assert e2e.settings.read_bytes() == before


def test_profile_use_removes_another_gateways_main_model_and_the_real_claude_reaches_the_profiles_tiers(e2e, gateway):
    # settings.json's top-level `model` is another gateway's id and the profile has no main model: `profile use`
    # removes it (a file has no higher layer to override it), so the default session follows the profile's Opus
    # tier instead of sending "other-gw/main" to this gateway. An alias of a mapped tier (what /model writes) stays.
    e2e.settings.parent.mkdir(parents=True, exist_ok=True)
    e2e.settings.write_text(json.dumps({"model": "other-gw/main", "env": {
        "ANTHROPIC_BASE_URL": dead_url(), "ANTHROPIC_DEFAULT_OPUS_MODEL": "other-gw/opus"}}, indent=2) + "\n")
    env = {"OPTSCALE_TUI_KEY_STORE": "file"}
    saved = e2e.optscale("profile", "save", "p", "--base-url", gateway.base_url, "--haiku", HAIKU, "--opus", OPUS,
                         "--api-key-stdin", "--store-key", input=DEMO_KEY + "\n", env=env)
    assert saved.returncode == 0, saved.stderr
    assert e2e.optscale("profile", "use", "p", "--yes", env=env).returncode == 0
    assert "model" not in json.loads(e2e.settings.read_text())

    default = e2e.claude_p("--no-session-persistence")

    assert default.ok, default.events[-3:]
    models = [r.body["model"] for r in gateway.requests if r.method == "POST" and r.body
              and r.path.endswith("/anthropic/v1/messages")]
    assert OPUS in models and not {m for m in models if m.startswith("other-gw/")}, models

    data = json.loads(e2e.settings.read_text())
    e2e.settings.write_text(json.dumps({**data, "model": "haiku"}, indent=2) + "\n")
    assert e2e.optscale("profile", "use", "p", "--yes", env=env).returncode == 0
    assert json.loads(e2e.settings.read_text())["model"] == "haiku"
    gateway.clear_requests()

    aliased = e2e.claude_p("--no-session-persistence")

    assert aliased.ok, aliased.events[-3:]
    assert aliased.init["model"] == HAIKU  # the main model: the alias resolved to the profile's Haiku tier
    assert HAIKU in {r.body["model"] for r in gateway.requests if r.method == "POST" and r.body
                     and r.path.endswith("/anthropic/v1/messages")}
