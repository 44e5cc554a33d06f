"""The one image decoder: formats, orientation, limits, base64, raw BGR pixels and URL fetching."""

from __future__ import annotations

import base64
import contextlib
import io
import ipaddress
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pillow_heif
import pytest
import urllib3
from PIL import Image, features

from inference import urls
from inference.images import (
    ImageLimits,
    InvalidImage,
    UrlPolicy,
    decode_base64,
    decode_bytes,
    decode_record,
    encode_image,
    fetch_url,
    resize_to_max_side,
)
from tests.conftest import need

pillow_heif.register_heif_opener()

RED = (200, 30, 30)
LOOPBACK = UrlPolicy(allow_loopback=True, timeout=2.0)


def encoded(fmt: str, size: tuple[int, int] = (40, 30), color: object = RED, mode: str = "RGB", **save: Any) -> bytes:
    image = Image.new(mode, size, color)
    if mode == "P":  # without a palette, Pillow's PNG palette optimisation loses the transparent index
        image.putpalette(bytes(level for level in range(256) for _ in "RGB"))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: decoding it for real would need gigabytes."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


@contextlib.contextmanager
def raises(code: str, status: int = 400, match: str | None = None) -> Iterator[pytest.ExceptionInfo[InvalidImage]]:
    """Expect an InvalidImage with this machine code and HTTP status (and message pattern)."""
    with pytest.raises(InvalidImage, match=match) as caught:
        yield caught
    assert (caught.value.code, caught.value.status) == (code, status), caught.value.message


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF", "BMP", "TIFF", "GIF"])
def test_each_supported_format_decodes_to_rgb_of_the_right_size(fmt: str) -> None:
    data = encoded(fmt)
    decoded = decode_bytes(data)
    assert (decoded.format, decoded.image.mode, decoded.image.size) == (fmt, "RGB", (40, 30))
    assert decoded.data is data and not decoded.transposed
    assert close_to(decoded.image.getpixel((20, 15)), RED)


def test_a_jfif_file_is_just_jpeg() -> None:
    data = encoded("JPEG")
    assert data[6:10] == b"JFIF"
    assert decode_bytes(data).format == "JPEG"


def test_a_phone_mpo_file_is_reported_as_jpeg() -> None:
    buffer = io.BytesIO()
    second = Image.new("RGB", (40, 30))
    Image.new("RGB", (40, 30), RED).save(buffer, format="MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(buffer.getvalue())).format == "MPO"
    decoded = decode_bytes(buffer.getvalue())
    assert decoded.format == "JPEG" and close_to(decoded.image.getpixel((0, 0)), RED)


def test_an_animated_gif_decodes_its_first_frame() -> None:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (20, 10), color) for color in [(0, 0, 255), (0, 255, 0), (255, 0, 0)]]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    decoded = decode_bytes(buffer.getvalue())
    assert decoded.format == "GIF" and decoded.image.size == (20, 10)
    assert decoded.image.getpixel((5, 5)) == (0, 0, 255)


def test_exif_orientation_6_turns_landscape_into_portrait() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_bytes(encoded("JPEG", size=(80, 60), exif=exif.tobytes()))
    assert decoded.image.size == (60, 80) and decoded.transposed


def test_draft_size_lets_a_big_jpeg_decode_smaller_but_not_below_the_hint() -> None:
    decoded = decode_bytes(encoded("JPEG", size=(1600, 1200)), draft_size=(200, 200))
    assert 200 <= max(decoded.image.size) < 1600 and decoded.image.mode == "RGB"
    assert decoded.image.size == (400, 300) and decoded.full_size == (1600, 1200)  # 1/4: 1/8 would go below 200


def test_a_drafted_rotated_jpeg_reports_its_oriented_full_size() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_bytes(encoded("JPEG", size=(1600, 1200), exif=exif.tobytes()), draft_size=(300, 300))
    assert decoded.image.size == (300, 400) and decoded.full_size == (1200, 1600)


