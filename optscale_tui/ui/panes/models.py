"""Step 2, Models: map gateway models to Claude Code's Haiku / Sonnet / Opus tiers (+ main and subagent model).

The catalog comes from the gateway (core `GatewayClient.list_models`, in an async worker) and belongs to the URL + key
it was fetched with: the app drops it when the connection changes and this pane fetches it again when shown. When it
cannot be fetched, the cause and its fix are shown (core `describe`), and model names can still be typed by hand.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Button, Checkbox, ContentSwitcher, DataTable, OptionList, Static

from optscale_tui.core.causes import Cause, describe
from optscale_tui.core.clients.claude_code.models import (
    CLAUDE_CODE_BUILTIN_MODELS,
    TIERS,
    TierSuggestion,
    is_mappable_model,
    model_family,
    models_not_in_catalog,
    suggest_tier_models,
)
from optscale_tui.core.connection import InputError, TierMapping
from optscale_tui.core.secrets import clean_outside_text
from optscale_tui.ui.format import LABELS, TARGETS, not_in_catalog_line
from optscale_tui.ui.messages import CatalogFetched, Change, StepRequested, TiersEdited
from optscale_tui.ui.panes.base import Pane
from optscale_tui.ui.widgets.marked_checkbox import MarkedCheckbox
from optscale_tui.ui.widgets.model_picker import ModelList, ModelPicker
from optscale_tui.ui.widgets.step_nav import StepNav

KEYS = {"haiku": "h", "sonnet": "s", "opus": "o", "main_model": "m", "subagent_model": "a"}  # as in ModelList
NAME_SUFFIX = " via OptScale"
MAPPING_WIDTH = 42  # cells, as in models.tcss (#mapping-col)


class MappingTable(DataTable):
    """Target → model. `x` (or Delete) clears the highlighted row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x,delete", "clear_row", "Clear", tooltip="clear the highlighted row of the mapping",
                id="tiers.clear"),
    ]

    class Clear(Message):
        def __init__(self, target: str) -> None:
            super().__init__()
            self.target = target

    def action_clear_row(self) -> None:
        if self.row_count:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
            if row_key.value:
                self.post_message(self.Clear(row_key.value))


