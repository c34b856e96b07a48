"""The console's files on the local gateway, as CloudFront serves them from S3 in AWS
(``infra/console_stack.py``): ``/console`` redirects to ``/console/``, which is
``console/index.html``; ``/console/<file>`` is that file of the repository's ``console/``
directory; ``/console/config.json`` is generated (the region, the stage and the operators' user
pool the page signs in with, as the CDK writes it next to the files in AWS)."""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.cognito import UserPool

PREFIX = "/console"
ROOT = Path(__file__).resolve().parent.parent / "console"
INDEX = "index.html"
CONFIG = "config.json"
Answer = tuple[int, dict[str, str], bytes]
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
         ".html": "text/html", ".json": "application/json", ".svg": "image/svg+xml",
         ".png": "image/png", ".txt": "text/plain"}  # fmt: skip
# what CloudFront's response headers policy adds in AWS (infra/console_stack.py), locally too
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def config(pool: UserPool, stage: str = "local") -> dict[str, Any]:
    """What the page reads from ``config.json``: where and how operators sign in."""
    return {
        "region": pool.region,
        "stage": stage,
        "cognito": {
            "endpoint": pool.endpoint.rstrip("/") + "/",
            "userPoolId": pool.id,
            "clientId": pool.client_id,
        },
    }


def content_security_policy(cognito_endpoint: str) -> str:
    """The page's CSP: its own scripts, styles and API, and the operators' pool's endpoint."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {cognito_endpoint.rstrip('/')}; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )


@dataclass(frozen=True)
class ConsoleSite:
    """The console's files under ``root`` and the generated ``config.json``."""

    settings: dict[str, Any]
    root: Path = ROOT
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        csp = content_security_policy(self.settings["cognito"]["endpoint"])
        self.headers.update({**SECURITY_HEADERS, "Content-Security-Policy": csp})

    def serves(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def answer(self, method: str, path: str) -> Answer:
        """The answer to a request for ``path`` (one :meth:`serves`)."""
        if method not in ("GET", "HEAD"):
            return self._plain(405, "method not allowed", {"Allow": "GET, HEAD"})
        status, headers, body = self._get(path)
        return status, headers, b"" if method == "HEAD" else body

    def _get(self, path: str) -> Answer:
        if path == PREFIX:
            return 301, {**self.headers, "Location": PREFIX + "/"}, b""
        name = path[len(PREFIX) + 1 :] or INDEX
        if name == CONFIG:
            body = json.dumps(self.settings, indent=2).encode()
            return 200, {**self.headers, "Content-Type": "application/json"}, body
        file = (self.root / name).resolve()
        if not file.is_relative_to(self.root.resolve()) or not file.is_file():
            return self._plain(404, "not found")
        kind = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
        body = file.read_bytes()
        return 200, {**self.headers, "Content-Type": kind or "application/octet-stream"}, body

    def _plain(self, status: int, text: str, extra: dict[str, str] | None = None) -> Answer:
        headers = {**self.headers, "Content-Type": "text/plain", **(extra or {})}
        return status, headers, text.encode()
