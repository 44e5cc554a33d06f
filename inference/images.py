"""The one image decoder: bytes, base64, raw BGR pixels and URLs in, RGB Pillow images out.

Limits, refused formats and refused URL destinations live here so that every entry point
enforces them alike; every problem with the client's input is raised as `InvalidImage`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from inference.errors import InvalidImage, too_large
from inference.urls import UrlPolicy, fetch_url

pillow_heif.register_heif_opener()

__all__ = [
    "DecodedImage",
    "ImageLimits",
    "InvalidImage",
    "UrlPolicy",
    "decode_base64",
    "decode_bytes",
    "decode_record",
    "encode_image",
    "fetch_url",
    "resize_to_max_side",
]

SUPPORTED_FORMATS: frozenset[str] = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF", "BMP", "TIFF", "GIF"})

_DATA_URI = re.compile(r"^data:[^,]*;base64,", re.IGNORECASE)


@dataclass(frozen=True)
class ImageLimits:
    """Limits on the encoded size and on the pixel count (read from the header, before decoding)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 80_000_000


@dataclass(frozen=True)
class DecodedImage:
    """An RGB, EXIF-oriented, fully loaded image with the bytes it came from (to store or hash them)."""

    image: Image.Image
    format: str
    data: bytes
    transposed: bool
    drafted_from: tuple[int, int] | None = None  # the oriented full size when a JPEG was decoded smaller

    @property
    def full_size(self) -> tuple[int, int]:
        """Width and height at full resolution, oriented: the pixels that sizes and boxes are answered in."""
        return self.drafted_from or self.image.size


def decode_bytes(
    data: bytes, limits: ImageLimits = ImageLimits(), *, draft_size: tuple[int, int] | None = None
) -> DecodedImage:
    """Decode an encoded image to RGB, checking the limits before any pixel is decoded.

    Args:
        data: The encoded file as received.
        limits: Byte and pixel limits; exceeding either answers 413.
        draft_size: JPEG only: lets libjpeg decode at 1/2..1/8 scale, keeping each side at least
            this big (so the result may be larger); `DecodedImage.full_size` keeps the full size.

    Raises:
        InvalidImage: Empty, too large, unsupported, unrecognised or corrupt data.
    """
    if not data:
        raise InvalidImage("Empty image data")
    if len(data) > limits.max_bytes:
        raise too_large(f"Image is {len(data)} bytes, more than the limit of {limits.max_bytes}")
    name = _sniff_refused(data)
    with _pillow_errors():
        img = None if name else Image.open(io.BytesIO(data))
        if img is None or img.format not in SUPPORTED_FORMATS:
            shown = name or (img.format if img else None)
            raise InvalidImage(f"Unsupported image format: {shown}", code="unsupported_format")
        if img.width * img.height > limits.max_pixels:
            raise too_large(f"Image is {img.width}x{img.height} pixels, more than the limit of {limits.max_pixels}")
        fmt = "JPEG" if img.format == "MPO" else img.format  # MPO: the multi-picture JPEG of phone cameras
        full_size = img.size
        if fmt == "JPEG" and draft_size is not None:
            img.draft("RGB", draft_size)
        img.load()  # animated GIF/WebP and multi-page TIFF: the first frame only
        orientation = img.getexif().get(0x0112, 1)
        transposed = orientation in range(2, 9)
        rgb = _to_rgb(ImageOps.exif_transpose(img) if transposed else img)
    drafted_from = None
    if img.size != full_size:
        drafted_from = full_size[::-1] if orientation in range(5, 9) else full_size  # 5-8 swap the axes
    return DecodedImage(image=rgb, format=fmt, data=data, transposed=transposed, drafted_from=drafted_from)


