"""TRANSITION SHIM (issue 11): the lead's sweep rewrites imports to the new homes, then deletes this file."""

from optscale_tui.core.diagnosis.next_steps import TIER_LABELS as TIER_LABELS
from optscale_tui.core.diagnosis.next_steps import TRACES_WHERE as TRACES_WHERE
from optscale_tui.core.diagnosis.next_steps import after_save_steps as after_save_steps
from optscale_tui.core.diagnosis.next_steps import model_picker_rows as model_picker_rows
from optscale_tui.core.diagnosis.next_steps import traces_lines as traces_lines
from optscale_tui.core.diagnosis.next_steps import traces_window as traces_window
