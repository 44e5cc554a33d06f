"""Training images: ingestion (decode, dedupe, downscale, thumbnail) and deletion."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from PIL import Image

from inference.images import DecodedImage, decode_bytes, encode_image, resize_to_max_side
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.images import exif, storage
from ximilar_platform.images.jobs import delete_stored_files
from ximilar_platform.images.models import TrainingImage

logger = logging.getLogger(__name__)

# Encoded sources kept as sent when no pixel change is needed (less their EXIF GPS: exif.py).
KEPT_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
LOSSLESS_FORMATS = {"PNG", "GIF", "BMP", "TIFF", "RAW"}


class ImageAlreadyExists(Conflict):
    default_code = "already_exists"

    def __init__(self, image_id: uuid.UUID | None) -> None:
        self.image_id = image_id
        # The client finds the id with the regex ``image.ID..<uuid4>`` (API_CONTRACT.md §1.2).
        super().__init__(f"Training image with the same data already exists (image ID: {image_id}).")


@dataclass(frozen=True)
class ImageOptions:
    meta_data: dict[str, Any]
    noresize: bool = False
    test_image: bool = False
    real: bool = False


@dataclass(frozen=True)
class StoredFiles:
    """An image's two files, written to storage before any row names them, and what the row records."""

    checksum: str
    file: str
    thumbnail: str
    width: int
    height: int

    @property
    def names(self) -> list[str]:
        return [self.file, self.thumbnail]


def existing_image_id(*, workspace: Workspace, checksum: str) -> uuid.UUID | None:
    return TrainingImage.objects.filter(workspace=workspace, checksum=checksum).values_list("id", flat=True).first()


def ingest_training_image(*, workspace: Workspace, decoded: DecodedImage, options: ImageOptions) -> TrainingImage:
    """Store a decoded upload once per workspace, downscaled unless ``noresize``, with a thumbnail."""
    existing = existing_image_id(workspace=workspace, checksum=hashlib.sha256(decoded.data).hexdigest())
    if existing:
        raise ImageAlreadyExists(existing)
    stored = store_image_files(workspace=workspace, decoded=decoded, noresize=options.noresize)
    try:
        with transaction.atomic():
            try:
                return create_image_row(workspace=workspace, stored=stored, options=options)
            # the insert failed, so no row names the files (should the commit after it fail instead, the
            # orphan sweep keeps them if the row did commit and deletes them if not)
            except BaseException:
                storage.delete_files(stored.names)
                raise
    except IntegrityError:  # a concurrent upload of the same bytes won the race
        raise ImageAlreadyExists(existing_image_id(workspace=workspace, checksum=stored.checksum)) from None


def store_image_files(*, workspace: Workspace, decoded: DecodedImage, noresize: bool = False) -> StoredFiles:
    """Write the image (downscaled to ``TRAINING_IMAGE_MAX_SIDE`` unless ``noresize``) and its thumbnail.

    The checksum is of the bytes the client sent, so that sending the same file again is found
    whatever ``IMAGE_KEEP_GPS`` was then; a kept original loses its EXIF GPS unless that setting
    is on (re-encoded copies carry no EXIF at all). ``decoded`` may be a JPEG decoded smaller
    (`upload_draft_size`): that is enough for the thumbnail of an original kept as sent, and
    anything else decodes the bytes again at the size it stores. No row names the files yet: a
    caller that does not create one deletes them (else the orphan sweep does).
    """
    width, height = decoded.full_size
    max_side = None if noresize else settings.TRAINING_IMAGE_MAX_SIDE
    if kept_as_sent(decoded, max_side):
        image = decoded.image  # pixels only for the thumbnail
        data = decoded.data if settings.IMAGE_KEEP_GPS else exif.without_gps(decoded.data, decoded.format)
        extension = KEPT_FORMATS[decoded.format]
    else:
        image = full_pixels(decoded, max_side)
        if max_side is not None:
            image = resize_to_max_side(image, max_side)
        width, height = image.size
        if decoded.format in LOSSLESS_FORMATS:
            data, extension = encode_image(image, "PNG"), "png"
        else:
            data, extension = encode_image(image, "JPEG", quality=95), "jpg"
    thumbnail = encode_image(resize_to_max_side(image, settings.THUMBNAIL_SIZE), "JPEG", quality=85)
    stem = storage.new_stem()
    file = storage.save_file("images", workspace.id, stem, extension, data)
    try:
        thumb = storage.save_file("thumbs", workspace.id, stem, "jpg", thumbnail)
    except BaseException:
        storage.delete_files([file])
        raise
    checksum = hashlib.sha256(decoded.data).hexdigest()
    return StoredFiles(checksum=checksum, file=file, thumbnail=thumb, width=width, height=height)


def kept_as_sent(decoded: DecodedImage, max_side: int | None) -> bool:
    """Whether the sent bytes are stored: a kept format, not rotated by its EXIF, within ``max_side`` (if any)."""
    fits = max_side is None or max(decoded.full_size) <= max_side
    return fits and not decoded.transposed and decoded.format in KEPT_FORMATS


def upload_draft_size() -> tuple[int, int]:
    """What an upload's JPEG may be decoded at first: the thumbnail's size, all that an original kept as sent needs.

    libjpeg then decodes at 1/2..1/8 scale when both sides stay at least this big; a 640 px photo
    cost twice the decode and a LANCZOS pass over four times the pixels otherwise.
    """
    return (settings.THUMBNAIL_SIZE, settings.THUMBNAIL_SIZE)


def full_pixels(decoded: DecodedImage, max_side: int | None) -> Image.Image:
    """The pixels to store: ``decoded``'s own, or, for a JPEG decoded smaller, its bytes again at ``max_side``."""
    if decoded.drafted_from is None:
        return decoded.image
    draft = None if max_side is None else (max_side, max_side)
    return decode_bytes(decoded.data, storage.image_limits(), draft_size=draft).image


def create_image_row(*, workspace: Workspace, stored: StoredFiles, options: ImageOptions) -> TrainingImage:
    """The row naming stored files; the unique checksum per workspace raises IntegrityError on a duplicate."""
    return TrainingImage.objects.create(
        workspace=workspace,
        file=stored.file,
        thumbnail=stored.thumbnail,
        width=stored.width,
        height=stored.height,
        checksum=stored.checksum,
        meta_data=options.meta_data,
        test_image=options.test_image,
        real=options.real,
    )


def delete_training_images(images: Iterable[TrainingImage]) -> int:
    """Delete rows now and their files once the transaction commits."""
    images = list(images)
    names = [name for image in images for name in (image.file.name, image.thumbnail.name)]
    TrainingImage.objects.filter(id__in=[image.id for image in images]).delete()
    if names:
        transaction.on_commit(lambda: enqueue_file_deletion(names))
    return len(images)


def enqueue_file_deletion(names: list[str]) -> None:
    """Hand the deletes to a worker; if the broker is unreachable, delete here rather than leak files."""
    try:
        delete_stored_files.delay(names)
    except Exception:  # any broker failure; the rows are already gone
        logger.warning("Broker unavailable; deleting %d files in the request", len(names), exc_info=True)
        storage.delete_files(names)
