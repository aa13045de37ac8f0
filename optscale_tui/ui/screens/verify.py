"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""
from optscale_tui.ui.panes.verify import VerifyView as VerifyView
