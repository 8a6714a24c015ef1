"""Fixtures for tests that drive a real Chromium (Debian's ``/usr/bin/chromium``) via Playwright.

Reusable pieces:

* ``serve`` (session fixture) -- :func:`tests.servers.serve_wsgi`, a context manager:
  ``with serve(wsgi_app) as base_url:`` runs the app under a real waitress server on 127.0.0.1
  (random port) in a thread, and stops it afterwards. (A fixture, so test modules need not
  import ``conftest``.)
* ``browser`` (session) -- a headless Chromium. Missing browser or Playwright: the tests are
  skipped with the reason shown, except under ``CI=true`` where that is a failure.
* ``browser_log`` -- what the page printed: ``.console`` (type, text) and ``.errors``
  (uncaught exceptions); ``.csp_violations()`` filters the CSP reports.
* ``browser_page`` -- a fresh page in a fresh context (no shared cookies or cache), logging into
  ``browser_log``; closed after the test.

Every test collected under ``tests/browser`` gets the ``browser`` marker. ``POSTBACK_CHROMIUM``
overrides the browser path.

Pitfall: on a page whose CSP lacks ``'unsafe-eval'``, Playwright's string predicates
(``page.wait_for_function("...")``) are evaluated with ``eval`` in the page and show up as a CSP
violation in ``browser_log``; wait with locators / ``expect(...)`` there instead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..servers import serve_wsgi

CHROMIUM = os.environ.get("POSTBACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Default time a Playwright action or wait may take before the test fails (ms).
TIMEOUT_MS = 10_000

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    """Skip, or fail under CI=true: CI must never silently skip the browser tests."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# A real HTTP server


@pytest.fixture(scope="session")
def serve() -> Callable[..., contextlib.AbstractContextManager[str]]:
    return serve_wsgi


# --------------------------------------------------------------------------------------------
# Browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Python package 'playwright' is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class BrowserLog:
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    errors: list[str] = field(default_factory=list)  # uncaught page exceptions

    def csp_violations(self) -> list[str]:
        return [t for _, t in self.console if "Content Security Policy" in t]

    def problems(self) -> list[str]:
        """Console errors/warnings and uncaught exceptions."""
        return [f"{k}: {t}" for k, t in self.console if k in ("error", "warning")] + [
            f"pageerror: {e}" for e in self.errors
        ]


@pytest.fixture
def browser_log() -> BrowserLog:
    return BrowserLog()


@pytest.fixture
def browser_page(browser: Any, browser_log: BrowserLog) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", lambda msg: browser_log.console.append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: browser_log.errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
