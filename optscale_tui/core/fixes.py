"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.diagnosis.fixes import FixIt as FixIt
from optscale_tui.core.diagnosis.fixes import fix_command as fix_command
from optscale_tui.core.diagnosis.fixes import fixes_for as fixes_for
