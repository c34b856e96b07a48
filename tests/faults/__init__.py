"""Fault tests (issue 9): what the caller sees when a dependency fails, and that nothing is lost."""
