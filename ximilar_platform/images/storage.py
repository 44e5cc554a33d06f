"""Where image files live in storage, and the settings-derived limits of the decoder."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from inference.images import ImageLimits, UrlPolicy, decode_bytes


def image_limits() -> ImageLimits:
    return ImageLimits(max_bytes=settings.IMAGE_MAX_BYTES, max_pixels=settings.IMAGE_MAX_PIXELS)


def url_policy() -> UrlPolicy:
    return UrlPolicy(
        timeout=settings.URL_FETCH_TIMEOUT,
        max_bytes=settings.IMAGE_MAX_BYTES,
        allow_loopback=settings.URL_FETCH_ALLOW_LOOPBACK,
        allow_private=settings.URL_FETCH_ALLOW_PRIVATE,
    )


def open_stored(name: str) -> Image.Image:
    """A stored image (training image, thumbnail, kept record) decoded with the same limits as uploads."""
    with default_storage.open(name) as file:
        return decode_bytes(file.read(), image_limits()).image


def save_file(folder: str, workspace_id: uuid.UUID, stem: str, extension: str, data: bytes) -> str:
    """Store bytes under an unguessable name: media URLs are served without the API token."""
    return default_storage.save(f"{folder}/{workspace_id}/{stem}.{extension}", ContentFile(data))


def new_stem() -> str:
    return secrets.token_urlsafe(18)


def delete_files(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)
