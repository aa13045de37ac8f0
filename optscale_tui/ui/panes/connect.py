"""Step 1, Connect: the Base URL and the API key as OptScale Chat shows them.

Everything is parsed by core (`parse_base_url`, `parse_api_key`); this view only shows the outcome as the user types:
the derived Anthropic URL Claude Code will use, the reason a value is refused, and the masked key. The raw key is kept
in an Input only while it is being typed; once accepted (Enter, leaving the field, Next) it moves to the app's state
as an `ApiKey` and the Input is cleared, so no widget holds or draws it afterwards.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.geometry import Region
from textual.widgets import Button, Input, Static

from optscale_tui.core.causes import Cause
from optscale_tui.core.connection import (
    ApiKey,
    GatewayUrl,
    InputError,
    looks_like_api_key,
    mask_secret,
    parse_api_key,
    parse_base_url,
    split_key_from_url,
)
from optscale_tui.ui.format import display_path
from optscale_tui.ui.messages import Change, ConnectionEdited, ProfilePickerRequested, StepRequested
from optscale_tui.ui.panes.base import Pane
from optscale_tui.ui.widgets.step_nav import StepNav

URL_PLACEHOLDER = "https://my.optscale.ai/llm_proxy/<org-id>/v1"
KEY_PLACEHOLDER = "sk-bf-… (paste the API key)"
KEY_TITLE_HIDDEN = "API key · hidden (^r shows it while you type)"
KEY_TITLE_SHOWN = "API key · shown (^r hides it)"

WHERE_TO_FIND = (
    "1. Open OptScale AI → Chat.\n"
    "2. Pick a provider and a model.\n"
    "3. Click “Connect this model to external tools” and open the OPENAI-COMPATIBLE tab.\n"
    "4. Copy the Base URL and the API key into the fields above.\n"
    "   Keep the Model name for the next step (it is also listed there from the gateway).\n"
    "Paste the Base URL as shown (…/v1): Claude Code needs …/anthropic instead, and that is what gets written."
)


class AdvancingInput(Input):
    """An Input whose Enter moves the focus to the next field at once, in the app's key order.

    A plain Input's Enter is handled in the Input's own queue, and keys that arrive before that (a burst typed or sent
    over SSH right after Enter) have already been queued for it: the key would land in the Base URL, in clear. A
    priority binding runs in the app's task, before the next key is forwarded, so those keys go to the next field."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "advance", show=False, priority=True)]

    def __init__(self, *args, next_field: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.next_field = next_field

    async def action_advance(self) -> None:
        self.screen.set_focus(self.screen.query_one(self.next_field))
        await self.action_submit()  # Submitted, as a plain Input's Enter posts it

    # A URL one cell longer than the field (an OptScale URL with its org id is 73 characters; the field has 72 at
    # 80 columns) stayed scrolled to its end after the focus left: "ttps://…" reads like a typo. Left alone, the
    # field shows the start; back in it, the view follows the cursor again.
    def on_blur(self) -> None:
        self.scroll_to(x=0, animate=False, immediate=True)

    def on_focus(self) -> None:
        self.call_after_refresh(self._show_cursor)

    def on_input_changed(self) -> None:
        # Textual does not scroll to the cursor for a field's first value: the prefilled URL left the cursor just
        # past the right edge, so the focused field showed no cursor at all. (The message still bubbles up.)
        if self.has_focus:
            self.call_after_refresh(self._show_cursor)

    def _show_cursor(self) -> None:
        cursor = cell_len(self.value[: self.cursor_position])
        self.scroll_to_region(Region(cursor, 0, 1, 1), force=True, animate=False, immediate=True)


class ConnectPane(Pane):
    """Pane "connect": Base URL + API key, validated locally by core as the user types."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "toggle_reveal", "Reveal key", tooltip="show or hide the key while you type it",
                id="connect.reveal"),
        # Offered (and in the Footer) only for a Base URL without a scheme that https:// in front makes usable.
        Binding("ctrl+t", "add_https", "Add https://", tooltip="put https:// in front of the Base URL",
                id="connect.add_https"),
        # Not in the Footer (it is full at 80 columns); the Help, the README and the palette name it.
        Binding("ctrl+o", "profiles", "Profiles", show=False, tooltip="fill Connect and Models from a saved profile",
                id="connect.profiles"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._url: GatewayUrl | None = None
        self._url_error: InputError | None = None
        self._key_error: InputError | None = None
        self._key_typing = False  # the key field holds text not yet accepted
        self._rescue_said = False  # the notice that a key left the URL field is on its way (see _url_rescued)
        self._https_offered = False  # ^t (add https://) is in the Footer
        # The key accepted on this pane (the app holds the same value in state.key once ConnectionEdited arrives).
        self._key: ApiKey | None = None

    # --- layout ---------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("Paste the Base URL and API key OptScale Chat shows (OPENAI-COMPATIBLE tab).",
                     classes="step-intro", markup=False)
        url_input = AdvancingInput(placeholder=URL_PLACEHOLDER, id="base-url", select_on_focus=False,
                                   next_field="#api-key")
        url_input.border_title = "Base URL"
        yield url_input
        yield Static("", id="url-derived", markup=False)
        yield Static("", id="url-warnings", classes="warn-text", markup=False)
        with Horizontal(id="key-row"):
            key_input = Input(placeholder=KEY_PLACEHOLDER, password=True, id="api-key", select_on_focus=False)
            # The reveal toggle is ctrl+r (also in the Footer, clickable); its state is shown in the border title.
            key_input.border_title = KEY_TITLE_HIDDEN
            yield key_input
            if self.host.demo is not None:
                yield Button("Use demo key", id="demo-key", compact=True)
        yield Static("", id="key-status", markup=False)
        yield Static("", id="nav-hint", classes="error-text", markup=False)

    def on_mount(self) -> None:
        # The first pane of the app: start with the cursor in the Base URL field rather than on the step bar.
        self.call_after_refresh(self._initial_focus)
        # The help and the Back/Next buttons follow the first frame: the fields come first, where the user starts.
        self.call_after_refresh(self._mount_secondary)

    def _mount_secondary(self) -> None:
        from textual.widgets import Collapsible

        self.mount(Collapsible(Static(WHERE_TO_FIND, classes="muted", markup=False),
                               title="Where do I find these?", id="where-help"), before="#nav-hint")
        self.mount(StepNav(back=None, next_="tiers"))

    def on_show(self) -> None:
        # Coming back here shows what the Models pane's catalog learnt about the key (rejected by the gateway).
        self._show_key()

    def _initial_focus(self) -> None:
        if self.app.focused is None or not isinstance(self.app.focused, Input):
            self.focus_first()

    def focus_first(self) -> None:
        self.query_one("#base-url", Input).focus()

    # --- state → widgets ------------------------------------------------------------------------------------

    def refresh_from_state(self, change: Change | None) -> None:
        state = self.state
        if change in (Change.ALL, Change.SETTINGS, Change.PROFILE):
            self._key = state.key
        url_input = self.query_one("#base-url", Input)
        if change in (Change.ALL, Change.SETTINGS) and not url_input.value and state.base_url_text:
            self._prefill(url_input, state.base_url_text)  # from the file / the demo; Changed validates it
        elif change in (Change.ADOPTED, Change.PROFILE) and url_input.value != state.base_url_text:
            self._prefill(url_input, state.base_url_text)  # a restore or a fix wrote another URL: the file's
        if not url_input.value:
            self._show_url()
        self._show_key()

    @staticmethod
    def _prefill(url_input: Input, text: str) -> None:
        """A value the user did not type: selected whole with the cursor at its start, as in an address bar. The
        field shows where the URL begins (with the cursor at its end, the demo URL, a cell longer than the field at
        80 columns, showed "ttp://…"), and a paste, typing or ctrl+u still replace it whole."""
        from textual.widgets.input import Selection

        url_input.value = text
        url_input.selection = Selection(len(text), 0)

    def _https_offer(self) -> str | None:
        """The Base URL with https:// in front, when the typed one has no scheme and that makes it usable."""
        text = self.query_one("#base-url", Input).value.strip()
        if self._url_error is None or not text or "://" in text or looks_like_api_key(text):
            return None
        if "." not in text.split("/", 1)[0] and "/llm_proxy/" not in text:
            return None  # not a host name (a stray word): the plain "must start with https://" says more
        try:
            parse_base_url(f"https://{text}")
        except InputError:
            return None
        return f"https://{text}"

    def _show_url(self) -> None:
        derived = self.query_one("#url-derived", Static)
        warnings = self.query_one("#url-warnings", Static)
        derived.set_classes("")
        if self._url is not None:
            # A URL core warns about is usable but probably mistyped (…/v2, llm_prxy): no green tick next to it.
            mark, style = ("!", "warn-text") if self._url.warnings else ("✓", "ok-text")
            # The URL line starts at the pane's edge (the full width, so it fits at 80 columns); the label line is
            # indented like the rest of the pane.
            derived.update(f" {mark} Claude Code will use (ANTHROPIC_BASE_URL):\n{self._url.anthropic_base}")
            derived.add_class(style, "full-width")
            warnings.update("\n".join(f"! {w}" for w in self._url.warnings))
        elif self._url_error is not None:
            offer = self._https_offer()
            if offer is not None:
                derived.update("✗ The Base URL has no https:// in front: ^t adds it.")
            else:
                derived.update(f"✗ {self._url_error.reason}")
            derived.add_class("error-text")
            warnings.update("")
        else:
            # Empty: say so (a key just moved out of the field left "must start with https://" under nothing).
            derived.update("Base URL: empty. Paste it from OptScale Chat (…/v1, written as …/anthropic).")
            derived.add_class("muted")
            warnings.update("")
        warnings.display = bool(self._url and self._url.warnings)

    def _show_key(self) -> None:
        state = self.state
        status = self.query_one("#key-status", Static)
        key_input = self.query_one("#api-key", Input)
        status.set_classes("")
        if self._key_error is not None:
            status.update(f"✗ {self._key_error.reason}")
            status.add_class("error-text")
        elif key_input.value.strip():
            # Typed but not yet accepted: "No key yet" was untrue, and the key above it is not the one in use.
            status.update("A new key is being entered: Enter (or leaving the field) accepts it.")
            status.add_class("muted")
        elif self._rejected_by_gateway():
            masked = self._key.masked if self._key else mask_secret(state.stored_key or "")
            status.update(f"✗ Key {masked} was rejected by the gateway: paste the right key from OptScale Chat.")
            status.add_class("error-text")
        elif self._key is not None and self._key.doubt:
            # Usable, but probably not the key the user meant: no green tick, and say what to check.
            status.update(f"! Key: {self._key.masked}: {self._key.doubt}.")
            status.add_class("warn-text")
        elif self._key is not None and self._key.value == state.stored_key:
            # Saved (or entered again as it is in the file): the file is where it lives now, not only memory.
            status.update(f"✓ Key: {self._key.masked} (saved in {display_path(state.target.path)})")
            status.add_class("ok-text")
        elif self._key is not None:
            status.update(f"✓ Key: {self._key.masked} (in memory until saved; paste a new one to change it)")
            status.add_class("ok-text")
        elif state.stored_key:
            status.update(f"Key in the file: {mask_secret(state.stored_key)} (kept unless you paste a new one)")
            status.add_class("muted")
        else:
            status.update("No key yet: paste the API key from OptScale Chat (it starts with sk-bf-).")
            status.add_class("muted")
        current = self._key.masked if self._key else mask_secret(state.stored_key) if state.stored_key else None
        key_input.placeholder = f"Paste a new key to replace {current}" if current else KEY_PLACEHOLDER

    def _rejected_by_gateway(self) -> bool:
        """The gateway refused the key shown here. The app drops the catalog whenever the URL or key changes, and
        the Models pane only stores one fetched with the current pair, so a catalog in the state is this key's."""
        catalog = self.state.catalog
        if catalog is None or catalog.probe.cause is not Cause.AUTH_INVALID_KEY:
            return False
        return self._key is not None or self.state.stored_key is not None

    # --- editing --------------------------------------------------------------------------------------------

    @on(Input.Changed, "#base-url")
    def _url_changed(self, event: Input.Changed) -> None:
        text = event.value
        if looks_like_api_key(text):
            # The key was pasted into the URL field: move it where it belongs, so it is never shown in clear.
            url_input = self.query_one("#base-url", Input)
            # What the field held before, unless that was the key's first characters typed ("sk" is no key yet):
            # those stayed in the field, and under it "must start with https://".
            before = self.state.base_url_text
            key_start = looks_like_api_key(before) or (before.strip() and text.strip().startswith(before.strip())
                                                       and "://" not in before)
            with url_input.prevent(Input.Changed):
                url_input.value = "" if key_start else before
            if key_start:
                self._post_connection("")
            key_input = self.query_one("#api-key", Input)  # a password field: shown as bullets
            key_input.value = text.strip()
            key_input.cursor_position = len(key_input.value)
            key_input.focus()
            self._url_rescued("That looks like the API key, so it went to the API key field (hidden).")
            return
        split = split_key_from_url(text)
        if split is not None:
            # A key inside the URL text (typed on before the focus moved, or pasted together): same rescue.
            url_text, key_text = split
            url_input = self.query_one("#base-url", Input)
            url_input.value = url_text  # posts Changed again: the URL is parsed from the clean text
            url_input.cursor_position = len(url_text)
            key_input = self.query_one("#api-key", Input)
            key_input.value = key_text
            key_input.cursor_position = len(key_text)
            key_input.focus()
            self._url_rescued("The API key was in the Base URL field; it went to the API key field (hidden).")
            return
        self._rescue_said = False
        self._validate_url(text)
        self._hint("")
        state = self.state
        old = state.url.anthropic_base if state.url else None
        new = self._url.anthropic_base if self._url else None
        if text != state.base_url_text or old != new:
            self._post_connection(text)

    def _url_rescued(self, notice: str) -> None:
        """A key left the URL field: say so once, and show what the field now holds (the error for the key's first
        characters, "must start with https://", stayed under an empty field)."""
        self._validate_url(self.query_one("#base-url", Input).value)
        # Typed (not pasted), a key arrives a key press at a time: the characters after the first rescue land in the
        # URL field again (they were queued for it) and are rescued too. Four identical toasts said it four times.
        # Said once until the key is accepted or the URL field is edited.
        if not self._rescue_said:
            self._rescue_said = True
            self.notify(notice, title="Connect")

    def _validate_url(self, text: str) -> None:
        try:
            self._url, self._url_error = parse_base_url(text), None
        except InputError as exc:
            self._url, self._url_error = None, (exc if text.strip() else None)
        self._show_url()
        # The Footer is redrawn only when ^t comes or goes: redrawing it on every key press tripled the cost of a
        # typed key (5 -> 16 ms in `make bench`'s typing row).
        offered = self._https_offer() is not None
        if offered != self._https_offered:
            self._https_offered = offered
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "add_https":
            return self._https_offered
        return True

    def action_add_https(self) -> None:
        offer = self._https_offer()
        if offer is not None:
            url_input = self.query_one("#base-url", Input)
            url_input.value = offer  # Changed validates and posts it
            url_input.cursor_position = len(offer)
            url_input.focus()

    @on(Input.Submitted, "#base-url")
    def _url_submitted(self) -> None:
        self.query_one("#api-key", Input).focus()

    @on(Input.Changed, "#api-key")
    def _key_typed(self, event: Input.Changed) -> None:
        typing = bool(event.value.strip())
        if self._key_error is not None or typing != self._key_typing:
            # Only when the line's meaning changes (not on every key: each update redraws the status line).
            self._key_error = None
            self._key_typing = typing
            self._show_key()

    @on(Input.Blurred, "#api-key")
    def _key_blurred(self) -> None:
        self._accept_key()

    @on(Input.Submitted, "#api-key")
    def _key_submitted(self) -> None:
        self.action_next()

    def _accept_key(self) -> bool:
        """Move a typed key into the state (masked on screen from now on). False when it was refused."""
        key_input = self.query_one("#api-key", Input)
        text = key_input.value
        if not text.strip():
            return True
        try:
            key = parse_api_key(text)
        except InputError as exc:
            self._key_error = exc
            self._show_key()
            return False
        self._set_key(key)
        return True

    def _set_key(self, key: ApiKey) -> None:
        self._rescue_said = False
        key_input = self.query_one("#api-key", Input)
        with key_input.prevent(Input.Changed):
            key_input.clear()
        self._key_typing = False
        key_input.password = True
        self._update_reveal_label()
        self._key_error = None
        self._key = key
        self._post_connection(self.query_one("#base-url", Input).value)
        self._show_key()
        self._refresh_hint()

    def _post_connection(self, text: str) -> None:
        self.post_message(ConnectionEdited(text, self._url, self._key))

    @on(Button.Pressed, "#demo-key")
    def _use_demo_key(self, event: Button.Pressed) -> None:
        event.stop()
        if self.host.demo is not None:
            self._set_key(ApiKey(self.host.demo.key))
            self.notify(f"Demo key {mask_secret(self.host.demo.key)} entered.", title="Connect")

    # --- reveal ---------------------------------------------------------------------------------------------

    def action_profiles(self) -> None:
        self.post_message(ProfilePickerRequested())

    def action_toggle_reveal(self) -> None:
        """Show the key being typed (only while it is in the field; it is cleared once accepted)."""
        key_input = self.query_one("#api-key", Input)
        key_input.password = not key_input.password
        self._update_reveal_label()
        key_input.focus()

    def _update_reveal_label(self) -> None:
        key_input = self.query_one("#api-key", Input)
        key_input.border_title = KEY_TITLE_HIDDEN if key_input.password else KEY_TITLE_SHOWN

    # --- moving on ------------------------------------------------------------------------------------------

    def _not_ready(self) -> tuple[str, str] | None:
        """Why Next is refused (message, field id), or None when the values can be used."""
        if not self._accept_key():
            return "the API key cannot be used (see the reason above).", "api-key"
        if self._url is None:
            if self._url_error is not None:
                return "the Base URL cannot be used (see the reason above).", "base-url"
            return "paste the Base URL from OptScale Chat first.", "base-url"
        if self._key is None and self.state.stored_key is None:
            return "paste the API key from OptScale Chat first (the settings file has none).", "api-key"
        return None

    def action_next(self) -> None:
        self.post_message(StepRequested("tiers"))

    @on(StepRequested)
    def _step_requested(self, event: StepRequested) -> None:
        if event.step not in ("tiers", "next"):
            return
        had_pending_key = bool(self.query_one("#api-key", Input).value.strip())
        problem = self._not_ready()
        if problem is None:
            self._hint("")
            if had_pending_key:
                # The key was accepted just now: move on only after the app has received it (message order).
                event.stop()
                self.post_message(StepRequested(event.step))
            return
        event.stop()
        message, field = problem
        self._hint(f"✗ Not yet: {message}")
        self.query_one(f"#{field}", Input).focus()

    def _refresh_hint(self) -> None:
        """A "Not yet" hint on screen describes a problem; once an edit solves it, it must go (or say what is left)."""
        if not self.query_one("#nav-hint", Static).display:
            return
        problem = self._not_ready()
        self._hint(f"✗ Not yet: {problem[0]}" if problem else "")

    def _hint(self, text: str) -> None:
        hint = self.query_one("#nav-hint", Static)
        hint.update(text)
        hint.display = bool(text)
