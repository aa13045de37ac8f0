"""Pick a gateway model: a filter Input over the catalog, plus the name as typed when it is not in the catalog.

Typing filters the list (id and display name). When the text is a valid model name (core `parse_model_name`) that the
catalog does not list — or there is no catalog at all — the typed name is offered as the first entry, so names can be
entered by hand with the same keys. The list posts `ModelList.Assign(target, model)`; what a target means (a Claude
Code tier, the main model…) is up to the screen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from optscale_tui.core.clients.claude_code.models import is_mappable_model, model_family
from optscale_tui.core.connection import InputError, parse_model_name
from optscale_tui.core.secrets import clean_outside_text

if TYPE_CHECKING:
    from optscale_tui.core.gateway.catalog import ModelInfo

TYPED_PREFIX = "typed:"
# After a catalog id that had to be cleaned to be shown (control characters, a key in it): it cannot be mapped.
UNUSABLE_NOTE = " (unsafe id: cannot be used)"
# Short enough for the field at 80 columns (27 cells inside its border), where a longer one was cut mid-word.
FILTER_PLACEHOLDER = "Filter, or type a name"
TYPE_PLACEHOLDER = "Type a model name"
# Under the field, where the list would be; it wraps at word ends in the picker's 31 cells at 80 columns.
NO_CATALOG_HINT = "Type the Model name from OptScale Chat, e.g. anthropic/claude-sonnet-4-6."


# Keys that move the highlight: pressing one is choosing in the list, so the plain tier keys work from then on.
NAVIGATION_KEYS = frozenset({"up", "down", "pageup", "pagedown", "home", "end"})


class ModelList(OptionList):
    """The filtered models. Keys assign the highlighted model to a target.

    The plain tier keys (h s o m a) work only once the user has moved into or within the list (↓ from the filter, an
    arrow, Home/End/PgUp/PgDn, a click): `armed`. A list that got the focus otherwise (the catalog arrived, the pane
    was shown, Enter ended the filter) is not armed, and every letter typed in it goes to the filter: "opus" typed on
    seeing the list mapped Opus to the highlighted model and left "pus" in the filter, and "sonnet" typed after Enter
    mapped Sonnet and Opus to a mistyped name. alt+h/s/o/m/a (the pane's) map from anywhere.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "assign('haiku')", "Haiku", tooltip="use the highlighted model for Haiku",
                id="models.haiku"),
        Binding("s", "assign('sonnet')", "Sonnet", tooltip="use the highlighted model for Sonnet",
                id="models.sonnet"),
        Binding("o", "assign('opus')", "Opus", tooltip="use the highlighted model for Opus", id="models.opus"),
        Binding("m", "assign('main_model')", "Main model", show=False,
                tooltip="use the highlighted model as the main model (`model`)", id="models.main"),
        Binding("a", "assign('subagent_model')", "Subagent model", show=False,
                tooltip="use the highlighted model for subagents", id="models.subagent"),
        Binding("enter", "pick", "Use",
                tooltip="use the highlighted model for the tier it is named for (an Opus model for Opus…)",
                id="models.pick"),
        Binding("slash", "filter", "Filter", show=False, tooltip="back to the filter field", id="models.filter"),
    ]

    # Help rows for keys that are no binding (read by the Help screen next to the bindings).
    HELP_KEYS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("other keys", "Filter as you type — in the list, a letter, digit or sign that is no key there goes to the "
                       "filter (h s o m a / r q ? are keys, and f while it offers a fix)"),
        ("↑ ↓", "In the list: choose a model; h s o m a map it only after such a move (or ↓ from the filter), so "
                "letters typed on seeing the list, or after Enter, go to the filter"),
    )

    armed = False  # the plain tier keys map (see the class docstring); a plain attribute: no redraw needed

    class Assign(Message):
        """Assign `model` to `target` ("haiku", "sonnet", "opus", "main_model", "subagent_model")."""

        def __init__(self, target: str, model: str) -> None:
            super().__init__()
            self.target = target
            self.model = model

    @property
    def highlighted_model(self) -> str | None:
        option = self.highlighted_option
        if option is None or option.id is None:
            return None
        return option.id.removeprefix(TYPED_PREFIX)

    def arm(self, armed: bool = True) -> None:
        if armed != self.armed:
            self.armed = armed
            if self.has_focus:
                self.refresh_bindings()  # the Footer shows h/s/o only while they map

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("assign", "filter"):
            # False: inert and out of the Footer, so the letter reaches on_key and is typed into the filter.
            return self.armed
        return True

    def action_assign(self, target: str) -> None:
        model = self.highlighted_model
        if model is None:
            self._highlight_first()
            return
        self.post_message(self.Assign(target, model))

    def _highlight_first(self) -> None:
        self.notify("Highlight a model first (type a name in the filter if the list is empty).",
                    severity="warning", title="Models")

    def action_pick(self) -> None:
        # Enter replaces OptionList's "select", which did nothing here. What a keyboard user means by Enter on a
        # model is "use this one": for the tier it is named for; a model named for no tier needs the key for a target.
        model = self.highlighted_model
        if model is None:
            self._highlight_first()
            return
        picker = self._picker()
        family = model_family(model, picker.display_name(model) if picker else None)
        if family is None:
            self.notify(f"{model} is not named for a tier: press h, s or o to use it for Haiku, Sonnet or Opus "
                        "(m: main model, a: subagents).", title="Models")
            return
        self.post_message(self.Assign(family, model))

    def action_filter(self) -> None:
        picker = self._picker()
        if picker is not None:
            picker.query_one("#model-filter", Input).focus()

    def on_click(self) -> None:
        self.arm()

    def on_key(self, event: events.Key) -> None:
        if event.key in NAVIGATION_KEYS:
            self.arm()
            return  # the OptionList's binding moves the highlight
        # Type-to-filter: a printable character goes to the filter, appended, and the filter takes the focus. In an
        # armed list, keys bindings claim stay keys (h s o m a and / are the list's, r, f, q and ? the pane's and the
        # app's); in a list not armed, every printable character is typing.
        char = event.character
        if not event.is_printable or not char or char.isspace():
            return
        active = self.screen.active_bindings.get(event.key)
        if self.armed and active is not None and active.enabled:
            return
        picker = self._picker()
        if picker is None:
            return
        event.stop()
        event.prevent_default()
        self.arm(False)  # typing: the next letters are typed too, wherever the focus is when they arrive
        field = picker.query_one("#model-filter", Input)
        field.value += char
        field.cursor_position = len(field.value)
        # At once, not via focus() (a callback later): the next key of a burst then lands in the field, after this one.
        self.screen.set_focus(field)

    def _picker(self) -> ModelPicker | None:
        return next((a for a in self.ancestors if isinstance(a, ModelPicker)), None)


