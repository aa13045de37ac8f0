"""The real `optscale-tui --demo` in a pseudo-terminal (80×24), driven by key bytes like a user over SSH."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from optscale_tui.demo.server import DEMO_KEY
from optscale_tui.testing.pty_terminal import PtyTerminal

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(REPO), TERM="xterm-256color",
               OPTSCALE_TUI_CLAUDE_BIN=str(tmp_path / "no-claude"))
    term = PtyTerminal([sys.executable, "-m", "optscale_tui", "--demo"], cols=80, rows=24, env=env, cwd=str(tmp_path))
    yield term
    term.close()


def wait_for_cursor_in_key_field(demo) -> None:
    # Keys typed before the focus has moved land in the previous field (Textual queues each key for the widget
    # focused when it arrives): wait until the key field draws its cursor, as a person looks before typing.
    demo.wait_for(lambda _screen: demo.cursor_on("sk-bf-… (paste"), timeout=60)


def list_row_highlighted(demo, model: str) -> bool:
    """Whether the Models list (the left half) highlights `model`: its row's background differs from the row
    under it (the "✎ … (as typed)" row a filter always adds)."""
    for row, line in enumerate(demo.screen.display[:-1]):
        col = line.find(model)
        if 0 <= col < 38:
            return demo.screen.buffer[row][col].bg != demo.screen.buffer[row + 1][col].bg
    return False


FILTER_PLACEHOLDER = "Filter, or type a name"


def clear_the_filter(demo, timeout: float = 60) -> None:
    """Until the Models filter has the focus (its cursor on the placeholder) and stays empty for longer than a blink:
    a "/" that reached the list just before the focus moved is typed into the filter a moment later, and a person
    clears that too before typing the name."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            demo.wait_for(lambda _screen: demo.cursor_on(FILTER_PLACEHOLDER), timeout=3)  # focused (cursor seen)
            demo.wait_until_steady(lambda screen: FILTER_PLACEHOLDER in screen, timeout=3)  # and stays empty
            return
        except TimeoutError:
            demo.press("ctrl+u")
    raise TimeoutError(f"the filter did not become empty and focused:\n{demo.text()}")


def model_of(screen: str, label: str) -> str | None:
    """The model the mapping table shows for a tier ("Haiku", "Sonnet", "Opus")."""
    for line in screen.splitlines():
        words = line.split()
        if len(words) >= 2 and words[-2] == label:
            return words[-1]
    return None


name_of = {"h": "Haiku", "o": "Opus", "s": "Sonnet"}


