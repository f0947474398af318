"""Browser tests: Playwright driving Debian's Chromium against the real app served by uvicorn
on loopback. Without ``/usr/bin/chromium`` they skip, except under ``CI=true`` where a missing
browser fails the run (``.ci/run`` installs it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from scrip import crypto
from tests.concurrency.conftest import serve

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "/usr/bin/chromium is missing; .ci/run installs it (apt-get install chromium)"
            )
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def base_url(engine: Engine) -> Iterator[str]:
    ring = crypto.parse_keyring(f"k1:{crypto.new_secret_key()}")
    with serve(engine, keyring=ring) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots with SCRIP_SCREENSHOTS=1 (to refresh the
    README's pictures), else a temporary folder so a test run leaves the tree clean."""
    if os.environ.get("SCRIP_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots"
    return tmp_path