class ModelsPane(Pane):
    """Pane "tiers" (step 2, Models): catalog, tier mapping, coverage warning and the optional extras."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # ctrl+r works wherever focus is, the filter included (where r is typed); the Footer shows it when the
        # catalog failed. r stays for the list and the table, out of the Footer to keep it within 80 columns.
        Binding("ctrl+r", "retry", "Retry", tooltip="fetch the model list again", id="tiers.retry"),
        Binding("r", "reload", "Reload", show=False, tooltip="fetch the model list again", id="tiers.reload"),
        Binding("f", "fix", "Fix", tooltip="map each unmapped tier to the catalog model named for it",
                id="tiers.fix"),
        # The tier keys with a modifier work from the filter too; the Footer shows them while the plain ones do not
        # map (the filter, or a list the user has not moved in yet: letters are typed there).
        # One Footer entry for the three ("alt+h/s/o Map"): three took the Footer's room at 80 columns (Help left it).
        Binding("alt+h", "assign('haiku')", "Map", key_display="alt+h/s/o",
                tooltip="use the highlighted model for Haiku (alt+s Sonnet, alt+o Opus)", id="tiers.haiku"),
        Binding("alt+s", "assign('sonnet')", "Sonnet", show=False, tooltip="use the highlighted model for Sonnet",
                id="tiers.sonnet"),
        Binding("alt+o", "assign('opus')", "Opus", show=False, tooltip="use the highlighted model for Opus",
                id="tiers.opus"),
        Binding("alt+m", "assign('main_model')", "Main model", show=False,
                tooltip="use the highlighted model as the main model (`model`)", id="tiers.main"),
        Binding("alt+a", "assign('subagent_model')", "Subagent model", show=False,
                tooltip="use the highlighted model for subagents", id="tiers.subagent"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._tiers = TierMapping()
        self._betas: bool | None = None
        self._names_on = False
        self._names_touched = False
        self._load_error: str | None = None  # the client could not even be created (e.g. an unusable CA file)
        self._loading = False
        self._failed = False  # no usable catalog although there is a connection: ctrl+r retries
        # The filter belongs to a list: the connection (URL, key) the catalog was last fetched for, and the restores
        # seen. Another connection's list or a restored file starts with an empty filter: a filter kept from before
        # showed one model (or none) of the new list.
        self._fetched_for: tuple[str, object] | None = None
        self._restores_seen = 0

    # --- layout ---------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="catalog-bar"):
            yield Static("", id="catalog-status", markup=False)
            yield self._button("Retry ^r", "retry")
        yield Static("", id="catalog-fix", markup=False)
        # Above the models and the mapping, not after the options: at 80×24 a hint down there scrolled the pane so
        # far that the mapping table's first rows left the screen while the user mapped the tiers it asks for.
        yield Static("", id="nav-hint", classes="error-text", markup=False)
        with Horizontal(id="pick-row"):
            yield ModelPicker(id="picker")
            with Vertical(id="mapping-col"):
                yield MappingTable(id="mapping", cursor_type="row", zebra_stripes=False)
                with Horizontal(id="assign-bar"):
                    for target, key, label in (("haiku", "h", "Haiku"), ("sonnet", "s", "Sonnet"),
                                               ("opus", "o", "Opus"), ("main_model", "m", "Main"),
                                               ("subagent_model", "a", "Sub")):
                        yield self._button(f"{label} {key}", f"assign-{target}", classes="assign")
        yield Static("", id="catalog-why", classes="muted", markup=False)
        yield Static("", id="coverage", classes="warn-text", markup=False)
        yield Static("", id="coverage-detail", classes="muted", markup=False)
        yield self._button("", "fix")
        yield MarkedCheckbox("Turn off experimental betas (for gateways that reject anthropic-beta)", id="no-betas",
                       compact=True)
        yield MarkedCheckbox(f"Label the tiers in /model as “<model>{NAME_SUFFIX}”", id="names", compact=True)
        yield StepNav(back="connect", next_="review")

    @staticmethod
    def _button(label: str, id: str, classes: str = "") -> Button:
        button = Button(label, id=id, compact=True, classes=classes)
        button.can_focus = False  # every button has a key; Tab stays on the list, the table and the options
        return button

    def on_mount(self) -> None:
        table = self.query_one(MappingTable)
        table.add_column("Use for", key="target")
        table.add_column("Model", key="model")
        for target, label, _ in TARGETS:
            table.add_row(label, "", key=target)

    def focus_first(self) -> None:
        picker = self.query_one(ModelPicker)
        if picker.model_list.option_count:
            picker.model_list.arm(False)  # the app put the focus there: letters typed on seeing it are a filter
            picker.model_list.focus()
        else:
            picker.query_one("#model-filter").focus()

    @property
    def picker(self) -> ModelPicker:
        return self.query_one(ModelPicker)

    # --- state → widgets ------------------------------------------------------------------------------------

    def refresh_from_state(self, change: Change | None) -> None:
        state = self.state
        if state.restores != self._restores_seen:
            self._restores_seen = state.restores
            self.picker.clear_filter()
        if change is Change.CATALOG:
            self._catalog_arrived()  # what the app stored from our CatalogFetched
            return
        if change is Change.ADOPTED and not state.display_names:
            self._names_touched = False  # a restore or a fix rewrote the file: its labels are the values again
        if change in (Change.ALL, Change.SETTINGS, Change.TIERS, Change.ADOPTED, Change.PROFILE):
            # The app's state is the source of truth: a file load, a fix-it or the palette may change the mapping.
            # Our own edits come back here too (via TiersEdited → app → StateChanged), so this converges on them.
            self._tiers = state.tiers
            self._betas = state.disable_experimental_betas
            if not self._names_touched:
                self._names_on = bool(state.display_names) or self._file_has_names()
            with self.prevent(Checkbox.Changed):
                self.query_one("#no-betas", Checkbox).value = self._betas is True
                self.query_one("#names", Checkbox).value = self._names_on
        self._show_catalog()
        self._show_mapping()
        if state.catalog is None and self._is_active():
            self.load_catalog()

    def on_show(self) -> None:
        if self.state.catalog is None and not self._loading:
            self.load_catalog()

    def _is_active(self) -> bool:
        try:
            return self.screen.query_one("#panes", ContentSwitcher).current == "tiers"
        except NoMatches:
            return False

    def _file_has_names(self) -> bool:
        if self.state.document is None:
            return False
        # Imported once the file is read (the schema is loaded by then): importing it at mount would cost start-up.
        from optscale_tui.core.clients.claude_code.schema import SETTING

        env = self.state.document.env
        return any(env.get(SETTING[f"name.{tier}"].key) for tier in TIERS)

    def _show_catalog(self) -> None:
        state = self.state
        status = self.query_one("#catalog-status", Static)
        catalog = state.catalog
        status.set_classes("")
        fix = why = ""
        failed = False
        if self._loading:
            status.update("⋯ Loading the model list from the gateway…")
        elif state.url is None or state.effective_key is None:
            status.update("No connection yet: enter the Base URL and key on step 1 (F2), or type model names.")
            status.add_class("muted")
        elif self._load_error is not None:
            status.update("✗ The model list could not be requested; type model names by hand.")
            status.add_class("error-text")
            fix, failed = self._load_error, True
        elif catalog is None:
            status.update("The model list has not been loaded yet (ctrl+r loads it).")
            status.add_class("muted")
            failed = True
        elif catalog.probe.ok:
            count = len(catalog.models)
            if count:
                status.update(f"✓ {count} model{'s' if count != 1 else ''} this key may use, from the gateway.")
                status.add_class("ok-text")
            else:
                status.update("! The gateway listed no models for this key; type model names by hand.")
                status.add_class("warn-text")
        else:
            probe = catalog.probe
            info = describe(probe.cause) if probe.cause is not None else None
            title = f"{info.title} [{info.cause}]" if info else "The gateway did not return a model list"
            status.update(f"✗ {title}: no model list; type names by hand.")
            status.add_class("error-text")
            fix = f"Fix: {info.fix}" if info else ""
            why = "\n".join(x for x in (f"Why: {info.message}" if info else "",
                                         f"Detail: {probe.detail}" if probe.detail else "") if x)
            failed = True
        for widget_id, text in (("#catalog-fix", fix), ("#catalog-why", why)):
            widget = self.query_one(widget_id, Static)
            widget.update(text)
            widget.display = bool(text)
        self._failed = failed and not self._loading
        self.query_one("#retry", Button).display = self._failed
        self.refresh_bindings()
        ok = catalog is not None and catalog.probe.ok
        self.picker.set_models(catalog.models if ok and catalog else (), have_catalog=ok)
        self.picker.model_list.loading = self._loading

    def _show_mapping(self) -> None:
        table = self.query_one(MappingTable)
        tiers = self._tiers
        missing = self._not_in_catalog()
        widths = {"target": max(cell_len(label) for label in ("Use for", *LABELS.values())), "model": cell_len("Model")}
        for target, _, unset in TARGETS:
            model = getattr(tiers, target)
            # "!" before a model the key's catalog does not list: the gateway will refuse it (said in words below).
            model = clean_outside_text(model, single_line=True) if model else model  # a file's or gateway's text
            shown = f"! {model}" if target in missing else model or unset
            table.update_cell(target, "model", shown, update_width=True)
            widths["model"] = max(widths["model"], cell_len(shown))
        # The mapping widens for a row's "!" (or a long name) rather than scroll it out of sight: 42 fits the demo
        # catalog's names unmarked, and the models list beside it gives up the cells.
        needed = sum(widths.values()) + 2 * table.cell_padding * len(widths)
        self.query_one("#mapping-col").styles.width = max(MAPPING_WIDTH, needed)
        # Each model's tag is the keys of the targets using it, one position per target ("H", " S", "HSO"): short
        # enough for 80 columns, and the letter is the key that assigns it.
        tags: dict[str, str] = {}
        for model in {m for m in (getattr(tiers, t) for t in KEYS) if m}:
            tags[model] = "".join(key.upper() if getattr(tiers, t) == model else " " for t, key in KEYS.items()).rstrip()
        self.picker.set_tags(tags)
        self._show_coverage()

    def _unmapped(self) -> list[str]:
        return [tier for tier in ("opus", "sonnet", "haiku") if not getattr(self._tiers, tier)]

    def _suggestions(self) -> dict[str, TierSuggestion]:
        """What `f` maps: core's rule over the catalog (the highlighted model only when no tier has a model)."""
        catalog = self.state.catalog
        models = catalog.models if catalog is not None and catalog.probe.ok else ()
        candidates = [*((m.id, m.display_name) for m in models), *self._tiers.mapped().values()]
        return suggest_tier_models(self._tiers, candidates, fallback=self.picker.model_list.highlighted_model)

    def _not_named_for(self) -> list[str]:
        """Mapped tiers whose model is not named for them ("Opus → openai/gpt-5"): allowed, but said."""
        return [f"{LABELS[t]} → {m}" for t, m in self._tiers.mapped().items()
                if model_family(m, self.picker.display_name(m)) != t]

    def _catalog_ids(self) -> list[str] | None:
        """The ids the gateway listed for this connection's key, or None when there is no such list to check against
        (no connection, not loaded yet, loading, or the gateway did not return one)."""
        catalog = self.state.catalog
        if self._loading or catalog is None or not catalog.probe.ok:
            return None
        return [m.id for m in catalog.models]

    def _not_in_catalog(self) -> dict[str, str]:
        """Mapped targets whose model the key's catalog does not list (core's rule); {} without a catalog."""
        ids = self._catalog_ids()
        return {} if ids is None else models_not_in_catalog(self._tiers, ids)


    def _unchecked_line(self) -> tuple[str, str]:
        """(coverage, class) when every tier has a model but there is no catalog to check them against."""
        if self._loading:
            return "⋯ Haiku, Sonnet and Opus each have a model; checking them against the gateway…", "muted"
        why = ("no connection yet (F2)" if self.state.url is None or self.state.effective_key is None
               else "no model list for this key")
        return (f"! Haiku, Sonnet and Opus each have a model, but the models could not be checked against the "
                f"gateway: {why}.", "warn-text")

    def _show_coverage(self) -> None:
        coverage = self.query_one("#coverage", Static)
        detail = self.query_one("#coverage-detail", Static)
        fix = self.query_one("#fix", Button)
        unmapped = self._unmapped()
        suggestions = self._suggestions() if unmapped else {}
        odd = self._not_named_for()
        missing = self._not_in_catalog()
        # Never a ✓ while a mapped model is not in the key's catalog, or when there is no catalog to check against.
        lines: list[str] = [not_in_catalog_line(missing)] if missing else []
        details: list[str] = []
        style = "warn-text"
        if unmapped:
            sends = ", ".join(f"{LABELS[t]} → {CLAUDE_CODE_BUILTIN_MODELS[t]}" for t in unmapped)
            lines.append(f"! Unmapped; Claude Code would send: {sends}")
            details.append(describe(Cause.TIER_UNMAPPED).message if "opus" in unmapped else
                           "The gateway does not know built-in names; map every tier you use.")
        elif odd:
            lines.append("! Each tier has a gateway model, but not all are named for their tier:")
            details.append(", ".join(odd) + ". Fine if intended; else highlight a model and press h, s or o.")
        elif not missing and self._catalog_ids() is None:
            line, style = self._unchecked_line()
            lines.append(line)
        elif not missing:
            lines.append("✓ Haiku, Sonnet and Opus each have a gateway model.")
            style = "ok-text"
        if missing:
            details.append("Highlight a model from the list and press its key (h, s, o; m main, a subagents) to "
                           "replace each row marked !.")
        # Model names come from the settings file (anyone's text, for a project file): shown cleaned.
        coverage.update(clean_outside_text("\n".join(lines)))
        coverage.set_classes(style)
        detail.update(clean_outside_text(" ".join(details)))
        detail.display = bool(details)
        fix.display = bool(suggestions)
        if suggestions:
            fix.label = clean_outside_text("f: map " + ", ".join(
                f"{LABELS[t]} → {s.model}" + (f" ({s.note})" if s.note else "") for t, s in suggestions.items()))
            fix.refresh(layout=True)
        self.refresh_bindings()

    # --- editing --------------------------------------------------------------------------------------------

    def _set(self, tiers: TierMapping) -> None:
        self._tiers = tiers
        self._hint("")
        self._show_mapping()
        self._post()

    def _post(self) -> None:
        self.post_message(TiersEdited(self._tiers, self._betas, self._display_names()))

    def _display_names(self) -> dict[str, str]:
        if self._names_on:
            names = {}
            for tier, model in self._tiers.mapped().items():
                short = model.rsplit("/", 1)[-1]  # provider/model → model
                names[tier] = f"{self.picker.display_name(model) or short}{NAME_SUFFIX}"
            return names
        if self._names_touched:
            return {tier: "" for tier in TIERS}  # turned off: remove the labels from the file
        return {}

    @on(ModelList.Assign)
    def _assign(self, event: ModelList.Assign) -> None:
        event.stop()
        if not is_mappable_model(event.model):
            # A catalog id that is not shown as it is (control characters, a key in it): saving the raw id would
            # write what the user never saw, saving the shown one a name the gateway does not know.
            self.notify("This model id held control characters or something shaped like an API key, so it is not "
                        "shown as it is and cannot be used. Ask your OptScale admin about it.",
                        title="Models", severity="error")
            return
        self._set(replace(self._tiers, **{event.target: event.model}))

    @on(OptionList.OptionHighlighted, "#model-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self._unmapped():
            self._show_coverage()  # without a model named for a tier, `f` offers the highlighted one

    @on(MappingTable.Clear)
    def _clear(self, event: MappingTable.Clear) -> None:
        event.stop()
        if getattr(self._tiers, event.target):
            self._set(replace(self._tiers, **{event.target: None}))

    @on(Button.Pressed, ".assign")
    def _assign_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        target = (event.button.id or "").removeprefix("assign-")
        self.picker.model_list.action_assign(target)

    @on(Button.Pressed, "#fix")
    def _fix_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_fix()

    @on(Button.Pressed, "#retry")
    def _retry_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_reload()

    @on(Checkbox.Changed, "#no-betas")
    def _betas_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._betas = event.value
        self._post()

    @on(Checkbox.Changed, "#names")
    def _names_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._names_on = event.value
        self._names_touched = True
        self._post()

    # --- actions --------------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "assign":
            model_list = self.picker.model_list
            # While the plain keys map (an armed list has the focus), the Footer shows those instead.
            return not (model_list.armed and model_list.has_focus)
        if action == "fix":
            # f is typed into the filter, and so in a list not armed: the key is offered where it is one.
            model_list = self.picker.model_list
            typing_here = (self.screen.focused is not None and self.screen.focused is not model_list and \
                self.picker in self.screen.focused.ancestors) or (model_list.has_focus and not model_list.armed)
            return bool(self._unmapped() and self._suggestions()) and not typing_here
        if action == "retry":
            return self._failed
        return True

    def action_fix(self) -> None:
        suggestions = self._suggestions()
        if not suggestions:
            return
        self._set(replace(self._tiers, **{t: s.model for t, s in suggestions.items()}))
        odd = [f"{LABELS[t]} → {s.model}: {s.note}" for t, s in suggestions.items() if s.note]
        if odd:  # never a silent ✓ for a model that is not named for its tier
            self.notify("; ".join(odd) + ".", title="Not named for its tier", severity="warning")

    def action_reload(self) -> None:
        self.load_catalog()

    def action_assign(self, target: str) -> None:
        self.picker.model_list.action_assign(target)

    def action_retry(self) -> None:
        self.load_catalog()

    def action_next(self) -> None:
        self.post_message(StepRequested("review"))

    @on(StepRequested)
    def _step_requested(self, event: StepRequested) -> None:
        if event.step not in ("review", "next"):
            return
        if self._tiers.any_tier:
            self._hint("")
            return
        event.stop()
        self._hint("✗ Not yet: map at least one tier (highlight a model, press h, s or o); without one, "
                   "Claude Code sends built-in model names the gateway does not know.")

    def _hint(self, text: str) -> None:
        hint = self.query_one("#nav-hint", Static)
        hint.update(text)
        hint.display = bool(text)
        if text:
            self.call_after_refresh(hint.scroll_visible)

    # --- the catalog ----------------------------------------------------------------------------------------

    @work(exclusive=True, group="catalog")
    async def load_catalog(self) -> None:
        """Fetch the model list for the current URL + key (async httpx in core) and store it in the state."""
        from optscale_tui.core.gateway.client import GatewayClient

        state = self.state
        url, key = state.url, state.effective_key
        if url is None or key is None:
            self._show_catalog()
            return
        if (url.anthropic_base, key) != self._fetched_for:
            self._fetched_for = (url.anthropic_base, key)
            self.picker.clear_filter()
        self._loading, self._load_error = True, None
        self._show_catalog()
        self._show_mapping()  # the coverage says the models are being checked, not that they could not be
        try:
            async with GatewayClient(url, key, ca_bundle=state.ca_bundle) as client:
                catalog = await client.list_models()
        except InputError as exc:  # e.g. the CA bundle cannot be used
            catalog, self._load_error = None, exc.reason
        finally:
            self._loading = False
        if (state.url, state.effective_key) != (url, key):
            return  # the connection changed meanwhile: this catalog belongs to the old one
        if catalog is not None:
            # The app stores it and broadcasts Change.CATALOG: shown then (_catalog_arrived).
            self.post_message(CatalogFetched(catalog, url, key))
            return
        self._catalog_arrived()

    def _catalog_arrived(self) -> None:
        """The fetch ended (a catalog in the state, or an error): show it, and give the list the focus it earns."""
        self._show_catalog()
        self._show_mapping()
        picker = self.picker
        if self.screen.focused is picker.query_one("#model-filter") and not picker.filter_text and \
                picker.model_list.option_count:
            # The list arrived: ↑/↓ choose in it at once, and letters still go to the filter (the list is not armed
            # until the user moves in it). At once, not with focus() (run later, after the list is drawn): keys
            # pressed on seeing the list would land out of order.
            picker.model_list.arm(False)
            self.screen.set_focus(picker.model_list)
