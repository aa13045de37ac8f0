"""Verification: proves a connection works the way Claude Code will use it.

events.py (what a run reports), targets.py (what is verified), checks.py (one function per check), engine.py (plans
and drives a run), claude_cli.py + claude_process.py + real_client.py (the real-client check: the user's own
`claude`), replies.py (streamed replies in plan order, for the front ends), report.py (JSON, Markdown, text).
"""

