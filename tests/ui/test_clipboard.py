"""Whether a copy over OSC 52 reaches the clipboard through tmux (the rule behind the copy toasts)."""

from __future__ import annotations

import subprocess

from optscale_tui.ui.clipboard import tmux_clipboard_problem


def answering(value: str, returncode: int = 0):
    def run(argv, **_kwargs):
        assert argv == ["tmux", "show-options", "-gv", "set-clipboard"]
        return subprocess.CompletedProcess(argv, returncode, stdout=value + "\n", stderr="")
    return run


def test_outside_tmux_there_is_nothing_to_say():
    assert tmux_clipboard_problem({}, run=answering("off")) is None


def test_tmux_with_set_clipboard_on_passes_copies_on():
    assert tmux_clipboard_problem({"TMUX": "/tmp/tmux-0/default,1,0"}, run=answering("on")) is None


def test_tmux_default_external_and_off_drop_them():
    for value in ("external", "off"):
        problem = tmux_clipboard_problem({"TMUX": "x"}, run=answering(value))
        assert problem is not None and "set -g set-clipboard on" in problem and f"“{value}” now" in problem


def test_an_unreadable_option_is_said_not_guessed():
    def broken(argv, **_kwargs):
        raise FileNotFoundError("tmux")
    problem = tmux_clipboard_problem({"TMUX": "x"}, run=broken)
    assert problem is not None and "could not be read" in problem
    assert "set -g set-clipboard on" in tmux_clipboard_problem({"TMUX": "x"}, run=answering("", returncode=1))
