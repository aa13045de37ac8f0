"""Help (F1 or ?): the keys, the four steps, the profile picker, where the values come from, and what gets written.

The key lists are read from the bindings themselves (the app's and each pane's), so they cannot drift from what the
keys really do; a widget that handles keys without a binding (the Models list's type-to-filter) adds rows in HELP_KEYS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from optscale_tui.ui.dialogs.base import Dialog

STEPS = (
    ("1 Connect", "paste the Base URL and API key from OptScale Chat."),
    ("2 Models", "map gateway models to the Haiku / Sonnet / Opus tiers."),
    ("3 Review", "read the masked diff, then save (a backup comes first)."),
    ("4 Verify", "test the gateway the way Claude Code uses it."),
)

WHERE = (
    "OptScale AI → Chat → pick a provider and a model → “Connect this model to external tools” → "
    "OPENAI-COMPATIBLE tab. Copy the Base URL (…/llm_proxy/<org-id>/v1), the API key (sk-bf-…) and the "
    "Model name (e.g. anthropic/claude-sonnet-4-6)."
)

# (intro, bullet points, closing note): bullets are rows of a grid, so their wrapped lines stay indented.
WRITTEN = (
    "Only the env keys below change in the settings file; everything else (hooks, permissions…) is kept.",
    (
        "ANTHROPIC_BASE_URL — the Base URL with /v1 replaced by /anthropic (Claude Code appends /v1/messages).",
        "ANTHROPIC_AUTH_TOKEN — the key, sent as “Authorization: Bearer”. Not ANTHROPIC_API_KEY: that one is sent "
        "as x-api-key, asks for approval in Claude Code and clashes with a claude.ai login; an ANTHROPIC_API_KEY "
        "in the file is removed.",
        "ANTHROPIC_DEFAULT_HAIKU/SONNET/OPUS_MODEL — the gateway model of each tier (optional _NAME labels), "
        "CLAUDE_CODE_SUBAGENT_MODEL, and the top-level model setting for the main model.",
    ),
    "The default session follows the Opus tier: with Opus unmapped Claude Code sends a built-in model name "
    "the gateway does not know.",
)

PROFILES = (
    "^o on Connect (or ctrl+p → “Use a profile…”) opens the saved profiles: each a Base URL, the tier models and "
    "where its key comes from. ctrl+p → “Save these values as a profile…” saves what is on screen (the key only "
    "when you say so)."
)

COPY = (
    "Copying uses OSC 52, so it works over SSH: the text lands in the clipboard of the computer you sit at. "
    "Inside tmux add “set -g set-clipboard on” to ~/.tmux.conf. Copied keys are never shown in full."
)


def _unique_bindings(bindings: Iterable[BindingType]) -> list[Binding]:
    return [b for b in Binding.make_bindings(bindings) if b.description]


class HelpScreen(Dialog[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, panes: Sequence[tuple[str, Widget]] = ()) -> None:
        """`panes`: each pane's name and widget, in the step bar's order (the app's: this dialog imports no pane)."""
        super().__init__()
        self._panes = tuple(panes)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Static("Help — optscale-tui", classes="dialog-title", id="help-title")
            with VerticalScroll(id="help-body"):
                yield from self._section("The four steps", rows=STEPS)
                yield from self._section("Keys everywhere", rows=self._app_keys())
                for pane, rows in self._pane_keys():
                    yield from self._section(f"Keys on {pane}", rows=rows)
                yield from self._section("Profiles: the picker (^o on Connect)", PROFILES, rows=self._picker_keys())
                yield from self._section("Where to find the values", WHERE)
                intro, bullets, note = WRITTEN
                yield from self._section(f"What gets written ({self._settings_path()})", intro,
                                         rows=[("•", bullet) for bullet in bullets], after=note)
                yield from self._section("Copying over SSH", COPY)
            yield Static("Esc closes · ↑ ↓ PgUp PgDn scroll", classes="muted", id="help-footer")

    def _settings_path(self) -> str:
        from optscale_tui.ui.format import display_path

        state = getattr(self.app, "state", None)
        return display_path(state.target.path) if state is not None else "settings.json"

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    @staticmethod
    def _section(title: str, body: str = "", *, rows: Iterable[tuple[str, str]] = (),
                 after: str = "") -> Iterable[Widget]:
        """A heading, then text and/or a two-column grid whose second column wraps under itself."""
        yield Static(title, classes="help-heading", markup=False)
        if body:
            yield Static(body, classes="help-text", markup=False)
        rows = list(rows)
        if rows:
            yield Grid(*(Static(cell, classes=f"help-{kind}", markup=False)
                         for row in rows for kind, cell in zip(("key", "what"), row, strict=True)),
                       classes="help-rows")
        if after:
            yield Static(after, classes="help-text", markup=False)

    def _key_rows(self, bindings: Iterable[Binding],
                  skip: set[tuple[str, str]] = frozenset()) -> list[tuple[str, str]]:
        """One row per description: all its keys, then what they do (ctrl+q and q differ in action only, so that a
        dialog can keep ctrl+q alone)."""
        grouped: dict[str, list[str]] = {}
        for binding in bindings:
            description = binding.description + (f" — {binding.tooltip}" if binding.tooltip else "")
            keys = grouped.setdefault(description, [])
            shown = self.app.get_key_display(binding)
            if shown not in keys:
                keys.append(shown)
        return [(" / ".join(keys), description) for description, keys in grouped.items()
                if (" / ".join(keys), description) not in skip]

    def _app_keys(self) -> list[tuple[str, str]]:
        from optscale_tui.ui.widgets.step_bar import StepBar

        return self._key_rows(_unique_bindings([*type(self.app).BINDINGS, *StepBar.BINDINGS]))

    def _picker_keys(self) -> list[tuple[str, str]]:
        """The profile picker's keys, from its bindings (and its enter, which is the list's)."""
        from optscale_tui.ui.dialogs.profiles import ProfilePicker

        return [*ProfilePicker.HELP_KEYS, *self._key_rows(_unique_bindings(ProfilePicker.BINDINGS))]

    def _pane_keys(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Keys of each pane, read from the bindings of the pane and of the project's own widgets in it."""
        app_keys = {(self.app.get_key_display(b), b.description + (f" — {b.tooltip}" if b.tooltip else ""))
                    for b in _unique_bindings(type(self.app).BINDINGS)}
        sections = []
        for name, view in self._panes:
            classes: list[type] = []
            for widget in (view, *view.walk_children(with_self=False)):
                cls = type(widget)
                if cls.__module__.startswith("optscale_tui.") and cls not in classes:
                    classes.append(cls)
            bindings = [b for cls in classes for b in _unique_bindings(cls.__dict__.get("BINDINGS", ()))]
            # Keys that are no binding (type-to-filter) are told by the widget that handles them, after its bindings.
            rows = self._key_rows(bindings, skip=app_keys) + [row for cls in classes
                                                               for row in cls.__dict__.get("HELP_KEYS", ())]
            if rows:
                sections.append((name, rows))
        return sections
