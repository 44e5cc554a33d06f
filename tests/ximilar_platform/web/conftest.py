"""Web app tests: a signed-in session (Django's test client) per user, and the real browser (Debian's
Chromium through Playwright) with a page that fails its test on any request leaving this server.

Without Chromium the browser tests skip, saying how to install it; `.ci/run` sets REQUIRE_BROWSER=1
(and XIMILAR_REQUIRE_SERVICES=1), which makes a missing browser a failure there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tests.conftest import ApiUser, need

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[3]


def signed_in(user: ApiUser) -> Client:
    client = Client()
    client.force_login(user.user)
    return client


@pytest.fixture
def web(alice: ApiUser) -> Client:
    return signed_in(alice)


@pytest.fixture
def bob_web(bob: ApiUser) -> Client:
    return signed_in(bob)


# the tiny models the flow tests train once per session, registered as versions of real tasks
from tests.ximilar_platform.flows.conftest import colour_model, embedder_model, models  # noqa: E402, F401


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    need(
        Path(CHROMIUM).exists(),
        "no Chromium: `apt-get install -y chromium` (Debian's package)",
        variable="REQUIRE_BROWSER",
    )
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = ROOT / "docs" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(chromium, live_server) -> Iterator:
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    outside: list[str] = []

    def only_this_server(route) -> None:
        if urlsplit(route.request.url).hostname in ("localhost", "127.0.0.1"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.on("dialog", lambda dialog: dialog.accept())  # confirmations: the person says yes
    yield tab
    context.close()
    assert not outside, f"the pages asked for outside resources: {outside}"
