"""A request's URL downloads share REQUEST_URL_FETCH_BUDGET: many slow _url records cannot hold it for long."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inference.images import DecodedImage, InvalidImage
from tests.factories import image_base64, image_bytes
from ximilar_platform.serving.requests import decode_records


class SlowHandler(BaseHTTPRequestHandler):
    """/slow answers after 2 seconds, /fast at once; both a small PNG."""

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/slow":
            time.sleep(2.0)
        body = image_bytes()
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as the test wants

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    httpd.daemon_threads, httpd.block_on_close = True, False
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def outcome(item: DecodedImage | InvalidImage) -> str:
    return "ok" if isinstance(item, DecodedImage) else item.code


def test_the_url_records_of_a_request_share_one_time_budget(settings, slow_server: str) -> None:
    settings.URL_FETCH_ALLOW_LOOPBACK = True
    settings.URL_FETCH_TIMEOUT, settings.REQUEST_URL_FETCH_BUDGET = 1.0, 1.5
    records = [
        {"_url": f"{slow_server}/slow"},  # its own 1 s timeout
        {"_url": f"{slow_server}/slow"},  # what the budget has left: 0.5 s
        {"_base64": image_base64()},  # no download: decodes whatever the budget says
        {"_url": f"{slow_server}/fast"},  # budget spent: not even tried
    ]
    started = time.monotonic()
    decoded = decode_records(records)
    elapsed = time.monotonic() - started
    assert [outcome(item) for item in decoded] == ["url_timeout", "url_timeout", "ok", "url_timeout"]
    assert 1.4 < elapsed < 2.0, elapsed  # without the budget: 2 x 1 s, and the fast one
    assert decoded[0].message == "URL did not answer within 1 seconds"
    for late in (decoded[1], decoded[3]):
        assert "REQUEST_URL_FETCH_BUDGET (1.5 seconds)" in late.message and late.status == 400


def test_a_budget_of_zero_leaves_each_download_its_own_timeout(settings, slow_server: str) -> None:
    settings.URL_FETCH_ALLOW_LOOPBACK = True
    settings.URL_FETCH_TIMEOUT, settings.REQUEST_URL_FETCH_BUDGET = 0.3, 0
    decoded = decode_records([{"_url": f"{slow_server}/slow"}] * 3 + [{"_url": f"{slow_server}/fast"}])
    assert [outcome(item) for item in decoded] == ["url_timeout"] * 3 + ["ok"]
    assert all(item.message == "URL did not answer within 0.3 seconds" for item in decoded[:3])