def decode_base64(
    text: str | bytes,
    limits: ImageLimits = ImageLimits(),
    *,
    width: int | None = None,
    height: int | None = None,
    draft_size: tuple[int, int] | None = None,
) -> DecodedImage:
    """Decode base64 (standard or URL-safe, padding optional, data URI allowed) of an image or raw BGR pixels.

    Args:
        text: The base64 text; whitespace anywhere is ignored.
        limits: Byte and pixel limits; exceeding either answers 413.
        width: With `height`: the data is raw BGR pixels when it is exactly width*height*3 bytes.
            Values that are not positive integers (or digit strings) are ignored.
        height: See `width`.
        draft_size: See `decode_bytes`.

    Raises:
        InvalidImage: Invalid base64 (code "invalid_base64"), or any error of `decode_bytes`.
    """
    max_chars = limits.max_bytes * 4 / 3 + 1024
    if len(text) > 2 * max_chars:  # obviously huge: refuse before copying it around
        raise too_large(f"Image is more than the limit of {limits.max_bytes} bytes")
    try:
        text = text.decode("ascii") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        raise InvalidImage("Invalid base64 data", code="invalid_base64") from None
    compact = "".join(_DATA_URI.sub("", text.strip(), count=1).split())
    if len(compact) > max_chars:
        raise too_large(f"Image is more than the limit of {limits.max_bytes} bytes")
    compact = compact.replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("Invalid base64 data", code="invalid_base64") from None
    if len(data) > limits.max_bytes:
        raise too_large(f"Image is {len(data)} bytes, more than the limit of {limits.max_bytes}")
    w, h = _positive_int(width), _positive_int(height)
    if not (w and h and len(data) == w * h * 3):
        return decode_bytes(data, limits, draft_size=draft_size)  # also when width/height merely echo an image
    if w * h > limits.max_pixels:
        raise too_large(f"Image is {w}x{h} pixels, more than the limit of {limits.max_pixels}")
    rgb = np.ascontiguousarray(np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)[:, :, ::-1])
    return DecodedImage(image=Image.fromarray(rgb), format="RAW", data=data, transposed=False)


def decode_record(
    record: Mapping[str, Any],
    limits: ImageLimits = ImageLimits(),
    policy: UrlPolicy = UrlPolicy(),
    *,
    draft_size: tuple[int, int] | None = None,
) -> DecodedImage:
    """Decode the image of an API record: `_base64`/`base64` (raw BGR with `_width`/`_height`), else `_url`/`url`.

    `draft_size`: see `decode_bytes`.
    """
    if (key := _present(record, "_base64", "base64")) is not None:
        if not isinstance(record[key], (str, bytes)):
            raise InvalidImage(f"{key} must be a string", code="invalid_base64")
        return decode_base64(
            record[key], limits, width=record.get("_width"), height=record.get("_height"), draft_size=draft_size
        )
    if (key := _present(record, "_url", "url")) is not None:
        if not isinstance(record[key], str):
            raise InvalidImage(f"{key} must be a string", code="invalid_url")
        return decode_bytes(fetch_url(record[key], policy), limits, draft_size=draft_size)
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
        raise too_large("Image has too many pixels") from None
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
        # scale into 0..255 ourselves: Pillow's convert clips, so 16-bit images would turn white.
        # 16-bit stays integer (2 bytes a pixel); others go through float32, never float64 (8 bytes)
        if img.mode.startswith("I;16"):
            return Image.fromarray(((np.asarray(img).astype(np.uint32) + 128) // 257).astype(np.uint8)).convert("RGB")
        values = np.nan_to_num(np.asarray(img, dtype=np.float32))
        if values.size and (values.min() < 0 or values.max() > 255) and np.ptp(values) > 0:
            values = (values - values.min()) * (255.0 / np.ptp(values))
        elif img.mode == "F" and values.size and values.max() <= 1.0:
            values = values * 255.0
        img = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _present(record: Mapping[str, Any], *keys: str) -> str | None:
    return next((key for key in keys if record.get(key) not in (None, "")), None)


def _positive_int(value: object) -> int | None:
    """`value` as a positive int, digit strings (form data) included; else None."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
