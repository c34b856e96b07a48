"""Property-based tests of the API generated from docs/openapi.json, against the local stack."""
