"""Runnable benchmark scripts and the synthetic world generator (importable by tests)."""
