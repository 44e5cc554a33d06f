"""The one image decoder: bytes, base64, raw BGR pixels and URLs in; RGB Pillow images out.

Every image that enters the project passes through here, so the limits (bytes, pixels), the
refusal of unsupported formats and of private URL destinations are enforced in one place.
Failures caused by the client's input are always raised as `InvalidImage`.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import re
import socket
import time
from collections.abc import Mapping
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

_FTYP_AVIF = {b"avif", b"avis"}
_DATA_URI = re.compile(r"^data:[^,]*;base64,", re.IGNORECASE)
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024


class InvalidImage(Exception):
    """A client-side image problem; `status` is the HTTP status to answer with (400, 413...), `code` a short machine code."""

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid_image") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


@dataclass(frozen=True)
class ImageLimits:
    """Limits on encoded size and on pixel count (checked from the header, before decoding)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 80_000_000


@dataclass(frozen=True)
class UrlPolicy:
    """How `fetch_url` may download: deadline, size, and which destinations are reachable."""

    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    allow_loopback: bool = False
    allow_private: bool = False
    max_redirects: int = 3


@dataclass(frozen=True)
class DecodedImage:
    """An RGB, EXIF-oriented, fully loaded image together with the bytes it came from."""

    image: Image.Image
    format: str
    data: bytes
    transposed: bool