@pytest.mark.parametrize(
    "data", [encoded("JPEG", size=(400, 300)), encoded("PNG", size=(1600, 1200))], ids=["small JPEG", "PNG"]
)
def test_what_a_draft_cannot_shrink_decodes_at_full_size(data: bytes) -> None:
    decoded = decode_bytes(data, draft_size=(300, 300))
    assert decoded.drafted_from is None and decoded.full_size == decoded.image.size == Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize("key", ["_base64", "_url"])
def test_a_record_passes_the_draft_size_on(key: str, base: str) -> None:
    data = encoded("JPEG", size=(1600, 1200))
    source = base64.b64encode(data).decode() if key == "_base64" else f"{base}/photo.jpg"
    decoded = decode_record({key: source}, policy=LOOPBACK, draft_size=(300, 300))
    assert decoded.image.size == (400, 300) and decoded.full_size == (1600, 1200)


@pytest.mark.parametrize(
    "fmt, mode, color, save",
    [
        ("PNG", "RGBA", (255, 0, 0, 0), {}),
        ("PNG", "LA", (0, 0), {}),
        ("PNG", "P", 3, {"transparency": 3}),
        ("PNG", "RGB", (0, 0, 0), {"transparency": (0, 0, 0)}),
        ("GIF", "P", 3, {"transparency": 3}),
        ("WEBP", "RGBA", (0, 0, 0, 0), {"lossless": True}),
    ],
    ids=["png-rgba", "png-la", "png-palette", "png-rgb-trns", "gif", "webp"],
)
def test_transparent_pixels_become_white_not_black(fmt: str, mode: str, color: object, save: dict[str, Any]) -> None:
    decoded = decode_bytes(encoded(fmt, size=(10, 10), mode=mode, color=color, **save))
    assert decoded.image.mode == "RGB" and decoded.image.getpixel((5, 5)) == (255, 255, 255)


def test_a_16_bit_grayscale_png_keeps_its_brightness_instead_of_clipping_to_white() -> None:
    decoded = decode_bytes(encoded("PNG", mode="I;16", color=32896))
    assert decoded.image.getpixel((0, 0)) == (128, 128, 128)


def test_a_float_tiff_converts_to_rgb_without_crashing() -> None:
    decoded = decode_bytes(encoded("TIFF", mode="F", color=0.5))
    assert decoded.image.mode == "RGB" and decoded.image.getpixel((0, 0)) == (128, 128, 128)


# --- refused formats -------------------------------------------------------------------------


def avif_bytes() -> bytes:
    if features.check("avif"):
        return encoded("AVIF")
    return b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64


def jpeg2000_bytes() -> bytes:
    if features.check("jpg_2000"):
        return encoded("JPEG2000")
    return b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 64


PSD = b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 30, 40, 8, 3) + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30"/></svg>'