class ModelPicker(Vertical):
    """Filter Input + ModelList (+ one hint line for a name that cannot be used)."""

    DEFAULT_CSS = """
    ModelPicker { height: auto; }
    ModelPicker #model-hint { display: none; }
    ModelPicker ModelList { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._models: tuple[ModelInfo, ...] = ()
        self._tags: dict[str, str] = {}
        self._have_catalog: bool | None = None  # None: nothing shown yet, so the first set_models draws

    def compose(self) -> ComposeResult:
        filter_input = Input(placeholder=FILTER_PLACEHOLDER, id="model-filter", select_on_focus=False)
        filter_input.border_title = "Models"
        yield filter_input
        yield Static("", id="model-hint", markup=False)
        yield ModelList(id="model-list")

    @property
    def model_list(self) -> ModelList:
        return self.query_one("#model-list", ModelList)

    @property
    def filter_text(self) -> str:
        return self.query_one("#model-filter", Input).value

    def set_models(self, models: Sequence[ModelInfo], *, have_catalog: bool) -> None:
        """Show these catalog models (`have_catalog` False: there is no catalog, names are typed by hand)."""
        if tuple(models) == self._models and have_catalog == self._have_catalog:
            # Nothing new (a state broadcast re-showing the same catalog): rebuilding the list would reset its
            # highlight under a user who has just filtered and is about to press h / s / o.
            return
        self._models = tuple(models)
        self._have_catalog = have_catalog
        self.query_one("#model-filter", Input).placeholder = FILTER_PLACEHOLDER if have_catalog else TYPE_PLACEHOLDER
        self._rebuild()

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Short labels shown in a column before each model (e.g. the keys of the targets that use it: "h s o")."""
        if dict(tags) != self._tags:
            self._tags = dict(tags)
            self._rebuild()

    def display_name(self, model: str) -> str | None:
        """The catalog's display name for `model`, cleaned: it is shown, and saved as the tier's model name."""
        name = next((m.display_name for m in self._models if m.id == model), None)
        return clean_outside_text(name, single_line=True) or None if name else None

    def _matches(self, text: str) -> Iterable[ModelInfo]:
        needle = text.strip().lower()
        for model in self._models:
            if not needle or needle in model.id.lower() or needle in (model.display_name or "").lower():
                yield model

    def _rebuild(self) -> None:
        option_list = self.model_list
        previous = option_list.highlighted_option.id if option_list.highlighted_option else None
        text = self.filter_text
        matches = list(self._matches(text))
        options: list[Option] = []
        hint = ""
        typed: str | None = None
        try:
            typed = parse_model_name(text)
        except InputError as exc:
            if not matches:
                hint = f"✗ {exc.reason}"
        # The tags go before the name, in a column as wide as the widest tag: after a long name they were cut off.
        width = max(map(len, self._tags.values()), default=0)
        for model in matches:
            # The gateway's text: shown cleaned (no escape sequence, no key); an id that had to be changed for that
            # is marked, and the Models pane refuses to map it.
            label = Text.assemble(self._tag(model.id, width), clean_outside_text(model.id, single_line=True))
            if not is_mappable_model(model.id):
                label.append(UNUSABLE_NOTE, "dim")
            shown_name = self.display_name(model.id)
            if shown_name and shown_name != model.id:
                label.append(f"  {shown_name}", "dim")
            options.append(Option(label, id=model.id))
        if typed is not None and all(m.id != typed for m in self._models):
            # The name as typed, after the catalog matches (a partial filter like "sonnet" is rarely meant literally).
            label = Text.assemble(self._tag(typed, width), "✎ ", typed, (" (as typed)", "dim"))
            options.append(Option(label, id=f"{TYPED_PREFIX}{typed}"))
        with self.prevent(OptionList.OptionHighlighted):
            option_list.set_options(options)
        if not options:
            if not hint:
                hint = ("No model matches; clear the filter (ctrl+u) or type the full name."
                        if self._have_catalog else NO_CATALOG_HINT)
        elif previous is not None:
            ids = [o.id for o in options]
            option_list.highlighted = ids.index(previous) if previous in ids else 0
        else:
            option_list.highlighted = 0
        hint_widget = self.query_one("#model-hint", Static)
        hint_widget.update(hint)
        hint_widget.display = bool(hint)
        option_list.display = bool(options)

    def _tag(self, model: str, width: int) -> Text:
        return Text(f"{self._tags.get(model, ''):<{width}} ", "bold") if width else Text()

    def clear_filter(self) -> None:
        """Empty the filter (the list shows every model again): it was typed for another list."""
        field = self.query_one("#model-filter", Input)
        if field.value:
            field.value = ""  # Changed rebuilds the list

    @on(Input.Changed, "#model-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._rebuild()

    @on(Input.Submitted, "#model-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.model_list.option_count:
            # At once, not with focus() (a callback run later): the keys after Enter go to the list. Not armed: Enter
            # ends the filter, it does not choose, and letters typed next (a typo being corrected) stay typing.
            self.model_list.arm(False)
            self.screen.set_focus(self.model_list)

    def on_key(self, event: events.Key) -> None:
        # Down from the filter goes into the list, as in a combo box.
        filter_focused = self.screen.focused is self.query_one("#model-filter", Input)
        if event.key == "down" and filter_focused and self.model_list.option_count:
            event.stop()
            self.model_list.arm()  # moving into the list is choosing: h / s / o map the highlighted model
            self.screen.set_focus(self.model_list)