def decode_bytes(data: bytes, limits: ImageLimits = ImageLimits(), *, draft_size: tuple[int, int] | None = None) -> DecodedImage:
    """Decode an encoded image into RGB, enforcing the limits before pixels are decoded.

    Args:
        data: The encoded file, exactly as received.
        limits: Byte and pixel limits; exceeding either answers 413.
        draft_size: For JPEG, a size hint that lets libjpeg decode at 1/2..1/8 scale (the result
            may be larger than the hint).

    Returns:
        The decoded image; `format` is Pillow's name, with phone MPO files reported as JPEG.

    Raises:
        InvalidImage: Empty, too large, unsupported, unrecognised or corrupt data.
    """
    if not data:
        raise InvalidImage("Empty image data")
    if len(data) > limits.max_bytes:
        raise _too_large(f"Image is {len(data)} bytes, more than the limit of {limits.max_bytes}")
    if (sniffed := _sniff_unsupported(data)) is not None:
        raise _unsupported(sniffed)
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise InvalidImage("Unrecognised or corrupt image data") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large("Image has too many pixels") from None
    except Exception as exc:  # Pillow plugins raise many types on hostile headers
        raise InvalidImage(f"Corrupt image data: {exc}") from None
    if img.format not in SUPPORTED_FORMATS:
        raise _unsupported(img.format or "unknown")
    width, height = img.size
    if width * height > limits.max_pixels:
        raise _too_large(f"Image is {width}x{height} pixels, more than the limit of {limits.max_pixels}")
    fmt = "JPEG" if img.format == "MPO" else img.format
    try:
        if fmt == "JPEG" and draft_size is not None:
            img.draft("RGB", draft_size)
        img.load()  # GIF, WebP, TIFF...: the first frame only
        orientation = img.getexif().get(0x0112, 1)
        transposed = orientation in range(2, 9)
        if transposed:
            img = ImageOps.exif_transpose(img)
        rgb = _to_rgb(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large("Image has too many pixels") from None
    except Exception as exc:  # truncated or corrupt data: OSError, SyntaxError, ValueError, struct.error...
        raise InvalidImage(f"Corrupt image data: {exc}") from None
    return DecodedImage(image=rgb, format=fmt, data=data, transposed=transposed)


def decode_base64(
    text: str | bytes, limits: ImageLimits = ImageLimits(), *, width: int | None = None, height: int | None = None
) -> DecodedImage:
    """Decode base64 text (optionally a data URI) holding an encoded image or raw BGR pixels.

    Args:
        text: Standard or URL-safe base64, padding optional, whitespace ignored.
        limits: Byte and pixel limits; exceeding either answers 413.
        width: With `height`, marks raw BGR pixels when the decoded length is width*height*3.
        height: See `width`. Values that are not positive integers are ignored.

    Raises:
        InvalidImage: Invalid base64 (code "invalid_base64"), or any `decode_bytes` error.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidImage("Invalid base64 data", code="invalid_base64") from None
    max_chars = limits.max_bytes * 4 / 3 + 1024
    if len(text) > 2 * max_chars:  # obviously huge: refuse before copying it around
        raise _too_large(f"Image is more than the limit of {limits.max_bytes} bytes")
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
    if w and h and len(data) == w * h * 3:
        if w * h > limits.max_pixels:
            raise _too_large(f"Image is {w}x{h} pixels, more than the limit of {limits.max_pixels}")
        rgb = np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)[:, :, ::-1]
        return DecodedImage(image=Image.fromarray(np.ascontiguousarray(rgb)), format="RAW", data=data, transposed=False)
    return decode_bytes(data, limits)


def fetch_url(url: str, policy: UrlPolicy = UrlPolicy()) -> bytes:
    """Download an image over http(s), refusing private destinations and oversize or slow answers.

    Every hop of a redirect is re-validated. The check resolves the host before requests
    connects, so a DNS answer that changes in between (rebinding) is not caught here.

    Raises:
        InvalidImage: Bad or forbidden URL, unreachable host, non-2xx answer (400), body over
            `policy.max_bytes` (413) or past the deadline (400, code "url_timeout").
    """
    deadline = time.monotonic() + policy.timeout
    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment would bypass the address checks
        for _ in range(policy.max_redirects + 1):
            _check_destination(url, policy)
            try:
                response = session.get(
                    url, stream=True, allow_redirects=False, timeout=_remaining(deadline, policy),
                    headers={"Accept": "image/*", "Accept-Encoding": "identity"},
                )
                with response:
                    if response.status_code in _REDIRECTS and "Location" in response.headers:
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
    """Decode the image of an API record: `_base64`/`base64` (raw BGR with `_width`/`_height`) or `_url`/`url`."""
    key = next((k for k in ("_base64", "base64") if record.get(k) not in (None, "")), None)
    if key is not None:
        if not isinstance(record[key], (str, bytes)):
            raise InvalidImage(f"{key} must be a string", code="invalid_base64")
        return decode_base64(record[key], limits, width=record.get("_width"), height=record.get("_height"))
    key = next((k for k in ("_url", "url") if record.get(k) not in (None, "")), None)
    if key is not None:
        if not isinstance(record[key], str):
            raise InvalidImage(f"{key} must be a string", code="invalid_url")
        return decode_bytes(fetch_url(record[key], policy), limits)
    raise InvalidImage("Record has no image: give _base64 or _url", code="missing_image")


def resize_to_max_side(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale so the longer side is at most `max_side`, keeping the aspect; never upscale.

    Returns the same object when it is already small enough, so callers can tell nothing changed.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")
    longer = max(image.size)
    if longer <= max_side:
        return image
    size = tuple(max(1, round(side * max_side / longer)) for side in image.size)
    # reducing_gap first shrinks by an integer factor (fast), then LANCZOS keeps the quality
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def encode_image(image: Image.Image, fmt: str = "JPEG", *, quality: int = 95) -> bytes:
    """Encode as JPEG (RGB, alpha on white), PNG or WEBP; any other `fmt` raises ValueError."""
    fmt = fmt.upper()
    buffer = io.BytesIO()
    if fmt == "JPEG":
        _to_rgb(image).save(buffer, format="JPEG", quality=quality, optimize=False)
    elif fmt == "PNG":
        image.save(buffer, format="PNG")
    elif fmt == "WEBP":
        image.save(buffer, format="WEBP", quality=quality)
    else:
        raise ValueError(f"Cannot encode images as {fmt!r}: use JPEG, PNG or WEBP")
    return buffer.getvalue()


def _sniff_unsupported(data: bytes) -> str | None:
    """Name formats we refuse that Pillow would misname (HEIF-family AVIF) or cannot identify (SVG, PDF)."""
    head = data[:64]
    if head[4:8] == b"ftyp" and (head[8:12] in _FTYP_AVIF or (b"avif" in head[16:32] and b"heic" not in head[8:32])):
        return "AVIF"
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "JPEG 2000"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith(b"%PDF"):
        return "PDF"
    text = data[:256].lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith((b"<svg", b"<?xml", b"<!doctype svg")):
        return "SVG"
    return None


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any mode to RGB, compositing alpha onto white and scaling 16-bit/float data to 8 bits."""
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode in ("RGB", "L", "1") and "transparency" in img.info:
        img = img.convert("RGBA")
    elif img.mode.startswith("I") or img.mode == "F":
        img = _to_8bit(img)
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _to_8bit(img: Image.Image) -> Image.Image:
    """Map I;16/I/F pixels to 0..255 instead of letting Pillow clip them (which turns 16-bit white)."""
    values = np.nan_to_num(np.asarray(img, dtype=np.float64))
    if img.mode.startswith("I;16"):
        values = values / 257.0
    elif values.size and (values.min() < 0 or values.max() > 255):
        low, high = values.min(), values.max()
        values = (values - low) * (255.0 / (high - low))
    elif img.mode == "F" and values.size and values.max() <= 1.0:
        values = values * 255.0
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


def _check_destination(url: str, policy: UrlPolicy) -> None:
    """Refuse non-http(s) URLs and hosts that resolve to any loopback/private/reserved address."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise InvalidImage(f"Malformed URL: {url!r}", code="invalid_url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidImage("Only http and https URLs are allowed", code="invalid_url")
    if not host:
        raise InvalidImage(f"URL has no host: {url!r}", code="invalid_url")
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme.lower() == "https" else 80), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidImage(f"Cannot resolve host {host!r}", code="url_unreachable") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if (reason := _forbidden(address, policy)) is not None:
            raise InvalidImage(f"URL destination {host!r} is a {reason} address ({address})", code="url_forbidden")


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address, policy: UrlPolicy) -> str | None:
    """Why `address` may not be fetched under `policy`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if policy.allow_loopback else "loopback"
    if policy.allow_private:
        return None
    for reason in ("unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if address.is_global else "non-public"


def _read_body(response: requests.Response, policy: UrlPolicy, deadline: float) -> bytes:
    """Read the body in chunks, stopping past `policy.max_bytes` or past the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise _too_large(f"URL content is {declared} bytes, more than the limit of {policy.max_bytes}")
    body = bytearray()
    # read1 returns what has arrived instead of waiting for a full chunk, so a slow drip
    # cannot hold us long past the deadline (each read is still bounded by the read timeout)
    while chunk := response.raw.read1(_CHUNK):
        body += chunk
        if len(body) > policy.max_bytes:
            raise _too_large(f"URL content is more than the limit of {policy.max_bytes} bytes")
        if time.monotonic() > deadline:
            raise _timeout(policy)
    return bytes(body)


def _remaining(deadline: float, policy: UrlPolicy) -> float:
    """The time left before the deadline, as the connect/read timeout of the next request."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timeout(policy)
    return min(left, policy.timeout)


def _positive_int(value: object) -> int | None:
    """`value` as a positive int (digit strings from form data included), else None."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _too_large(message: str) -> InvalidImage:
    return InvalidImage(message, status=413, code="image_too_large")


def _unsupported(name: str) -> InvalidImage:
    return InvalidImage(f"Unsupported image format: {name}", code="unsupported_format")


def _timeout(policy: UrlPolicy) -> InvalidImage:
    return InvalidImage(f"URL did not answer within {policy.timeout:g} seconds", code="url_timeout")
