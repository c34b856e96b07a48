"""What `make mutate` needs besides mutmut itself (docs/testing.md)."""
