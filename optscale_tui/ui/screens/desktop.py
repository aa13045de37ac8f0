"""Claude Desktop: the four values its Developer → Configure Third-Party Inference dialog asks for, each one copyable
(OSC 52), and the steps from the OptScale documentation.

Claude Desktop ignores ~/.claude/settings.json, so nothing is written here: the user pastes the values. The API key
is only ever shown masked; copying it puts the real key on the clipboard and the notification names it masked.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from optscale_tui.core.connection import strip_context_suffix
from optscale_tui.ui.widgets.step import StepView

TIER_ORDER = ("opus", "sonnet", "haiku")  # Claude Code's default session follows the Opus tier
LABEL_WIDTH = 19
COPY_GROUP = Binding.Group("Copy")

INTRO = ("Claude Desktop ignores ~/.claude/settings.json: paste these values into its own dialog. "
         "(Writing Desktop's file for you comes in a later version.)")
STEPS = (
    "Help → Troubleshooting → Enable Developer Mode.",
    "Developer → Configure Third-Party Inference.",
    "Connection → Gateway: paste the Gateway Base URL (1) and API Key (2).",
    "Connection → Models: add the Model ID (3) and Display Name (4); m shows the next model to add "
    "(the first one added is the default).",
    "Apply Changes: Claude Desktop restarts by itself.",
    "Check you are signed in to the Gateway account and the models are in the model selector.",
)


class ValueList(OptionList):
    """The values; rows are laid out for the list's width, so a resize (or a scrollbar appearing) re-lays them."""

    def on_resize(self) -> None:
        view = next((a for a in self.ancestors if isinstance(a, DesktopView)), None)
        if view is not None:
            view.refresh_from_state("resize")


@dataclass(frozen=True)
class DesktopValue:
    id: str
    number: int
    label: str
    display: str  # what the screen shows (the key masked)
    copy: str | None  # what the clipboard gets; None when the value is missing
    missing: str = ""  # which step to complete when it is missing
    note: str = ""


