"""Fixtures of the console's browser tests: headless Chromium (skipped with the reason when
there is none and CI is not set; a failure in CI), the local stack the page is served from
(the session's, or ``MUSICREC_STACK_DIR``'s), the local operator's name and password, a page
that records every console error, and the screenshots (a temporary directory always, and
``docs/img/console-*.png`` with ``UPDATE_SCREENSHOTS=1``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local import cognito
from local.stack import Stack
from tests.conftest import REPO_ROOT
from tests.console.browser import ARGS, find_chromium, missing_reason
from tests.local_stack import session_or_running_stack

DOCS_IMG = REPO_ROOT / "docs" / "img"
VIEWPORT = {"width": 1280, "height": 900}  # the width the console is made for
Shot = Callable[[Any, str], Path]


@pytest.fixture(scope="session")
def chromium() -> Path:
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the console's browser tests: {missing_reason()}")
        pytest.skip(missing_reason())
    return found


# Module scope, not session: Playwright's sync API runs an event loop in this thread while it is
# open, and the tests after this package call asyncio.run(), which refuses to nest in one.
@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """One headless Chromium for the module (each test opens a context of its own), closed with
    its event loop when the module's tests are done."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                              args=list(ARGS), timeout=60_000)  # fmt: skip
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def console_stack(request: pytest.FixtureRequest) -> Stack:
    """The local stack serving the console (the session's, or ``MUSICREC_STACK_DIR``'s)."""
    return session_or_running_stack(request)


@dataclass(frozen=True)
class Operator:
    """The local stack's operator, as ``make local`` prints them."""

    username: str
    password: str


@pytest.fixture(scope="session")
def operator(console_stack: Stack) -> Operator:
    pool = cognito.find_pool(console_stack.aws_url, cognito.OPERATORS)
    return Operator(cognito.OPERATOR_NAME, cognito.operator_password(pool))


@dataclass
class Watched:
    """A page and what its console and the browser reported while the test ran."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh page (its own context: no session carried over) at 1280 px, its console errors,
    uncaught exceptions and failed requests recorded."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    seen = Watched(page)
    page.on("console", lambda m: seen.errors.append(f"console.{m.type}: {m.text} ({m.location})")
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda exc: seen.errors.append(f"uncaught: {exc}"))
    page.on(
        "requestfailed",
        lambda r: seen.errors.append(f"request failed: {r.method} {r.url}: {r.failure}"),
    )
    try:
        yield seen
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Shot:
    """``shot(page_or_element, name)``: a PNG in a temporary directory, and in
    ``docs/img/console-<name>.png`` when ``UPDATE_SCREENSHOTS=1``; returns the temporary one."""
    directory = tmp_path_factory.mktemp("console-screenshots")
    update = os.environ.get("UPDATE_SCREENSHOTS") == "1"

    def shot(target: Any, name: str) -> Path:
        path = directory / f"console-{name}.png"
        target.screenshot(path=str(path), animations="disabled")
        if update:
            DOCS_IMG.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_IMG / path.name)
        return path

    return shot
