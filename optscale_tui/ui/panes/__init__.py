"""The app's panes, one a file; each is a `Pane` (panes/base.py) mounted in the app's pane switcher."""

# (pane id, tab label, function key). The first four are the wizard, in order. The Models pane's id is "tiers"
# (panes/models.py): ids name the key bindings (go.tiers) a user's keymap may rebind, so they stay as they are.
PANES: tuple[tuple[str, str, str], ...] = (
    ("connect", "1 Connect", "f2"),
    ("tiers", "2 Models", "f3"),
    ("review", "3 Review", "f4"),
    ("verify", "4 Verify", "f5"),
    ("doctor", "Doctor", "f6"),
    ("backups", "Backups", "f7"),
    ("desktop", "Desktop", "f8"),
)
WIZARD = tuple(p[0] for p in PANES[:4])
