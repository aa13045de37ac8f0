"""Verification: proves a connection works the way Claude Code will use it.

events.py (what a run reports), targets.py (what is verified), checks.py (one function per check), engine.py (plans
and drives a run), claude_cli.py + claude_process.py + real_client.py (the real-client check: the user's own
`claude`), replies.py (streamed replies in plan order, for the front ends), report.py (JSON, Markdown, text).
"""

# --- TRANSITION SHIM start
# issue 11: the old `optscale_tui.core.verify` module's names; the lead's sweep rewrites imports to the new homes,
# then deletes this section.
from optscale_tui.core.verify.checks import AGREEMENT as AGREEMENT
from optscale_tui.core.verify.checks import KEY_CAUSES as KEY_CAUSES
from optscale_tui.core.verify.checks import MODEL_CAUSES as MODEL_CAUSES
from optscale_tui.core.verify.checks import REDUCED_BETAS as REDUCED_BETAS
from optscale_tui.core.verify.checks import VERIFY_PROMPT as VERIFY_PROMPT
from optscale_tui.core.verify.checks import agreement_result as agreement_result
from optscale_tui.core.verify.checks import finding_results as finding_results
from optscale_tui.core.verify.engine import EXTRA_MODEL_TITLES as EXTRA_MODEL_TITLES
from optscale_tui.core.verify.engine import NETWORK_FREE as NETWORK_FREE
from optscale_tui.core.verify.engine import ClientFactory as ClientFactory
from optscale_tui.core.verify.engine import ExtraSession as ExtraSession
from optscale_tui.core.verify.engine import VerifyOptions as VerifyOptions
from optscale_tui.core.verify.engine import merge_results as merge_results
from optscale_tui.core.verify.engine import plan_checks as plan_checks
from optscale_tui.core.verify.engine import run_verification as run_verification
from optscale_tui.core.verify.engine import verify as verify
from optscale_tui.core.verify.events import CheckFinished as CheckFinished
from optscale_tui.core.verify.events import CheckProgress as CheckProgress
from optscale_tui.core.verify.events import CheckResult as CheckResult
from optscale_tui.core.verify.events import CheckSpec as CheckSpec
from optscale_tui.core.verify.events import CheckStarted as CheckStarted
from optscale_tui.core.verify.events import CheckStatus as CheckStatus
from optscale_tui.core.verify.events import TokenChunk as TokenChunk
from optscale_tui.core.verify.events import VerificationDone as VerificationDone
from optscale_tui.core.verify.events import VerificationEvent as VerificationEvent
from optscale_tui.core.verify.events import VerificationPlanned as VerificationPlanned
from optscale_tui.core.verify.events import VerificationTarget as VerificationTarget
from optscale_tui.core.verify.targets import BETA_WARN_FIX as BETA_WARN_FIX
from optscale_tui.core.verify.targets import CATALOG_COMMAND as CATALOG_COMMAND
from optscale_tui.core.verify.targets import CATALOG_FIX as CATALOG_FIX
from optscale_tui.core.verify.targets import WRITE_CONNECTION_COMMAND as WRITE_CONNECTION_COMMAND
from optscale_tui.core.verify.targets import WRITE_CONNECTION_FIX as WRITE_CONNECTION_FIX
from optscale_tui.core.verify.targets import extra_models as extra_models
from optscale_tui.core.verify.targets import target_from_effective as target_from_effective
from optscale_tui.core.verify.targets import target_from_unsaved as target_from_unsaved
from optscale_tui.core.verify.targets import target_from_values as target_from_values

# --- TRANSITION SHIM end