@pytest.mark.parametrize(
    "name, data",
    [
        ("AVIF", avif_bytes()),
        ("AVIF", b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf" + b"\x00" * 64),
        ("JPEG 2000", jpeg2000_bytes()),
        ("JPEG 2000", b"\xff\x4f\xff\x51" + b"\x00" * 64),
        ("PSD", PSD),
        ("SVG", SVG),
        ("SVG", b"\xef\xbb\xbf\n  <?xml version='1.0'?>" + SVG),
        ("PDF", encoded("PDF")),
        ("ICO", encoded("ICO")),
        ("PPM", encoded("PPM")),
    ],
    ids=["avif", "avif-mif1", "jp2", "j2k", "psd", "svg", "svg-xml-bom", "pdf", "ico", "ppm"],
)
def test_unsupported_formats_are_refused_naming_the_format(name: str, data: bytes) -> None:
    with raises("unsupported_format", match=f"Unsupported image format: {name}$"):
        decode_bytes(data)


# --- corrupt data and limits -----------------------------------------------------------------


def test_a_truncated_jpeg_is_a_400_not_a_pillow_exception() -> None:
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    noise.save(buffer, format="JPEG")
    with raises("invalid_image", match="^Corrupt image data"):
        decode_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def test_a_png_cut_after_its_header_is_a_400() -> None:
    with raises("invalid_image"):
        decode_bytes(encoded("PNG", size=(64, 64))[:40])


def test_random_bytes_are_unrecognised() -> None:
    with raises("invalid_image", match="Unrecognised or corrupt image data"):
        decode_bytes(np.random.default_rng(1).bytes(2000))


def test_empty_data_is_refused() -> None:
    with raises("invalid_image"):
        decode_bytes(b"")


def test_bytes_over_max_bytes_are_413() -> None:
    with raises("image_too_large", 413):
        decode_bytes(encoded("PNG"), ImageLimits(max_bytes=50))


def test_too_many_pixels_is_413() -> None:
    with raises("image_too_large", 413):
        decode_bytes(encoded("PNG", size=(20, 20)), ImageLimits(max_pixels=100))


@pytest.mark.parametrize("side", [9000, 100_000], ids=["over-our-limit", "pillow-bomb-error"])
def test_a_tiny_png_declaring_huge_dimensions_is_413_without_decoding(side: int) -> None:
    data = png_declaring(side, side)
    assert len(data) < 200
    started = time.monotonic()
    with raises("image_too_large", 413):
        decode_bytes(data)
    assert time.monotonic() - started < 0.5


# --- base64 and raw pixels -------------------------------------------------------------------


def test_base64_text_and_bytes_decode_the_same_image() -> None:
    text = base64.b64encode(encoded("PNG")).decode()
    assert decode_base64(text).image.size == decode_base64(text.encode()).image.size == (40, 30)


@pytest.mark.parametrize(
    "prefix", ["data:image/png;base64,", "DATA:IMAGE/JPEG;BASE64,", "data:application/octet-stream;base64,"]
)
def test_a_data_uri_prefix_is_accepted(prefix: str) -> None:
    assert decode_base64("  " + prefix + base64.b64encode(encoded("PNG")).decode() + "\n").format == "PNG"


def test_url_safe_base64_without_padding_and_with_line_breaks_is_accepted() -> None:
    data = encoded("PNG", size=(41, 29))
    text = base64.urlsafe_b64encode(data).decode().rstrip("=")
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    assert decode_base64(wrapped).data == data


@pytest.mark.parametrize("text", ["not base64!!", "a", "abc=def", "é" * 8, b"\xff\xfe"])
def test_invalid_base64_is_a_400_with_its_own_code(text: str | bytes) -> None:
    with raises("invalid_base64", match="Invalid base64 data"):
        decode_base64(text)


def test_huge_base64_text_is_413_before_decoding() -> None:
    with raises("image_too_large", 413):
        decode_base64("A" * 20_000, ImageLimits(max_bytes=1000))


def test_decoded_base64_over_max_bytes_is_413() -> None:
    with raises("image_too_large", 413):
        decode_base64(base64.b64encode(b"x" * 1100).decode(), ImageLimits(max_bytes=1000))


def test_raw_bgr_pixels_decode_to_the_right_rgb_colour() -> None:
    pure_blue_bgr = bytes([255, 0, 0]) * (4 * 3)
    decoded = decode_base64(base64.b64encode(pure_blue_bgr), width=4, height=3)
    assert (decoded.format, decoded.image.mode, decoded.image.size) == ("RAW", "RGB", (4, 3))
    assert decoded.image.getpixel((3, 2)) == (0, 0, 255) and decoded.data == pure_blue_bgr


def test_raw_pixel_dimensions_from_form_data_may_be_digit_strings() -> None:
    decoded = decode_base64(base64.b64encode(bytes(2 * 2 * 3)), width="2", height="2")
    assert decoded.format == "RAW" and decoded.image.size == (2, 2)


def test_raw_pixels_over_max_pixels_are_413() -> None:
    with raises("image_too_large", 413):
        decode_base64(base64.b64encode(bytes(20 * 20 * 3)), ImageLimits(max_pixels=100), width=20, height=20)


@pytest.mark.parametrize("width, height", [(40, 30), (-1, 5), (0, 0), ("abc", 3), (True, True), (2.5, 4)])
def test_dimensions_that_do_not_match_raw_data_fall_back_to_decoding_the_image(width: object, height: object) -> None:
    decoded = decode_base64(base64.b64encode(encoded("PNG")), width=width, height=height)
    assert decoded.format == "PNG" and decoded.image.size == (40, 30)


def test_undecodable_data_with_bad_dimensions_raises_the_normal_error() -> None:
    with raises("invalid_image"):
        decode_base64(base64.b64encode(b"hello world"), width=-3, height=2)


# --- resize and encode -----------------------------------------------------------------------


def test_resize_never_upscales_and_returns_the_same_object() -> None:
    image = Image.new("RGB", (300, 200))
    assert resize_to_max_side(image, 300) is image and resize_to_max_side(image, 1000) is image


@pytest.mark.parametrize("size, expected", [((400, 100), (100, 25)), ((90, 300), (30, 100)), ((1000, 3), (100, 1))])
def test_resize_bounds_the_longer_side_and_keeps_the_aspect(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert resize_to_max_side(Image.new("RGB", size), 100).size == expected


def test_jpeg_encoding_puts_transparency_on_white() -> None:
    data = encode_image(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "JPEG", quality=90)
    assert close_to(decode_bytes(data).image.getpixel((4, 4)), (255, 255, 255), 2)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "jpeg"])
