"""Help (F1 or ?): the keys, the four steps, where the values come from, and what gets written.

The key lists are read from the bindings themselves (the app's and each pane's), so they cannot drift from what the
keys really do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

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

WRITTEN = (
    "Only the env keys below change in the settings file; everything else (hooks, permissions…) is kept.\n"
    "• ANTHROPIC_BASE_URL — the Base URL with /v1 replaced by /anthropic (Claude Code appends /v1/messages).\n"
    "• ANTHROPIC_AUTH_TOKEN — the key, sent as “Authorization: Bearer”. Not ANTHROPIC_API_KEY: that one is sent "
    "as x-api-key, asks for approval in Claude Code and clashes with a claude.ai login; an ANTHROPIC_API_KEY "
    "in the file is removed.\n"
    "• ANTHROPIC_DEFAULT_HAIKU/SONNET/OPUS_MODEL — the gateway model of each tier (optional _NAME labels), "
    "CLAUDE_CODE_SUBAGENT_MODEL, and `model` for the main model.\n"
    "The default session follows the Opus tier: with Opus unmapped Claude Code sends a built-in model name "
    "the gateway does not know."
)

COPY = (
    "Copying uses OSC 52, so it works over SSH: the text lands in the clipboard of the computer you sit at. "
    "Inside tmux add `set -g set-clipboard on` to ~/.tmux.conf. Copied keys are never shown in full."
)


def _unique_bindings(bindings: Iterable[BindingType]) -> list[Binding]:
    return [b for b in Binding.make_bindings(bindings) if b.description]


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Static("Help — optscale-tui", classes="dialog-title", id="help-title")
            with VerticalScroll(id="help-body"):
                yield from self._section("The four steps", self._steps())
                yield from self._section("Keys everywhere", self._app_keys())
                for pane, text in self._pane_keys():
                    yield from self._section(f"Keys on {pane}", text)
                yield from self._section("Where to find the values", WHERE)
                yield from self._section(f"What gets written ({self._settings_path()})", WRITTEN)
                yield from self._section("Copying over SSH", COPY)
            yield Static("Esc closes · ↑ ↓ PgUp PgDn scroll", classes="muted", id="help-footer")

    def _settings_path(self) -> str:
        from optscale_tui.ui.format import display_path

        state = getattr(self.app, "state", None)
        return display_path(state.target.path) if state is not None else "settings.json"

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    @staticmethod
    def _section(title: str, body: str) -> Iterable[Widget]:
        yield Static(title, classes="help-heading", markup=False)
        yield Static(body, classes="help-text", markup=False)

    @staticmethod
    def _steps() -> str:
        width = max(len(name) for name, _ in STEPS)
        return "\n".join(f"{name.ljust(width)}  {what}" for name, what in STEPS)

    def _key_lines(self, bindings: Iterable[Binding], skip: set[tuple[str, str]] = frozenset()) -> list[str]:
        """One line per action: all its keys, then what it does."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for binding in bindings:
            description = binding.description + (f" — {binding.tooltip}" if binding.tooltip else "")
            keys = grouped.setdefault((binding.action, description), [])
            shown = self.app.get_key_display(binding)
            if shown not in keys:
                keys.append(shown)
        rows = [(" / ".join(keys), description) for (_, description), keys in grouped.items()
                if (" / ".join(keys), description) not in skip]
        width = max((len(k) for k, _ in rows), default=0)
        return [f"{keys.ljust(width)}  {description}" for keys, description in rows]

    def _app_keys(self) -> str:
        app_bindings = _unique_bindings(type(self.app).BINDINGS)
        return "\n".join(self._key_lines(app_bindings))

    def _pane_keys(self) -> list[tuple[str, str]]:
        """Keys of each pane, read from the bindings of the pane and of the project's own widgets in it."""
        from optscale_tui.ui.app import PANES
        from optscale_tui.ui.widgets.step import StepView

        labels = {pane: label.split(" ", 1)[-1] for pane, label, _ in PANES}
        app_keys = {(self.app.get_key_display(b), b.description + (f" — {b.tooltip}" if b.tooltip else ""))
                    for b in _unique_bindings(type(self.app).BINDINGS)}
        base = self.app.screen_stack[0]
        sections = []
        for view in base.query(StepView):
            pane = (view.id or "").removesuffix("-view")
            classes: list[type] = []
            for widget in (view, *view.walk_children(with_self=False)):
                cls = type(widget)
                if cls.__module__.startswith("optscale_tui.") and cls not in classes:
                    classes.append(cls)
            bindings = [b for cls in classes for b in _unique_bindings(cls.__dict__.get("BINDINGS", ()))]
            lines = self._key_lines(bindings, skip=app_keys)
            if lines:
                sections.append((labels.get(pane, pane), "\n".join(lines)))
        return sections
