"""Uploads decode a JPEG at thumbnail scale first (issue 16); what is stored is what a full decode stored."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.images import decode_bytes, resize_to_max_side
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.image_views import decode_upload

IMAGES = "/recognition/v2/training-image"
ORIENTATION = 0x0112


def jpeg(width: int, height: int, orientation: int = 1) -> bytes:
    """Stripes and a gradient (detail a decode at the wrong scale would lose), with an EXIF orientation."""
    x = np.arange(width)[None, :, None]
    y = np.arange(height)[:, None, None]
    pixels = np.broadcast_to((x * 255 // width + 60 * ((y // 16) % 2)) % 256, (height, width, 3)).astype(np.uint8)
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def upload(api, data: bytes, **fields: object) -> tuple[dict, TrainingImage]:
    response = api.post(IMAGES, {"base64": base64.b64encode(data).decode(), **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json(), TrainingImage.objects.get(id=response.json()["id"])


def opened(media_root: Path, name: str) -> Image.Image:
    return Image.open(media_root / name)


def test_an_upload_decodes_a_jpeg_at_the_thumbnails_scale(settings) -> None:
    decoded = decode_upload({"base64": base64.b64encode(jpeg(1100, 600)).decode()})
    assert decoded.full_size == (1100, 600) and decoded.image.size == (550, 300)  # 1/2: both sides stay >= 256


def test_a_jpeg_kept_as_sent_has_its_full_size_and_a_full_thumbnail(api, media_root) -> None:
    sent = jpeg(640, 520)
    answer, row = upload(api, sent)
    assert (answer["img_width"], answer["img_height"]) == (640, 520)
    assert (media_root / row.file.name).read_bytes() == sent
    assert opened(media_root, row.thumbnail.name).size == (256, 208)


def test_a_jpeg_over_the_max_side_is_decoded_again_and_downscaled_as_before(api, media_root, settings) -> None:
    settings.TRAINING_IMAGE_MAX_SIDE, settings.THUMBNAIL_SIZE = 300, 32  # first decoded at 1/8: 150x112
    sent = jpeg(1200, 900)
    answer, row = upload(api, sent)
    assert (answer["img_width"], answer["img_height"]) == (300, 225)
    stored = np.asarray(opened(media_root, row.file.name).convert("RGB"), dtype=np.int16)
    full = np.asarray(resize_to_max_side(decode_bytes(sent).image, 300), dtype=np.int16)
    assert stored.shape == full.shape and np.abs(stored - full).mean() < 4  # not the blur of an upscaled thumbnail
    assert opened(media_root, row.thumbnail.name).size == (32, 24)


def test_a_rotated_jpeg_is_stored_upright_at_its_full_size(api, media_root) -> None:
    answer, row = upload(api, jpeg(640, 520, orientation=6))  # 6: turned 90 degrees, the axes swap
    assert (answer["img_width"], answer["img_height"]) == (520, 640)
    assert opened(media_root, row.file.name).size == (520, 640)
    assert opened(media_root, row.thumbnail.name).size == (208, 256)


def test_noresize_keeps_a_large_jpeg_as_sent(api, media_root, settings) -> None:
    settings.TRAINING_IMAGE_MAX_SIDE = 300
    sent = jpeg(1200, 900)
    answer, row = upload(api, sent, noresize=True)
    assert (answer["img_width"], answer["img_height"]) == (1200, 900)
    assert (media_root / row.file.name).read_bytes() == sent


@pytest.mark.parametrize("text", ["iVBORw0K\ud800GgoAAAA", "iVBOR w0K ☃"])
def test_base64_with_characters_outside_base64_answers_invalid_base64(api, text: str) -> None:
    body = json.dumps({"base64": text})  # a lone surrogate travels as its JSON escape
    response = api.post(IMAGES, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_base64"
    assert not TrainingImage.objects.exists()