def test_encoded_images_decode_back(fmt: str) -> None:
    decoded = decode_bytes(encode_image(Image.new("RGB", (20, 10), RED), fmt))
    assert decoded.format == fmt.upper() and close_to(decoded.image.getpixel((5, 5)), RED)


def test_encoding_to_an_unknown_format_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        encode_image(Image.new("RGB", (4, 4)), "GIF")


# --- URL fetching (only ever against 127.0.0.1) ---------------------------------------------


class Server(ThreadingHTTPServer):
    """Serves test routes on 127.0.0.1 and records the paths it was asked for."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.paths: list[str] = []
        self.hosts: list[str] = []  # the Host header of each request


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:  # noqa: N802
        self.server.paths.append(self.path)
        self.server.hosts.append(self.headers.get("Host", ""))
        port = self.server.server_address[1]
        routes = {
            "/image.png": lambda: self.answer(200, encoded("PNG")),
            "/photo.jpg": lambda: self.answer(200, encoded("JPEG", size=(1600, 1200))),
            "/missing": lambda: self.answer(404, b"nope"),
            "/big": lambda: self.answer(200, b"x" * 5000),
            "/big-no-length": lambda: self.answer(200, b"x" * 5000, length=False),
            "/declares-too-much": lambda: self.answer(200, b"x" * 10, length=False, headers={"Content-Length": "5000"}),
            "/relative-redirect": lambda: self.answer(302, location="/image.png"),
            "/redirect-loop": lambda: self.answer(302, location="/redirect-loop"),
            "/redirect-to-metadata": lambda: self.answer(302, location="http://169.254.169.254/latest"),
            "/redirect-to-ftp": lambda: self.answer(302, location="ftp://127.0.0.1/image.png"),
            "/redirect-to-localhost": lambda: self.answer(307, location=f"http://localhost:{port}/image.png"),
            "/slow-headers": lambda: (time.sleep(1.0), self.answer(200, b"late")),
            "/slow-drip": self.drip,
        }
        try:
            routes.get(self.path, routes["/missing"])()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as the test wants

    def answer(
        self,
        status: int,
        body: bytes = b"",
        *,
        location: str | None = None,
        length: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if location:
            self.send_header("Location", location)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drip(self) -> None:
        self.send_response(200)
        self.end_headers()
        for _ in range(20):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.1)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    httpd = Server()
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server: Server) -> str:
    server.paths.clear()
    server.hosts.clear()
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the fetcher tries to connect anywhere."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fetcher connected before refusing the destination")

    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", refuse)


def test_loopback_is_refused_unless_allowed(base: str) -> None:
    with raises("url_forbidden", match="loopback"):
        fetch_url(f"{base}/image.png")
    assert fetch_url(f"{base}/image.png", LOOPBACK) == encoded("PNG")


def test_allowing_private_addresses_does_not_allow_loopback(base: str) -> None:
    with raises("url_forbidden"):
        fetch_url(f"{base}/image.png", UrlPolicy(allow_private=True))


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x.jpg",
        "http://169.254.169.254/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::1]/",
        "https://localhost/x.jpg",
    ],
)
def test_private_and_loopback_destinations_are_refused_before_connecting(url: str, no_connections: None) -> None:
    with raises("url_forbidden"):
        fetch_url(url)


@pytest.mark.parametrize(
    "url, code",
    [
        ("ftp://127.0.0.1/image.png", "invalid_url"),
        ("file:///etc/passwd", "invalid_url"),
        ("javascript:alert(1)", "invalid_url"),
        ("http:///no-host", "invalid_url"),
        ("http://127.0.0.1:99999/", "invalid_url"),
        ("http://[::1/", "invalid_url"),
        ("http://nonexistent.invalid/", "url_unreachable"),
    ],
)
def test_bad_urls_are_refused_with_a_400(url: str, code: str, no_connections: None) -> None:
    with raises(code):
        fetch_url(url)


def test_an_http_error_status_is_a_400(base: str) -> None:
    with raises("url_unreachable", match="URL answered HTTP 404"):
        fetch_url(f"{base}/missing", LOOPBACK)


def test_a_closed_port_is_unreachable() -> None:
    with Server() as closed:
        port = closed.server_address[1]
    with raises("url_unreachable"):
        fetch_url(f"http://127.0.0.1:{port}/", LOOPBACK)


@pytest.mark.parametrize("path", ["/big", "/big-no-length"])
def test_an_oversize_body_is_413(base: str, path: str) -> None:
    with raises("image_too_large", 413):
        fetch_url(base + path, UrlPolicy(allow_loopback=True, max_bytes=1000))


def test_a_declared_oversize_body_is_413_before_reading_it(base: str) -> None:
    with raises("image_too_large", 413, match="5000 bytes"):
        fetch_url(f"{base}/declares-too-much", UrlPolicy(allow_loopback=True, max_bytes=1000))


def test_a_relative_redirect_is_followed(base: str, server: Server) -> None:
    assert fetch_url(f"{base}/relative-redirect", LOOPBACK) == encoded("PNG")
    assert server.paths == ["/relative-redirect", "/image.png"]


@pytest.mark.parametrize(
    "path, code", [("/redirect-to-metadata", "url_forbidden"), ("/redirect-to-ftp", "invalid_url")]
)
def test_each_redirect_location_is_validated_again(base: str, path: str, code: str) -> None:
    with raises(code):
        fetch_url(base + path, LOOPBACK)


@pytest.fixture
def first_destination_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """The address check passes the first address it judges (the test server) as if it were public."""
    judged: list[object] = []

    def judge(address: urls.Address, policy: UrlPolicy) -> str | None:
        judged.append(address)
        return None if len(judged) == 1 else forbidden(address, policy)

    forbidden = urls._forbidden
    monkeypatch.setattr(urls, "_forbidden", judge)


def test_a_redirect_from_a_public_host_to_loopback_is_refused(
    base: str, server: Server, first_destination_public: None
) -> None:
    with raises("url_forbidden", match="loopback"):
        fetch_url(f"{base}/redirect-to-localhost", UrlPolicy(timeout=2.0))
    assert server.paths == ["/redirect-to-localhost"]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """Fake DNS for names ending in .test: each lookup takes the next answer (the last one repeats).

    Returns the table to fill: name -> answers, each a list of addresses. Other names resolve for real.
    """
    table: dict[str, list[list[str]]] = {}
    lookups: dict[str, int] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list:
        if not host.endswith(".test"):
            return real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        answers = table[host]
        addresses = answers[min(lookups.get(host, 0), len(answers) - 1)]
        lookups[host] = lookups.get(host, 0) + 1
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def test_the_connection_goes_to_the_address_that_was_checked(
    server: Server, base: str, resolver: dict[str, list[list[str]]]
) -> None:
    """DNS rebinding: a second lookup would answer an address nobody listens on; there is none."""
    port = server.server_address[1]
    resolver["rebind.test"] = [["127.0.0.1"], ["192.0.2.1"]]
    assert fetch_url(f"http://rebind.test:{port}/image.png", LOOPBACK) == encoded("PNG")
    assert server.hosts == [f"rebind.test:{port}"]  # the name still travels in the Host header


def test_a_host_resolving_to_any_forbidden_address_is_refused(resolver: dict, no_connections: None) -> None:
    resolver["mixed.test"] = [["93.184.216.34", "10.0.0.1"]]
    with raises("url_forbidden"):
        fetch_url("http://mixed.test/x.jpg")


def test_the_next_checked_address_is_tried_when_one_refuses(
    server: Server, base: str, resolver: dict[str, list[list[str]]]
) -> None:
    port = server.server_address[1]
    resolver["two.test"] = [["127.0.0.2", "127.0.0.1"]]  # 127.0.0.2: loopback too, but nobody listens there
    assert fetch_url(f"http://two.test:{port}/image.png", LOOPBACK) == encoded("PNG")


def test_slow_name_resolution_counts_against_the_deadline(resolver: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = socket.getaddrinfo

    def slow(host: str, *args: object, **kwargs: object) -> list:
        time.sleep(2.0)
        return fake(host, *args, **kwargs)  # type: ignore[arg-type]

    resolver["slow.test"] = [["127.0.0.1"]]
    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with raises("url_timeout"):
        fetch_url("http://slow.test/image.png", UrlPolicy(allow_loopback=True, timeout=0.3))
    assert time.monotonic() - started < 0.8


def test_refusals_do_not_name_the_address_the_host_resolved_to(resolver: dict, no_connections: None) -> None:
    resolver["internal.test"] = [["10.1.2.3"]]
    with raises("url_forbidden") as caught:
        fetch_url("http://internal.test/x.jpg")
    assert "10.1.2.3" not in caught.value.message and caught.value.message == (
        "URL destination is not allowed (private address)"
    )


def test_network_errors_are_not_echoed(resolver: dict) -> None:
    with Server() as closed:
        port = closed.server_address[1]
    resolver["closed.test"] = [["127.0.0.1"]]
    with raises("url_unreachable") as caught:
        fetch_url(f"http://closed.test:{port}/", LOOPBACK)
    assert caught.value.message == "Cannot download URL"


@pytest.mark.parametrize(
    "address",
    [
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:5db8:d822::1",  # 6to4 of a public address: tunnels are refused whatever they embed
        "2001:0:a00:1::80ff:fffe",  # Teredo: server 10.0.0.1, client 127.0.0.1
        "2001:0:5db8:d822::a2ff:fffe",  # Teredo: public server, client 93.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
    ],
)
def test_ipv6_tunnels_to_ipv4_are_refused_whatever_the_policy(address: str, no_connections: None) -> None:
    everything = UrlPolicy(allow_loopback=True, allow_private=True)
    assert urls._forbidden(ipaddress.ip_address(address), everything) == "tunnelled IPv4"
    with raises("url_forbidden", match="tunnelled IPv4"):
        fetch_url(f"http://[{address}]/x.jpg", everything)


@pytest.mark.parametrize(
    "address, policy, verdict",
    [
        ("64:ff9b::a00:1", UrlPolicy(), "private"),  # NAT64 of 10.0.0.1
        ("64:ff9b::7f00:1", UrlPolicy(allow_private=True), "loopback"),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", UrlPolicy(), "link-local"),  # NAT64 of 169.254.169.254
        ("64:ff9b::a00:1", UrlPolicy(allow_private=True), None),
        ("64:ff9b::5db8:d822", UrlPolicy(), None),  # DNS64's answer for an IPv4-only public site
        ("::ffff:10.0.0.1", UrlPolicy(), "private"),
        ("::ffff:93.184.216.34", UrlPolicy(), None),
    ],
)
def test_translated_ipv4_addresses_are_judged_by_the_ipv4_they_embed(
    address: str, policy: UrlPolicy, verdict: str | None
) -> None:
    assert urls._forbidden(ipaddress.ip_address(address), policy) == verdict


def test_environment_proxies_are_ignored_since_they_would_bypass_the_address_checks(
    base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert fetch_url(f"{base}/image.png", LOOPBACK) == encoded("PNG")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, list[str]]]:
    """The test server over TLS with a self-signed certificate for images.test.

    Yields the server, the certificate's path (to trust it) and the SNI names clients sent.
    """
    need(shutil.which("openssl"), "needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=images.test"]
        + ["-addext", "subjectAltName=DNS:images.test"],
        check=True,
        capture_output=True,
    )
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _socket, name, _context: names.append(name)  # type: ignore[func-returns-value]
    httpd = Server()
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield httpd, str(cert), names
    httpd.shutdown()
    httpd.server_close()


def test_https_verifies_the_certificate_of_the_url_host_while_connecting_to_its_address(
    tls_server: tuple[Server, str, list[str]], resolver: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpd, cert, names = tls_server
    port = httpd.server_address[1]
    resolver["images.test"] = resolver["other.test"] = [["127.0.0.1"]]
    with raises("url_unreachable", match="^Cannot download URL$"):  # self-signed: not in the trusted bundle
        fetch_url(f"https://images.test:{port}/image.png", LOOPBACK)
    monkeypatch.setattr(urls, "_CA_CERTS", cert)
    assert fetch_url(f"https://images.test:{port}/image.png", LOOPBACK) == encoded("PNG")
    assert names[-1] == "images.test" and httpd.hosts[-1] == f"images.test:{port}"
    with raises("url_unreachable"):  # a trusted certificate, but for another name
        fetch_url(f"https://other.test:{port}/image.png", LOOPBACK)


def test_too_many_redirects_are_refused(base: str, server: Server) -> None:
    with raises("url_unreachable"):
        fetch_url(f"{base}/redirect-loop", UrlPolicy(allow_loopback=True, max_redirects=2))
    assert len(server.paths) == 3


@pytest.mark.parametrize("path", ["/slow-headers", "/slow-drip"])
def test_a_slow_server_times_out(base: str, path: str) -> None:
    started = time.monotonic()
    with raises("url_timeout"):
        fetch_url(base + path, UrlPolicy(allow_loopback=True, timeout=0.3))
    assert time.monotonic() - started < 1.0


# --- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["_base64", "base64"])
def test_a_record_with_base64_decodes_it(key: str) -> None:
    assert decode_record({key: base64.b64encode(encoded("PNG")).decode()}).format == "PNG"


def test_a_record_with_raw_pixels_uses_its_width_and_height() -> None:
    record = {"_base64": base64.b64encode(bytes([255, 0, 0]) * 6).decode(), "_width": 3, "_height": 2}
    decoded = decode_record(record)
    assert decoded.format == "RAW" and decoded.image.getpixel((0, 0)) == (0, 0, 255)


@pytest.mark.parametrize("key", ["_url", "url"])
def test_a_record_with_a_url_fetches_it(base: str, key: str) -> None:
    decoded = decode_record({key: f"{base}/image.png"}, policy=LOOPBACK)
    assert decoded.format == "PNG" and decoded.data == encoded("PNG")


def test_base64_wins_over_a_url_in_the_same_record(no_connections: None) -> None:
    record = {"_url": "http://10.0.0.1/x.jpg", "_base64": base64.b64encode(encoded("PNG")).decode()}
    assert decode_record(record).format == "PNG"


@pytest.mark.parametrize("record", [{}, {"_base64": "", "_url": None}, {"labels": ["cat"]}])
def test_a_record_without_an_image_is_refused(record: dict) -> None:
    with raises("missing_image", match="Record has no image: give _base64 or _url"):
        decode_record(record)


@pytest.mark.parametrize(
    "record, code", [({"_base64": 123}, "invalid_base64"), ({"_url": ["http://example.com/x.jpg"]}, "invalid_url")]
)
def test_a_record_whose_source_is_not_a_string_is_a_400(record: dict, code: str, no_connections: None) -> None:
    with raises(code, match="must be a string"):
        decode_record(record)
