"""``post_json``: a webhook's POST under the image URLs' rules (checked, pinned, no redirects followed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from inference.errors import InvalidImage
from inference.urls import UrlPolicy, check_url, post_json

LOOPBACK = UrlPolicy(allow_loopback=True, timeout=2.0, max_redirects=0)


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    """Answers /moved with a redirect to /elsewhere, anything else with 204; keeps what it got."""
    got: list[tuple[str, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append((self.path, dict(self.headers.items()), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(302 if self.path == "/moved" else 204)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", got
    httpd.shutdown()
    httpd.server_close()


def test_it_posts_the_body_and_headers_and_answers_the_status(server) -> None:
    base, got = server
    assert post_json(f"{base}/hook?x=1", b'{"a":1}', {"X-Signature": "sha256=ab"}, LOOPBACK) == 204
    [(path, headers, body)] = got
    assert (path, body) == ("/hook?x=1", b'{"a":1}')
    assert headers["Content-Type"] == "application/json" and headers["X-Signature"] == "sha256=ab"
    assert headers["Host"] == base.removeprefix("http://")


def test_a_redirect_is_answered_not_followed(server) -> None:
    base, got = server
    assert post_json(f"{base}/moved", b"{}", {}, LOOPBACK) == 302
    assert [path for path, _, _ in got] == ["/moved"]


def test_loopback_and_private_destinations_are_refused_before_connecting(server) -> None:
    base, got = server
    for url, reason in ((f"{base}/hook", "loopback"), ("http://10.0.0.1/hook", "private")):
        with pytest.raises(InvalidImage, match=reason) as refused:
            post_json(url, b"{}", {}, UrlPolicy(timeout=2.0))
        assert refused.value.code == "url_forbidden"
        with pytest.raises(InvalidImage, match=reason):
            check_url(url, UrlPolicy(timeout=2.0))
    assert got == []
    check_url(f"{base}/hook", LOOPBACK)
