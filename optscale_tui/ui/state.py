"""The app's single source of truth, built only from core objects, and what panes and dialogs may read of the app.

Data flows one way: connection values → tier mapping → settings plan (the diff) → save → verification. Panes read
this state through `PaneHost` and change it through the app with messages (never each other); the app broadcasts
StateChanged when it changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from optscale_tui.core.connection import ApiKey, ConnectionValues, GatewayUrl, TierMapping, mask_secret

if TYPE_CHECKING:
    from optscale_tui.core.clients.claude_code.effective import EffectiveConfig
    from optscale_tui.core.clients.claude_code.locations import SettingsTarget
    from optscale_tui.core.clients.claude_code.schema import StoredValues
    from optscale_tui.core.config.errors import SettingsError
    from optscale_tui.core.config.plan import SettingsDocument, SettingsPlan
    from optscale_tui.core.config.store import SaveResult
    from optscale_tui.core.gateway.catalog import Catalog
    from optscale_tui.core.verify.events import CheckResult
    from optscale_tui.demo.session import DemoSession
    from optscale_tui.ui.messages import Change


@dataclass
class WizardState:
    target: SettingsTarget
    cwd: Path
    ca_bundle: Path | None = None
    # Loaded from disk (in a worker, after the first frame).
    document: SettingsDocument | None = None
    load_error: SettingsError | None = None
    config: EffectiveConfig | None = None
    # What the user entered. The key lives only in memory; screens only ever show `key.masked`.
    base_url_text: str = ""
    url: GatewayUrl | None = None
    key: ApiKey | None = None
    tiers: TierMapping = field(default_factory=TierMapping)
    disable_experimental_betas: bool | None = None
    display_names: dict[str, str] = field(default_factory=dict)
    # Results of the later steps.
    catalog: Catalog | None = None
    last_save: SaveResult | None = None
    last_save_kind: str = "saved"  # what wrote last_save: "saved" (a save or a fix-it) or "restored" (a restore)
    results: dict[str, CheckResult] = field(default_factory=dict)
    restores: int = 0  # restores adopted so far: a pane that starts over after one (the Models filter) compares it

    @property
    def stored_key(self) -> str | None:
        if self.document is None:
            return None
        # Imported once the file is read (the schema is loaded by then): Connect asks before, at the first frame.
        from optscale_tui.core.clients.claude_code.schema import SETTING

        value = self.document.env.get(SETTING["key"].key)
        return value if isinstance(value, str) and value else None

    @property
    def key_helper(self) -> str | None:
        """The file's apiKeyHelper command, which supplies the key when no token is stored (as Claude Code runs it)."""
        data = self.document.data if self.document else {}
        value = data.get("apiKeyHelper")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def effective_key(self) -> ApiKey | None:
        """The key a probe should use: the one entered now, else the one already in the file."""
        if self.key is not None:
            return self.key
        stored = self.stored_key
        return ApiKey(stored) if stored else None

    @property
    def key_display(self) -> str:
        if self.key is not None:
            return self.key.masked
        stored = self.stored_key
        if stored:
            return f"{mask_secret(stored)} (kept from the file)"
        return "(from the file's apiKeyHelper)" if self.key_helper else "(none)"

    def values(self) -> ConnectionValues | None:
        if self.url is None:
            return None
        return ConnectionValues(
            url=self.url,
            key=self.key,
            tiers=self.tiers,
            disable_experimental_betas=self.disable_experimental_betas,
            display_names=dict(self.display_names),
        )

    def plan(self) -> SettingsPlan | None:
        """The planned change to the settings file, computed by core (no rule lives here)."""
        from optscale_tui.core.clients.claude_code.schema import plan_apply

        values = self.values()
        if values is None or self.document is None or not self.tiers.any_tier:
            return None
        if values.key is None and self.stored_key is None and self.key_helper is None:
            return None
        return plan_apply(self.document, values)

    def fixes(self, causes=(), config=None) -> list:
        """The fix-its core offers for the doctor's findings plus `causes`; tiers are filled from the gateway's
        catalog when one was fetched for this connection (else core can only borrow a mapped tier's model).
        `config` replaces the settings in effect, e.g. with a run's view of unsaved values as saved."""
        from optscale_tui.core.diagnosis.fixes import fixes_for

        config = config or self.config
        if config is None:
            return []
        catalog = self.catalog
        models = [(m.id, m.display_name) for m in catalog.models] if catalog and catalog.probe.ok else []
        return fixes_for(config, causes, catalog=models)

    def adopt(self, document: SettingsDocument, saved: Iterable[str] | None = None) -> set[str]:
        """Make `document`, the file a save, fix or restore just wrote, the baseline, and take what it wrote as the
        edited values: after a save, what it set is what the app holds.

        `saved` are the settings keys the save changed (PlannedChange.key: "env.NAME", "model"); None means the whole
        file was replaced (a restore): every value is read from it again, as at start-up. A value the save did not
        touch stays as edited (the user's other unsaved edits), and so does one the file already agrees with (a
        Review save changes nothing here). Returns the values that changed (core's SAVED_AS names)."""
        from optscale_tui.core.clients.claude_code.schema import SAVED_AS, stored_values

        stored = stored_values(document)
        keys = None if saved is None else set(saved)
        connection = self._connection()
        changed = {name for name, key in SAVED_AS.items()
                   if (keys is None or key in keys) and self._adopt_value(name, stored, whole_file=keys is None)}
        self.document = document
        if saved is None:
            self.restores += 1
        if self._connection() != connection:
            self.catalog = None  # the catalog belongs to a URL + key
        return changed

    def _connection(self) -> tuple[str | None, ApiKey | None]:
        return (self.url.anthropic_base if self.url else None, self.effective_key)

    def _adopt_value(self, name: str, stored: StoredValues, *, whole_file: bool) -> bool:
        """Take the file's value for `name` (a SAVED_AS name) where the edited one differs; True when it changed."""
        if name == "url":
            return self._adopt_url(stored)
        if name == "key":
            if self.key is not None and self.key.value != stored.key:
                self.key = None  # the file's key is the one in use (as at start-up: never copied into memory)
                return True
            return False
        if name == "main_model":
            if self.tiers.main_model is not None and self.tiers.main_model != stored.model:
                self.tiers = replace(self.tiers, main_model=None)  # as at start-up: the file's `model` stays as is
                return True
            return False
        if name == "disable_experimental_betas":
            return self._adopt_betas(stored.disable_experimental_betas)
        if name.startswith("name."):
            tier = name.removeprefix("name.")
            label = self.display_names.get(tier)
            if label is not None and (whole_file or label.strip() != stored.display_names.get(tier, "")):
                del self.display_names[tier]  # left alone: the file's label stays
                return True
            return False
        if getattr(self.tiers, name) != getattr(stored.tiers, name):
            self.tiers = replace(self.tiers, **{name: getattr(stored.tiers, name)})
            return True
        return False

    def _adopt_url(self, stored: StoredValues) -> bool:
        if stored.base_url_text is None:
            # The file has none (a restore of an older file, a fix that removed it): the field empties, so Connect,
            # Review and the file agree. Keeping the old URL made it an unsaved edit nobody made.
            if self.url is not None or self.base_url_text:
                self.base_url_text, self.url = "", None
                return True
            return False
        agrees = self.url is not None and stored.url is not None and (
            self.url.anthropic_base == stored.url.anthropic_base)
        if not agrees:
            self.base_url_text, self.url = stored.base_url_text, stored.url
        return not agrees

    def _adopt_betas(self, in_file: bool | None) -> bool:
        # Ticked: the file has it on. Unticked: the file has no such key. None: the file does not turn it on.
        agrees = {True: in_file is True, False: in_file is None, None: in_file is not True}
        if not agrees[self.disable_experimental_betas] and self.disable_experimental_betas != in_file:
            self.disable_experimental_betas = in_file
            return True
        return False

    @property
    def has_unsaved_changes(self) -> bool:
        plan = self.plan()
        return bool(plan and plan.has_changes)


class PaneHost(Protocol):
    """What a pane or a dialog reads of the app: the state, and facts about this run. It changes nothing through
    it: it posts a message (ui/messages.py) and the app, the only writer of the state, does it."""

    @property
    def state(self) -> WizardState: ...

    @property
    def demo(self) -> DemoSession | None: ...

    @property
    def current_pane(self) -> str: ...


class AppHost(PaneHost, Protocol):
    """What the profile dialogs (dialogs/profiles.py) use of the app: they fill the edited values from a profile."""

    config_path: Path
    active_profile: str | None

    def refresh_app_bar(self) -> None: ...

    def broadcast(self, change: Change | str) -> None: ...

    def push_screen(self, screen: Any, callback: Any = None) -> Any: ...

    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None: ...

    def run_worker(self, work: Any, **kwargs: Any) -> Any: ...

    def call_from_thread(self, callback: Any, *args: Any, **kwargs: Any) -> Any: ...
