"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file.
StepView is now `Pane` (ui/panes/base.py): a user of StepView (benchmarks/run.py) renames it by hand."""
from optscale_tui.ui.panes.base import Pane as StepView  # noqa: F401 (re-exported)
