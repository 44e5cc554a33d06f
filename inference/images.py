"""The one image decoder: bytes, base64, raw BGR pixels and URLs in, RGB Pillow images out.

Limits, refused formats and refused URL destinations live here so that every entry point
enforces them alike; every problem with the client's input is raised as `InvalidImage`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import ipaddress
import re
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
import pillow_heif
import requests
import urllib3
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

SUPPORTED_FORMATS: frozenset[str] = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF", "BMP", "TIFF", "GIF"})

_DATA_URI = re.compile(r"^data:[^,]*;base64,", re.IGNORECASE)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class InvalidImage(Exception):
    """A client-side image problem.

    `status` is the HTTP status to answer with (400, 413...), `code` a short machine code.
    """

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid_image") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


@dataclass(frozen=True)
class ImageLimits:
    """Limits on the encoded size and on the pixel count (read from the header, before decoding)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 80_000_000


@dataclass(frozen=True)
class UrlPolicy:
    """How `fetch_url` may download: a deadline, a size limit and which destinations it may reach."""

    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    allow_loopback: bool = False
    allow_private: bool = False
    max_redirects: int = 3


@dataclass(frozen=True)
class DecodedImage:
    """An RGB, EXIF-oriented, fully loaded image with the bytes it came from (to store or hash them)."""

    image: Image.Image
    format: str
    data: bytes
    transposed: bool


def decode_bytes(
    data: bytes, limits: ImageLimits = ImageLimits(), *, draft_size: tuple[int, int] | None = None
) -> DecodedImage:
    """Decode an encoded image to RGB, checking the limits before any pixel is decoded.

    Args:
        data: The encoded file as received.
        limits: Byte and pixel limits; exceeding either answers 413.
        draft_size: JPEG only: lets libjpeg decode at 1/2..1/8 scale; the result may be larger.

    Raises:
        InvalidImage: Empty, too large, unsupported, unrecognised or corrupt data.
    """
    if not data:
        raise InvalidImage("Empty image data")
    if len(data) > limits.max_bytes:
        raise _too_large(f"Image is {len(data)} bytes, more than the limit of {limits.max_bytes}")
    name = _sniff_refused(data)
    with _pillow_errors():
        img = None if name else Image.open(io.BytesIO(data))
        if img is None or img.format not in SUPPORTED_FORMATS:
            shown = name or (img.format if img else None)
            raise InvalidImage(f"Unsupported image format: {shown}", code="unsupported_format")
        if img.width * img.height > limits.max_pixels:
            raise _too_large(f"Image is {img.width}x{img.height} pixels, more than the limit of {limits.max_pixels}")
        fmt = "JPEG" if img.format == "MPO" else img.format  # MPO: the multi-picture JPEG of phone cameras
        if fmt == "JPEG" and draft_size is not None:
            img.draft("RGB", draft_size)
        img.load()  # animated GIF/WebP and multi-page TIFF: the first frame only
        transposed = img.getexif().get(0x0112, 1) in range(2, 9)
        rgb = _to_rgb(ImageOps.exif_transpose(img) if transposed else img)
    return DecodedImage(image=rgb, format=fmt, data=data, transposed=transposed)


def decode_base64(
    text: str | bytes, limits: ImageLimits = ImageLimits(), *, width: int | None = None, height: int | None = None
) -> DecodedImage:
    """Decode base64 (standard or URL-safe, padding optional, data URI allowed) of an image or raw BGR pixels.

    Args:
        text: The base64 text; whitespace anywhere is ignored.
        limits: Byte and pixel limits; exceeding either answers 413.
        width: With `height`: the data is raw BGR pixels when it is exactly width*height*3 bytes.
            Values that are not positive integers (or digit strings) are ignored.
        height: See `width`.

    Raises:
        InvalidImage: Invalid base64 (code "invalid_base64"), or any error of `decode_bytes`.
    """
    max_chars = limits.max_bytes * 4 / 3 + 1024
    if len(text) > 2 * max_chars:  # obviously huge: refuse before copying it around
        raise _too_large(f"Image is more than the limit of {limits.max_bytes} bytes")
    try:
        text = text.decode("ascii") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        raise InvalidImage("Invalid base64 data", code="invalid_base64") from None
    compact = "".join(_DATA_URI.sub("", text.strip(), count=1).split())
    if len(compact) > max_chars:
        raise _too_large(f"Image is more than the limit of {limits.max_bytes} bytes")
    compact = compact.replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("Invalid base64 data", code="invalid_base64") from None
    if len(data) > limits.max_bytes:
        raise _too_large(f"Image is {len(data)} bytes, more than the limit of {limits.max_bytes}")
    w, h = _positive_int(width), _positive_int(height)
    if not (w and h and len(data) == w * h * 3):
        return decode_bytes(data, limits)  # also when width/height were merely echoed with an encoded image
    if w * h > limits.max_pixels:
        raise _too_large(f"Image is {w}x{h} pixels, more than the limit of {limits.max_pixels}")
    rgb = np.ascontiguousarray(np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)[:, :, ::-1])
    return DecodedImage(image=Image.fromarray(rgb), format="RAW", data=data, transposed=False)