def test_demo_full_flow_by_keys(demo, tmp_path):
    """Paste the key, map the tiers, review the masked diff, save, watch verification pass, quit."""
    demo.wait_for("Base URL", timeout=60)
    demo.wait_for("/anthropic", timeout=60)  # settings load after the first frame, then the URL is derived
    demo.settle()
    screen = demo.text()
    assert "1 Connect" in screen and "Desktop" in screen  # every pane is reachable from the tab bar at 80 columns
    assert "/llm_proxy/" in screen and "/anthropic" in screen  # the demo URL is prefilled and derived live

    demo.press("enter")  # Base URL → key field
    wait_for_cursor_in_key_field(demo)
    demo.type(DEMO_KEY)
    demo.wait_for("•" * 8, timeout=60)  # typed, shown as bullets
    demo.press("enter")  # accept the key and go Next
    demo.wait_for("anthropic/claude-sonnet-4-6", timeout=60)  # the catalog loaded in a worker
    assert DEMO_KEY not in demo.text()

    # Filter to each model and assign it, one key at a time as a person types. `/` puts the cursor in the filter
    # (or types a "/" there, which ctrl+u clears), ↓ moves into the list (Enter would too, but letters typed after
    # Enter are still typing), then h / o / s assign.
    for name, key in (("haiku-4-5", "h"), ("opus-4-6", "o"), ("sonnet-4-6", "s")):
        model = f"anthropic/claude-{name}"
        for step in ("/", "ctrl+u", name, "down", key):
            if step == name:
                demo.type(step)
            else:
                demo.press(step)
            demo.settle(quiet=0.2)
            if step == "ctrl+u":  # as a person looks: the filter has the cursor and is empty before typing into it
                clear_the_filter(demo)
            if step == "down":  # as a person looks: the filter's cursor has gone, the model is highlighted
                demo.wait_until_steady(lambda _screen, typed=name, wanted=model: not demo.cursor_on(typed, after=True)
                                       and list_row_highlighted(demo, wanted))
        demo.wait_for(lambda screen, wanted=model, tier=name_of[key]: model_of(screen, tier) == wanted, timeout=60)
    def mapped(screen: str) -> bool:
        rows = {line.split()[-2]: line.split()[-1] for line in screen.splitlines()
                if len(line.split()) >= 2 and line.split()[-2] in ("Haiku", "Sonnet", "Opus")}
        return rows == {"Haiku": "anthropic/claude-haiku-4-5", "Sonnet": "anthropic/claude-sonnet-4-6",
                        "Opus": "anthropic/claude-opus-4-6"}

    demo.wait_for(mapped, timeout=60)
    demo.press("ctrl+n")
    demo.wait_for("ANTHROPIC_DEFAULT_OPUS_MODEL", timeout=60)
    # The reasons come first; the diff box below them opens at its first hunk, so the masked key is in view at 24
    # rows without scrolling (even after the doctor panel fills in and the box shrinks).
    demo.wait_for("sk-bf-…", timeout=60)
    demo.settle()
    screen = demo.text()
    assert "sk-bf-…" in screen and DEMO_KEY not in screen, screen  # the whole screen: pytest elides long strings

    demo.press("w")
    demo.wait_for("backup", timeout=60)  # the confirmation says a backup is made first
    demo.press("y")
    demo.wait_for(lambda s: "Saved" in s or "saved" in s, timeout=60)

    demo.press("f5")
    demo.wait_for("Hello from the OptScale demo gateway", timeout=60)
    demo.wait_for(lambda s: "✗" not in s and ("passed" in s or "verified" in s.lower()), timeout=60)
    assert DEMO_KEY not in demo.text()

    demo.press("ctrl+q")
    assert demo.wait_exit(timeout=60) == 0
    assert not (tmp_path / ".claude").exists()  # the user's own HOME was never written: the demo has its sandbox


def test_quit_asks_when_values_are_unsaved(demo):
    demo.wait_for("/anthropic", timeout=60)
    demo.settle()
    demo.press("enter")
    wait_for_cursor_in_key_field(demo)
    demo.type(DEMO_KEY)
    demo.wait_for("•" * 8, timeout=60)
    demo.press("enter")
    demo.wait_for("anthropic/claude-sonnet-4-6", timeout=60)
    for step in ("/", "ctrl+u", "opus-4-6", "down", "o"):
        demo.type(step) if step == "opus-4-6" else demo.press(step)
        demo.settle(quiet=0.2)
    demo.press("f1")
    demo.wait_for("Help — optscale-tui", timeout=60)
    demo.press("escape")
    demo.press("ctrl+q")
    demo.wait_for("Quit optscale-tui?", timeout=60)
    demo.press("n")
    demo.settle()
    assert demo.process.poll() is None  # still running
    demo.press("ctrl+q")
    demo.wait_for("Quit optscale-tui?", timeout=60)
    demo.press("y")
    assert demo.wait_exit(timeout=60) == 0


def test_a_key_sent_in_one_burst_with_the_enter_before_it_lands_in_the_key_field(demo):
    # tmux send-keys, a paste over SSH, or a fast typist: Enter and the key arrive before the app has handled the
    # Enter. The Base URL field used to get the key (in clear, until a rescue moved it and said so).
    demo.wait_for("/anthropic", timeout=60)
    demo.settle()
    def derived_url(screen: str) -> str | None:  # the prefilled URL, once read from the settings and derived
        return next((w for w in screen.split() if w.startswith("http") and w.endswith("/anthropic")), None)

    demo.wait_for(derived_url, timeout=60)
    derived = derived_url(demo.text())
    assert derived is not None
    base_url = derived.removesuffix("/anthropic") + "/v1"  # as the field holds it
    # The Base URL field has the focus: the prefilled URL is selected, with the cursor on its first cell.
    demo.wait_for(lambda _screen: demo.cursor_on("http://127.0.0.1"), timeout=60)
    demo.type("\r" + DEMO_KEY)
    demo.wait_for("•" * 8, timeout=60)
    demo.settle()
    screen = demo.text()
    assert f"▊  {base_url}" in screen, screen  # the Base URL field holds the URL alone, shown from its start
    assert DEMO_KEY not in screen and "was in the Base URL" not in screen, screen
