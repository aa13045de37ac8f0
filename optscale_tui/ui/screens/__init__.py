"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes (ui/panes/, ui/dialogs/), then
deletes this package."""
