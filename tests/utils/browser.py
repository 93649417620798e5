"""Debian's Chromium, headless, driven by Playwright: never a browser Playwright downloads.

``launch()`` skips the calling test, with the reason, when Playwright or Chromium is missing
(``scripts/test`` installs both). Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """The system Chromium (``KEYSCOPE_CHROMIUM`` overrides), or None."""
    given = os.environ.get("KEYSCOPE_CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def launch() -> Iterator[Browser]:
    """A headless system Chromium for one test."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright: pip install -e '.[test]'")
    executable = chromium_path()
    if executable is None:
        pytest.skip("browser tests need Debian's Chromium: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def artifact(name: str) -> Path:
    """Where a test keeps a screenshot or a download for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def sign_in_and_register(page: Page, base: str, ak: str, sk: str, address: str) -> None:
    """Through the console's own forms: sign in, register ``address``, land on the instance."""
    page.goto(f"{base}/console")
    page.fill("[data-testid=access-key]", ak)
    page.fill("[data-testid=secret-key]", sk)
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=register-instance]")
    page.fill("[data-testid=instance-name]", "browser-redis")
    page.fill("[data-testid=instance-addresses]", address)
    page.click("[data-testid=register-instance]")
    page.wait_for_selector("[data-testid=nodes-table] tbody tr")
