"""Helpers the browser suites share (a module, not a fixture: import what you use)."""

from __future__ import annotations

from typing import Any


def expect(locator: Any) -> Any:
    """Playwright's auto-retrying ``expect``, imported lazily: without Playwright the suite is
    skipped by its fixtures (or fails under CI=true) instead of failing at import."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)
