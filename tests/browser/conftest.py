"""Headless Chromium for the overview's browser tests: Debian's `chromium` (never a browser a test
tool downloads), driven by Playwright's protocol client.

Skipped, saying how to install it, where Chromium is missing (`SAKSPOST_CHROMIUM` names another
binary). The flags are the ones a closed network needs: without them Chromium keeps trying to reach
Google's update and sync hosts, whose refusals slow every page.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_executable() -> str | None:
    return os.environ.get("SAKSPOST_CHROMIUM") or shutil.which("chromium")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_executable()
    if executable is None:
        pytest.skip(
            "Debian's Chromium is not installed: sudo apt-get install -y --no-install-recommends "
            "chromium (or set SAKSPOST_CHROMIUM)"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=list(CHROMIUM_FLAGS)
        )
        try:
            yield launched
        finally:
            await launched.close()
