"""The console's files without a browser: the vendored charting library is the pinned one
(checksums in console/vendor/README.md), and the page can run under a strict CSP (no inline
script, style or event handler; nothing loaded from another origin; no HTML built from strings)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

CONSOLE = REPO_ROOT / "console"
VENDOR = CONSOLE / "vendor"
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \|.*\| `(?P<sha>[0-9a-f]{64})` \|$", re.MULTILINE)
UNSAFE_JS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
             "new Function", "setAttribute(\"style\"", "setAttribute('style'")  # fmt: skip
IMPORT = re.compile(r"""^\s*import\s.*?from\s+["'](?P<path>[^"']+)["'];""", re.MULTILINE)


def modules() -> list[Path]:
    return sorted(p for p in CONSOLE.rglob("*.js") if VENDOR not in p.parents)


def test_the_vendored_files_are_the_pinned_ones():
    rows = {m["file"]: m["sha"] for m in ROW.finditer((VENDOR / "README.md").read_text())}
    assert {"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"} <= set(rows)
    for name, sha in rows.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha, name
    vendored = {p.name for p in VENDOR.iterdir()} - {"README.md"}
    assert vendored == set(rows), "every vendored file is listed with its checksum"
    assert "MIT License" in (VENDOR / "uPlot.LICENSE").read_text()


class _Page(HTMLParser):
    """What the page loads and whatever inline code or style it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline: list[str] = []
        self.csp = ""
        self.ids: set[str] = set()
        self.labels: list[str] = []
        self.controls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if "id" in found:
            self.ids.add(found["id"])
        for name in found:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            if found.get("src"):
                self.loads.append(found["src"])
            else:
                self.inline.append("<script> without src")
        if tag == "link" and found.get("href"):
            self.loads.append(found["href"])
        if tag == "meta" and found.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = found.get("content", "")
        if tag == "label":
            self.labels.append(found.get("for", ""))
        if tag in ("input", "select", "textarea") and "hidden" not in found:
            self.controls.append(found.get("id", f"<{tag} without id>"))


@pytest.fixture(scope="module")
def page() -> _Page:
    parsed = _Page()
    parsed.feed((CONSOLE / "index.html").read_text())
    return parsed


def test_the_page_has_no_inline_script_style_or_handler(page):
    assert page.inline == []


def test_the_page_loads_only_its_own_files(page):
    for url in page.loads:
        assert "://" not in url, f"{url}: from another origin"
        assert not url.startswith("//"), f"{url}: from another origin"
        assert (CONSOLE / url).is_file(), f"{url}: no such file in console/"


def test_the_page_declares_a_strict_policy(page):
    directives = dict(part.strip().split(" ", 1) for part in page.csp.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'none'"


def test_every_form_control_has_a_label(page):
    assert set(page.controls) <= set(page.labels), set(page.controls) - set(page.labels)


@pytest.mark.parametrize("module", modules(), ids=lambda p: str(p.relative_to(CONSOLE)))
def test_modules_build_no_html_from_strings_and_import_only_their_own(module):
    source = module.read_text()
    for pattern in UNSAFE_JS:
        assert pattern not in source, f"{module.name} uses {pattern}"
    for imported in IMPORT.findall(source):
        assert imported.startswith("./") or imported.startswith("../"), imported
        assert (module.parent / imported).resolve().is_file(), f"{module.name}: {imported}"


@pytest.mark.parametrize("module", modules(), ids=lambda p: str(p.relative_to(CONSOLE)))
def test_modules_parse(module):
    """Node parses each module (a syntax error would otherwise show only in the browser)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is not on the PATH (make setup needs it)")
        pytest.skip("node is not on the PATH")
    command = [node, "--experimental-default-type=module", "--no-warnings", "--check", str(module)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
