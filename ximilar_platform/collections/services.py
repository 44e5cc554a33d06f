"""Changing search collections: creating them, inserting, updating and deleting records.

Records live in the database (vector, fields, and a reduced copy of the inserted image, so the
collection can be embedded again later); every insert or delete raises the collection's
``revision`` and tells the search backend (`collections.backends`) what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

from inference.images import InvalidImage, encode_image, resize_to_max_side
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.accounts.services import ensure_default_workspace
from ximilar_platform.collections import backends, embedders
from ximilar_platform.collections.models import Collection, CollectionRecord, Reembedding
from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.images import storage
from ximilar_platform.images.services import enqueue_file_deletion
from ximilar_platform.serving.requests import decode_or_error, url_fetch_deadline
from ximilar_platform.training_jobs.models import ModelVersion

IMAGE_FIELDS = {"_base64", "base64", "_file", "_img_data", "_descriptor", "noresize"}
MOVING = (
    "The collection is moving to another embedder; a _descriptor of the current one would not match "
    "after the move. Insert images, or wait until the move ends."
)


def collection_for(request: Request, *, create: bool = False) -> Collection:
    """The collection the ``collection-id`` header names, in one of the user's workspaces.

    An insert into a name not seen before creates it in the user's default workspace; any other
    operation answers 404, as does a collection of a workspace the user is not a member of.
    """
    key = (request.headers.get("collection-id") or "").strip()
    if not key:
        raise ValidationError({"collection-id": ["Send the collection-id header."]})
    try:
        return named_collection(request, key)
    except NotFound:
        if not create:
            raise
    collection, _ = Collection.objects.get_or_create(workspace=ensure_default_workspace(user=request.user), key=key)
    return collection


def named_collection(request: Request, key: str) -> Collection:
    """A collection of one of the user's workspaces by its key (the default workspace's first)."""
    found = (
        Collection.objects.filter(key=key, workspace__members=request.user)
        .order_by("-workspace__is_default", "created")
        .first()
    )
    if found is None:
        raise NotFound(f"Collection '{key}' not found.")
    return found


def create_collection(*, workspace: Workspace, key: str, **fields: Any) -> Collection:
    if Collection.objects.filter(workspace=workspace, key=key).exists():
        raise Conflict(f"A collection '{key}' already exists in this workspace.")
    return Collection.objects.create(workspace=workspace, key=key, **fields)


@transaction.atomic
def delete_collection(collection: Collection) -> None:
    forget_images(list(collection.records.exclude(image="").values_list("image", flat=True)))
    collection.delete()


def skipped(record: Any, code: int, text: str) -> dict[str, Any]:
    """A record an operation left out, with the reason (contract §4 ``skipped_records``)."""
    record = record if isinstance(record, dict) else {}
    return {**stored_fields(record), "_reason": {"status": {"code": code, "text": text}}}


def record_key(record: Any) -> str:
    key = record.get("_id") if isinstance(record, dict) else None
    if not isinstance(key, str | int) or isinstance(key, bool) or str(key) == "":
        raise ValueError("Every record needs an _id (a string).")
    return str(key)


def stored_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in IMAGE_FIELDS}


@dataclass
class Insert:
    """What an insert stored (the keys) and left out (each with its reason)."""

    keys: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Rows:
    """What an insert will store: each record's key, vector, fields and kept image ("" for a ``_descriptor``)."""

    keys: list[str] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)

    def add(self, key: str, vector: np.ndarray, record: dict[str, Any], image: str) -> None:
        self.keys.append(key)
        self.vectors.append(vector)
        self.fields.append(stored_fields(record))
        self.images.append(image)


