"""Test support shipped with the package (used by tests and benchmarks; never imported by the app)."""
