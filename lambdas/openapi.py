"""``python -m lambdas.openapi > docs/openapi.json``: the API's OpenAPI document, from the code."""

from __future__ import annotations

import sys

from lambdas.api.apps import resolver_for

TITLE = "musicrec API"
VERSION = "1.0.0"


def document() -> str:
    return resolver_for().get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="Onboarding, personal lists, similar songs and artists, events.",
    )


if __name__ == "__main__":
    sys.stdout.write(document() + "\n")