def insert_records(collection: Collection, records: list) -> Insert:
    """Embed (or take the ``_descriptor`` of) each record and store it; a key inserted again is replaced.

    ``skipped`` lists the records without a usable ``_id`` or ``_descriptor`` first, then those
    whose image failed, each group in the records' order (`add_images`).
    Runs under the collection's row lock: inserts into one collection are serialised, and a
    re-embedding's batch writes wait for them.
    """
    with transaction.atomic():
        collection = Collection.objects.select_for_update().get(pk=collection.pk)
        embedders.pin_embedder(collection)
        moving = collection.reembeddings.filter(state__in=Reembedding.ACTIVE).exists()
        done, rows, pictures = Insert(), Rows(), []
        for record in records:
            try:
                key = record_key(record)
                if "_descriptor" in record:
                    if moving:
                        done.skipped.append(skipped(record, 409, MOVING))
                        continue
                    vector = embedders.parse_descriptor(record["_descriptor"], collection)
                    collection.dimension = collection.dimension or len(vector)
                    rows.add(key, vector, record, "")
                    continue
            except ValueError as error:
                done.skipped.append(skipped(record, 400, str(error)))
                continue
            pictures.append((key, record))
        try:
            if pictures:
                add_images(collection, pictures, rows, done)
            if rows.keys:
                collection.save(update_fields=["dimension"])
                save_records(collection, rows.keys, np.stack(rows.vectors), rows.fields, rows.images)
        except Exception:
            storage.delete_files(rows.images)  # nothing was stored: keep no copies either
            raise
    done.keys = rows.keys
    return done


def add_images(collection: Collection, pictures: list[tuple[str, dict]], rows: Rows, done: Insert) -> None:
    """Decode, embed and keep the images of (key, record) pairs, ``SEARCH_EMBED_BATCH`` at a time.

    One chunk of decoded images is held at a time: each is embedded in one forward pass, its
    reduced copies are written, and its pixels go before the next chunk is decoded. The limits
    are the insert's as a whole: at most ``SEARCH_MAX_IMAGE_RECORDS`` images, ``REQUEST_MAX_PIXELS``
    decoded and ``REQUEST_URL_FETCH_BUDGET`` of downloads. JPEGs are decoded at a reduced scale as
    predictions' are (`draft_side`), never below the kept copy's side. A record whose image fails
    is left out with its reason; those whose descriptor has another dimension are listed last.
    """
    version, size = embedders.embedder_version(collection), max(settings.SEARCH_EMBED_BATCH, 1)
    draft = draft_side(version)
    pixels_left = settings.REQUEST_MAX_PIXELS
    url_deadline = url_fetch_deadline()
    chunk: list[tuple[str, Image.Image, dict]] = []
    accepted, mismatched = 0, []
    for number, (key, record) in enumerate(pictures):
        if accepted >= settings.SEARCH_MAX_IMAGE_RECORDS:
            message = (
                f"At most SEARCH_MAX_IMAGE_RECORDS ({settings.SEARCH_MAX_IMAGE_RECORDS}) image records per insert."
            )
            done.skipped.append(skipped(record, 413, message))
        else:
            decoded = decode_or_error(record, max_pixels=pixels_left, url_deadline=url_deadline, draft_side=draft)
            if isinstance(decoded, InvalidImage):
                done.skipped.append(skipped(record, decoded.status, decoded.message))
            else:
                pixels_left -= decoded.image.width * decoded.image.height
                accepted += 1
                chunk.append((key, decoded.image, record))
        if len(chunk) == size or (chunk and number == len(pictures) - 1):
            vectors = embedders.embed_with(version, [image for _, image, _ in chunk])
            for (key, image, record), vector in zip(chunk, vectors, strict=True):
                collection.dimension = collection.dimension or len(vector)
                if len(vector) != collection.dimension:
                    text = f"The image's descriptor has {len(vector)} numbers; this collection's vectors have "
                    mismatched.append(skipped(record, 400, f"{text}{collection.dimension}."))
                else:
                    rows.add(key, vector, record, keep_image(collection, image))
            chunk = []
    done.skipped += mismatched


def draft_side(version: ModelVersion | None) -> int | None:
    """The side an insert's JPEGs may be decoded down to; None: full size (``PREDICT_DECODE_MIN_SIDE`` 0).

    As a prediction's (`serving.requests.draft_side`): at least ``PREDICT_DECODE_MIN_SIDE`` and twice
    the embedder's input, so the embedder sees what a full decode would show it; and at least the
    kept copy's side, so the copy is as big as from the full image.
    """
    if settings.PREDICT_DECODE_MIN_SIDE <= 0:
        return None
    return max(settings.PREDICT_DECODE_MIN_SIDE, 2 * embedders.input_side(version), settings.SEARCH_KEPT_IMAGE_SIDE)


