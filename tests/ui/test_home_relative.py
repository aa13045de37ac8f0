"""Paths in free text are shown under ~, as the rest of the app shows them."""

from __future__ import annotations

from optscale_tui.ui.widgets.findings import home_relative


def test_paths_under_home_and_home_itself_become_tilde(monkeypatch, tmp_path):
    home = tmp_path / "me"
    monkeypatch.setenv("HOME", str(home))
    assert home_relative(f"{home}/.claude/settings.json sets X") == "~/.claude/settings.json sets X"
    assert home_relative(f"whenever Claude Code runs in {home}.") == "whenever Claude Code runs in ~."
    assert home_relative(f"({home})") == "(~)"
    assert home_relative(f"{home}2/other") == f"{home}2/other"  # a longer name is another folder