def fetch_url(url: str, policy: UrlPolicy = UrlPolicy()) -> bytes:
    """Download an http(s) URL, refusing private destinations and oversize or slow answers.

    Redirects are followed by hand so that every hop is validated again. Requests resolves the
    host once more when it connects, so a DNS answer that changes in between is not caught.

    Raises:
        InvalidImage: A bad, forbidden or unreachable URL, or a non-2xx answer (400); a body
            over `policy.max_bytes` (413); no complete answer by the deadline (code "url_timeout").
    """
    deadline = time.monotonic() + policy.timeout
    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment would bypass the address checks
        for _ in range(policy.max_redirects + 1):
            _check_destination(url, policy)
            timeout = min(policy.timeout, max(deadline - time.monotonic(), 0.01))
            try:
                with session.get(
                    url,
                    stream=True,
                    allow_redirects=False,
                    timeout=timeout,
                    headers={"Accept": "image/*", "Accept-Encoding": "identity"},
                ) as response:
                    if response.status_code in _REDIRECTS and response.headers.get("Location"):
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if not 200 <= response.status_code < 300:
                        raise InvalidImage(f"URL answered HTTP {response.status_code}", code="url_unreachable")
                    return _read_body(response, policy, deadline)
            except (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
                raise _timeout(policy) from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise InvalidImage(f"Cannot download URL: {exc}", code="url_unreachable") from None
    raise InvalidImage(f"URL redirected more than {policy.max_redirects} times", code="url_unreachable")


def decode_record(
    record: Mapping[str, Any], limits: ImageLimits = ImageLimits(), policy: UrlPolicy = UrlPolicy()
) -> DecodedImage:
    """Decode the image of an API record: `_base64`/`base64` (raw BGR with `_width`/`_height`), else `_url`/`url`."""
    if (key := _present(record, "_base64", "base64")) is not None:
        if not isinstance(record[key], (str, bytes)):
            raise InvalidImage(f"{key} must be a string", code="invalid_base64")
        return decode_base64(record[key], limits, width=record.get("_width"), height=record.get("_height"))
    if (key := _present(record, "_url", "url")) is not None:
        if not isinstance(record[key], str):
            raise InvalidImage(f"{key} must be a string", code="invalid_url")
        return decode_bytes(fetch_url(record[key], policy), limits)
    raise InvalidImage("Record has no image: give _base64 or _url", code="missing_image")


def resize_to_max_side(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale so that the longer side is at most `max_side`, keeping the aspect; never upscale.

    Returns the same object when the image is already small enough, so callers can tell.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    longer = max(image.size)
    if longer <= max_side:
        return image
    size = (max(1, round(image.width * max_side / longer)), max(1, round(image.height * max_side / longer)))
    # reducing_gap shrinks by an integer factor first (fast), then LANCZOS finishes at full quality
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def encode_image(image: Image.Image, fmt: str = "JPEG", *, quality: int = 95) -> bytes:
    """Encode as JPEG (RGB, transparency on white), PNG or WEBP; any other `fmt` raises ValueError."""
    buffer, fmt = io.BytesIO(), fmt.upper()
    if fmt == "JPEG":
        _to_rgb(image).save(buffer, format="JPEG", quality=quality, optimize=False)
    elif fmt in ("PNG", "WEBP"):
        image.save(buffer, format=fmt, **({"quality": quality} if fmt == "WEBP" else {}))
    else:
        raise ValueError(f"Cannot encode images as {fmt!r}: use JPEG, PNG or WEBP")
    return buffer.getvalue()


@contextlib.contextmanager
def _pillow_errors() -> Iterator[None]:
    """Turn what Pillow raises on hostile or truncated data (OSError, SyntaxError...) into InvalidImage."""
    try:
        yield
    except InvalidImage:
        raise
    except UnidentifiedImageError:
        raise InvalidImage("Unrecognised or corrupt image data") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large("Image has too many pixels") from None
    except Exception as exc:
        raise InvalidImage(f"Corrupt image data: {exc}") from None


def _sniff_refused(data: bytes) -> str | None:
    """Name refused formats that Pillow cannot identify (SVG, PDF) or might open (AVIF, JPEG 2000, PSD)."""
    head = data[:64]
    brands = head[8:32] if head[4:8] == b"ftyp" else b""  # ISO-BMFF: major brand, version, compatible brands
    if brands[:4] in (b"avif", b"avis") or (b"avif" in brands and b"heic" not in brands):
        return "AVIF"
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "JPEG 2000"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith(b"%PDF"):
        return "PDF"
    if data[:256].lstrip(b"\xef\xbb\xbf").lstrip().lower().startswith((b"<svg", b"<?xml", b"<!doctype svg")):
        return "SVG"
    return None


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any mode to RGB; transparency goes on white, where a plain convert would make it black."""
    if img.mode == "P" or (img.mode in ("RGB", "L", "1") and "transparency" in img.info):
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode.startswith("I") or img.mode == "F":
        # scale into 0..255 ourselves: Pillow's convert clips, so 16-bit images would turn white
        values = np.nan_to_num(np.asarray(img, dtype=np.float64))
        if img.mode.startswith("I;16"):
            values = values / 257.0
        elif values.size and (values.min() < 0 or values.max() > 255) and np.ptp(values) > 0:
            values = (values - values.min()) * (255.0 / np.ptp(values))
        elif img.mode == "F" and values.size and values.max() <= 1.0:
            values = values * 255.0
        img = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _check_destination(url: str, policy: UrlPolicy) -> None:
    """Refuse non-http(s) URLs and hosts of which ANY address is loopback, private, reserved..."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        raise InvalidImage(f"Malformed URL: {url!r}", code="invalid_url") from None
    if scheme not in ("http", "https"):
        raise InvalidImage("Only http and https URLs are allowed", code="invalid_url")
    if not host:
        raise InvalidImage(f"URL has no host: {url!r}", code="invalid_url")
    try:
        infos = socket.getaddrinfo(host, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidImage(f"Cannot resolve host {host!r}", code="url_unreachable") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # drop an IPv6 scope id
        if reason := _forbidden(address, policy):
            raise InvalidImage(f"URL destination {host!r} is a {reason} address ({address})", code="url_forbidden")


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address, policy: UrlPolicy) -> str | None:
    """Why `policy` forbids `address`, or None when it may be fetched."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # before Python 3.13, ::ffff:a.b.c.d is never "global"
    if address.is_loopback:
        return None if policy.allow_loopback else "loopback"
    if policy.allow_private:
        return None
    for reason in ("unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if address.is_global else "non-public"  # e.g. 100.64.0.0/10, shared by carriers


def _read_body(response: requests.Response, policy: UrlPolicy, deadline: float) -> bytes:
    """Read the body, stopping past `policy.max_bytes` or past the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise _too_large(f"URL content is {declared} bytes, more than the limit of {policy.max_bytes}")
    body = bytearray()
    # read1 returns what has arrived rather than waiting for a full chunk, so a server that
    # drips bytes is caught by the deadline check (each read is still bounded by the timeout)
    while chunk := response.raw.read1(64 * 1024, decode_content=True):
        body += chunk
        if len(body) > policy.max_bytes:
            raise _too_large(f"URL content is more than the limit of {policy.max_bytes} bytes")
        if time.monotonic() > deadline:
            raise _timeout(policy)
    return bytes(body)


def _present(record: Mapping[str, Any], *keys: str) -> str | None:
    return next((key for key in keys if record.get(key) not in (None, "")), None)


def _positive_int(value: object) -> int | None:
    """`value` as a positive int, digit strings (form data) included; else None."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _too_large(message: str) -> InvalidImage:
    return InvalidImage(message, status=413, code="image_too_large")


def _timeout(policy: UrlPolicy) -> InvalidImage:
    return InvalidImage(f"URL did not answer within {policy.timeout:g} seconds", code="url_timeout")
