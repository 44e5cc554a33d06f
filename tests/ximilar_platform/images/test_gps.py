"""Stored originals lose their EXIF GPS (IMAGE_KEEP_GPS keeps it); pixels, orientation and other EXIF stay."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ximilar_platform.images.exif import GPS_IFD, without_gps
from ximilar_platform.images.models import TrainingImage

IMAGES = "/recognition/v2/training-image"
EXIF_IFD, ORIENTATION, MAKE, TAKEN = 0x8769, 0x0112, 0x010F, 0x9003


def photo(fmt: str = "JPEG", orientation: int = 1, gps: bool = True, **save: object) -> bytes:
    """A noisy 64x48 photo with EXIF: orientation, camera make, date taken and (if ``gps``) a position."""
    exif = Image.Exif()
    exif[ORIENTATION], exif[MAKE] = orientation, "Canon"
    exif.get_ifd(EXIF_IFD)[TAKEN] = "2024:05:01 12:00:00"
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (50.0, 5.0, 0.0), 3: "E", 4: (14.0, 25.0, 0.0)}
    pixels = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, exif=exif, **save)
    return buffer.getvalue()


def exif_of(data: bytes) -> Image.Exif:
    return Image.open(io.BytesIO(data)).getexif()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def stored(api, data: bytes, media_root: Path) -> bytes:
    response = api.post(IMAGES, {"base64": base64.b64encode(data).decode()}, format="json")
    assert response.status_code == 201, response.json()
    return (media_root / TrainingImage.objects.get(id=response.json()["id"]).file.name).read_bytes()


def test_an_uploaded_jpeg_is_stored_without_gps_and_with_its_other_exif(api, media_root) -> None:
    sent = photo()
    assert GPS_IFD in exif_of(sent)
    kept = stored(api, sent, media_root)
    exif = exif_of(kept)
    assert GPS_IFD not in exif and exif.get_ifd(GPS_IFD) == {} and b"GPS" not in kept
    assert (exif[ORIENTATION], exif[MAKE], exif.get_ifd(EXIF_IFD)[TAKEN]) == (1, "Canon", "2024:05:01 12:00:00")
    assert kept.endswith(sent[sent.index(b"\xff\xda") :])  # from the first scan on: the same bytes, not re-encoded


def test_with_image_keep_gps_the_original_is_stored_as_sent(api, media_root, settings) -> None:
    settings.IMAGE_KEEP_GPS = True
    sent = photo()
    assert stored(api, sent, media_root) == sent


def test_the_same_file_sent_again_is_found_although_its_stored_copy_differs(api, media_root) -> None:
    sent = photo()
    stored(api, sent, media_root)
    again = api.post(IMAGES, {"base64": base64.b64encode(sent).decode()}, format="json")
    assert again.status_code == 409 and TrainingImage.objects.count() == 1


def test_a_rotated_photo_is_stored_upright_without_any_exif(api, media_root) -> None:
    kept = stored(api, photo(orientation=6), media_root)  # re-encoded upright: no orientation left to apply
    assert Image.open(io.BytesIO(kept)).size == (48, 64) and len(exif_of(kept)) == 0


@pytest.mark.parametrize(
    "fmt, save", [("JPEG", {}), ("PNG", {}), ("WEBP", {"lossless": True}), ("WEBP", {"quality": 80})]
)
def test_gps_is_cut_without_touching_pixels_orientation_or_other_exif(fmt: str, save: dict) -> None:
    sent = photo(fmt, orientation=6, **save)
    kept = without_gps(sent, fmt)
    exif = exif_of(kept)
    assert Image.open(io.BytesIO(kept)).format == fmt and GPS_IFD not in exif and b"GPS" not in kept
    assert (exif[ORIENTATION], exif[MAKE], exif.get_ifd(EXIF_IFD)[TAKEN]) == (6, "Canon", "2024:05:01 12:00:00")
    assert np.array_equal(pixels(kept), pixels(sent)) and without_gps(kept, fmt) == kept


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_file_without_gps_is_left_as_it_is(fmt: str) -> None:
    sent = photo(fmt, gps=False)
    assert without_gps(sent, fmt) is sent


def test_an_mpo_keeps_only_its_first_image_since_the_others_carry_gps_too() -> None:
    second = Image.new("RGB", (64, 48), (0, 0, 255))
    sent = photo("MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(sent)).n_frames == 2
    kept = without_gps(sent, "JPEG")
    opened = Image.open(io.BytesIO(kept))
    assert opened.format == "JPEG" and getattr(opened, "n_frames", 1) == 1 and b"GPS" not in kept
    assert np.array_equal(pixels(kept), pixels(sent))


def test_exif_pillow_cannot_read_is_dropped_whole() -> None:
    plain = photo(gps=False)
    garbage = b"Exif\x00\x00not a tiff header at all"
    segment = b"\xff\xe1" + (len(garbage) + 2).to_bytes(2, "big") + garbage
    sent = plain[:2] + segment + plain[2:]  # a second, unreadable Exif segment right after SOI
    kept = without_gps(sent, "JPEG")
    assert garbage not in kept and kept == plain