class DesktopView(StepView):
    """Values to paste into Claude Desktop (pane id "desktop")."""

    # The Footer shows the four copy keys as one group ("1234 Copy") so that Quit and Help still fit in 80 columns;
    # Help lists each one with its own description.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "copy('url')", "Copy URL", id="desktop.copy.url", tooltip="Copy the Gateway Base URL",
                group=COPY_GROUP),
        Binding("2", "copy('key')", "Copy key", id="desktop.copy.key", tooltip="Copy the Gateway API Key",
                group=COPY_GROUP),
        Binding("3", "copy('model')", "Copy model", id="desktop.copy.model", tooltip="Copy the Model ID",
                group=COPY_GROUP),
        Binding("4", "copy('name')", "Copy name", id="desktop.copy.name", tooltip="Copy the Display Name",
                group=COPY_GROUP),
        Binding("m", "next_model", "Next model", id="desktop.next_model", tooltip="Show the next mapped model"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._tier_index = 0

    def compose(self) -> ComposeResult:
        yield Static(INTRO, id="desktop-intro", markup=False)
        yield Static("Values  (1–4 or enter copies one; m: next model)", id="desktop-values-title",
                     classes="desktop-heading", markup=False)
        yield ValueList(id="desktop-values", compact=True)
        yield Static(id="desktop-warning", markup=False)
        yield Static("Steps in Claude Desktop", classes="desktop-heading", markup=False)
        with Vertical(id="desktop-steps"):
            for number, text in enumerate(STEPS, 1):
                with Horizontal(classes="desktop-step"):
                    yield Static(f"{number}.", classes="desktop-step-number", markup=False)
                    yield Static(text, classes="desktop-step-text", markup=False)

    def focus_first(self) -> None:
        # The values are tall when nothing is entered yet; the pane must still open at its first line.
        self.focus_from_top(self.query_one("#desktop-values", OptionList))

    # --- values -------------------------------------------------------------------------------------------------

    def _models(self) -> list[tuple[str, str]]:
        mapped = self.state.tiers.mapped()
        return [(tier, mapped[tier]) for tier in TIER_ORDER if tier in mapped]

    def _display_name(self, tier: str, model: str) -> str:
        state = self.state
        name = state.display_names.get(tier)
        if name:
            return name
        model_id = strip_context_suffix(model)
        if state.catalog is not None:
            for info in state.catalog.models:
                if info.id == model_id and info.display_name:
                    return f"{info.display_name} via OptScale AI"
        if "claude" in model_id.lower():  # as in the OptScale guide: "Claude Sonnet via OptScale AI"
            return f"Claude {tier.capitalize()} via OptScale AI"
        return f"{model_id.rsplit('/', 1)[-1]} via OptScale AI"

    def values(self) -> list[DesktopValue]:
        state = self.state
        url, key = state.url, state.effective_key
        models = self._models()
        rows = [
            DesktopValue("url", 1, "Gateway Base URL", url.anthropic_base if url else "",
                         url.anthropic_base if url else None, "complete step 1 Connect (F2): paste the Base URL"),
            DesktopValue("key", 2, "Gateway API Key", key.masked if key else "", key.value if key else None,
                         "complete step 1 Connect (F2): paste the API key"),
        ]
        if models:
            self._tier_index %= len(models)
            tier, model = models[self._tier_index]
            note = f"{tier.capitalize()} tier, {self._tier_index + 1} of {len(models)}"
            model_id = strip_context_suffix(model)
            rows.append(DesktopValue("model", 3, "Model ID", model_id, model_id, note=note))
            name = self._display_name(tier, model)
            rows.append(DesktopValue("name", 4, "Display Name", name, name))
        else:
            missing = "complete step 2 Models (F3): map at least one tier"
            rows.append(DesktopValue("model", 3, "Model ID", "", None, missing))
            rows.append(DesktopValue("name", 4, "Display Name", "", None, missing))
        return rows

    def _prompt(self, value: DesktopValue, width: int) -> Content:
        room = max(20, width - LABEL_WIDTH)
        if value.copy is None:
            # Plain text on the warning's muted colour, as the checklist's badges: a bare $text-warning sat on the
            # highlighted row's cursor colour (about 1.5:1 in the light theme).
            text, style = f"! not set yet — {value.missing}", "$text on $warning-muted"
        else:
            text, style = value.display + (f"  ({value.note})" if value.note else ""), ""
        # Long values (the URL) wrap under the value column, never under the label.
        chunks = [text[i:i + room] for i in range(0, len(text), room)] if " " not in text or cell_len(
            text.split(" ")[0]) > room else textwrap.wrap(text, room)
        head = Content.assemble((f"{value.number} ", "bold $text-accent"),
                                (f"{value.label:<{LABEL_WIDTH - 2}}", "bold"))
        lines = [head + Content.styled(chunks[0], style)]
        lines += [Content(" " * LABEL_WIDTH) + Content.styled(chunk, style) for chunk in chunks[1:]]
        return Content("\n").join(lines)

    def refresh_from_state(self, what: str) -> None:
        values_list = self.query_one("#desktop-values", OptionList)
        width = values_list.scrollable_content_region.width or 76
        highlighted = values_list.highlighted
        values = self.values()
        values_list.set_options([Option(self._prompt(v, width), id=v.id) for v in values])
        values_list.highlighted = highlighted if highlighted is not None else 0
        url = self.state.url
        warning = ""
        if url is not None and not url.is_https:
            warning = "! Claude Desktop needs https://; plain http only works with the demo."
        box = self.query_one("#desktop-warning", Static)
        box.update(warning)
        box.display = bool(warning)

    # --- actions ------------------------------------------------------------------------------------------------

    def action_copy(self, value_id: str) -> None:
        value = next(v for v in self.values() if v.id == value_id)
        if value.copy is None:
            self.notify(f"No {value.label} yet: {value.missing}.", severity="warning")
            return
        shown = f" ({value.display})" if value.id != "url" else ""
        label = "the API key" if value.id == "key" else f"the {value.label}"
        self.wizard.copy_and_say(value.copy, f"Copied {label}{shown}.")

    def action_next_model(self) -> None:
        models = self._models()
        if len(models) > 1:
            self._tier_index = (self._tier_index + 1) % len(models)
            self.refresh_from_state("model")
        elif not models:
            self.notify("No model mapped yet: complete step 2 Models (F3).", severity="warning")

    @on(OptionList.OptionSelected, "#desktop-values")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.action_copy(event.option.id)