def update_records(collection: Collection, records: list) -> Insert:
    """Change records' fields (never their vector); the ``_id`` and image fields are kept as they are."""
    done = Insert()
    with transaction.atomic():
        for record in records:
            try:
                key = record_key(record)
            except ValueError as error:
                done.skipped.append(skipped(record, 400, str(error)))
                continue
            row = CollectionRecord.objects.select_for_update().filter(collection=collection, key=key).first()
            if row is None:
                done.skipped.append(skipped(record, 404, "No record with this _id."))
                continue
            row.fields = {**row.fields, **stored_fields(record)}
            row.save(update_fields=["fields", "updated"])
            done.keys.append(key)
        if done.keys:  # the vectors stay (no revision change); field indexes rebuild
            Collection.objects.filter(pk=collection.pk).update(fields_revision=F("fields_revision") + 1)
    return done


def delete_records(collection: Collection, keys: list[str]) -> set[str]:
    """Delete the records of these keys (their kept images after commit); the keys that existed."""
    stored = set(CollectionRecord.objects.filter(collection=collection, key__in=keys).values_list("key", flat=True))
    if stored:
        with transaction.atomic():
            gone = CollectionRecord.objects.filter(collection=collection, key__in=stored)
            forget_images(list(gone.values_list("image", flat=True)))
            gone.delete()
            touch(collection)
            backends.current().deleted(collection, stored)
    return stored


def save_records(
    collection: Collection, keys: list[str], vectors: np.ndarray, fields: list[dict], images: list[str]
) -> None:
    """Insert or replace records (a key inserted again gets the new vector, fields and image), in bulk.

    ``images`` names each record's kept image ("" for a ``_descriptor``); replaced images (and
    those of a key given again later in ``keys``) are deleted once the transaction commits.
    """
    latest: dict[str, tuple[bytes, dict, str]] = {}
    replaced = []
    for key, vector, extra, image in zip(keys, embedders.normalised(vectors), fields, images, strict=True):
        if key in latest:
            replaced.append(latest[key][2])
        latest[key] = (vector.astype(np.float32).tobytes(), extra, image)
    existing = {r.key: r for r in CollectionRecord.objects.filter(collection=collection, key__in=list(latest))}
    now = timezone.now()
    for key, record in existing.items():
        replaced.append(record.image)
        record.vector, record.fields, record.image = latest[key]
        record.pending_vector, record.updated = None, now
    CollectionRecord.objects.bulk_update(
        list(existing.values()), ["vector", "fields", "image", "pending_vector", "updated"], batch_size=500
    )
    CollectionRecord.objects.bulk_create(
        [
            CollectionRecord(collection=collection, key=key, vector=vector, fields=extra, image=image)
            for key, (vector, extra, image) in latest.items()
            if key not in existing
        ],
        batch_size=500,
    )
    touch(collection)
    vectors = np.frombuffer(b"".join(vector for vector, _, _ in latest.values()), dtype=np.float32)
    backends.current().stored(collection, list(latest), vectors.reshape(len(latest), -1))
    forget_images(replaced)


def touch(collection: Collection) -> None:
    """Record that the collection's records changed (indexes of other revisions rebuild)."""
    Collection.objects.filter(pk=collection.pk).update(revision=F("revision") + 1)


def keep_image(collection: Collection, image: Image.Image) -> str:
    """Store a reduced JPEG copy of an inserted image, so the collection can be re-embedded later."""
    side = settings.SEARCH_KEPT_IMAGE_SIDE
    if side <= 0:
        return ""
    data = encode_image(resize_to_max_side(image, side), quality=90)
    return storage.save_file("collections", collection.workspace_id, storage.new_stem(), "jpg", data)


def forget_images(names: list[str]) -> None:
    """Delete kept images once the transaction that dropped their records commits."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(lambda: enqueue_file_deletion(names))
