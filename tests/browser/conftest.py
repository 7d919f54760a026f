"""Browser fixtures: a real `streamlit run app.py` on 127.0.0.1 and Debian's Chromium driven by Playwright.

No browser is downloaded: Chromium comes from apt (/usr/bin/chromium). Without it the browser tests are skipped
locally, but fail when $CI is set, so CI can never skip them silently.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from classroom import start_server, stop_server  # one way to start and stop a real server, shared with bench

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("SEQ2SEQ_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 900}


@dataclass
class Zoo:
    """The models the server offers (the shipped zoo, or a tiny seeded one when nothing is shipped yet)."""

    directory: Path | None  # None: the server's own default, <repo>/pretrained
    names: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        from seq2seq_viz.registry import pretrained_dir

        return self.directory or pretrained_dir()


@pytest.fixture(scope="session")
def zoo() -> Iterator[Zoo]:
    from seq2seq_viz import list_models

    if os.environ.get("SEQ2SEQ_VIZ_PRETRAINED") or list_models():
        yield Zoo(None, sorted(list_models()))
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from app_support import build_zoo

    directory = Path(tempfile.mkdtemp(prefix="seq2seq-viz-zoo-"))
    build_zoo(directory)
    yield Zoo(directory, sorted(list_models(directory)))
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def app_url(zoo: Zoo) -> Iterator[str]:
    ARTIFACTS.mkdir(exist_ok=True)
    extra_env = {"SEQ2SEQ_VIZ_PRETRAINED": str(zoo.directory)} if zoo.directory is not None else None
    process, url = start_server(0, ARTIFACTS / "streamlit.log", extra_env)
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def chromium_browser():  # not "browser": pytest-playwright owns that name and would download its own
    if not Path(CHROMIUM).is_file():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)."
        if os.environ.get("CI"):
            pytest.fail(f"{message} CI must run the browser tests.")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A browser page plus every JavaScript dialog that tried to open (none should)."""

    page: object
    dialogs: list[str]


@pytest.fixture
def tab(chromium_browser) -> Iterator[Tab]:
    context = chromium_browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield Tab(page, dialogs)
    context.close()


PROJECTOR = {"width": 1280, "height": 720}  # a classroom projector


@pytest.fixture
def projector(chromium_browser, request):
    """A tab at 1280×720; parametrize indirectly with "light" or "dark" for the colour scheme."""
    scheme = getattr(request, "param", "light")
    context = chromium_browser.new_context(viewport=PROJECTOR, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()
