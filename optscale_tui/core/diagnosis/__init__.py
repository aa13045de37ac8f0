"""Diagnosis: what is wrong with the configuration Claude Code resolves (doctor), the fixes, and what is left to do."""
