"""Benchmark: inserting image records into a collection of the generic descriptor, before and after issue 16.

In-process, against the database the settings name (a fresh one: it makes a user and collections):

    DATA_DIR=/tmp/ibench .venv/bin/python manage.py migrate -v0
    DATA_DIR=/tmp/ibench .venv/bin/python bench/collection_insert.py --runs 3

Each run inserts the same synthetic JPEGs (colour ramps under noise, base64, as the
API receives them) in one call, into a new collection each time, three ways in turn:

- one by one: an insert per record (a client that sends them one at a time);
- before: `baseline_insert`, the insert as it was before issue 16: every image decoded at full
  size first, then embedded ``SEARCH_EMBED_BATCH`` at a time, then every copy kept;
- after: `services.insert_records`: decoded (at a reduced JPEG scale when big), embedded and
  kept a chunk of ``SEARCH_EMBED_BATCH`` at a time, one chunk of decoded images held at once.

``--sets`` picks the images, WIDTHxHEIGHT:COUNT (default 100 of 256 px, and 16 photos of
4000x3000: REQUEST_MAX_PIXELS lets the old way decode no more in one insert). Prints per-image ms,
medians over the runs, and checks that before and after store the same keys with vectors within
a cosine distance of 0.01 (after decodes big JPEGs smaller, so they are not bit-identical).
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

from inference.images import DecodedImage, InvalidImage  # noqa: E402
from ximilar_platform.accounts.services import create_api_user  # noqa: E402
from ximilar_platform.collections import embedders, services  # noqa: E402
from ximilar_platform.collections.models import Collection, CollectionRecord  # noqa: E402
from ximilar_platform.images import storage  # noqa: E402
from ximilar_platform.serving.requests import decode_or_error, url_fetch_deadline  # noqa: E402


def baseline_insert(collection: Collection, records: list[dict[str, Any]]) -> services.Insert:
    """The image part of `services.insert_records` before issue 16 (image records only, for the comparison)."""
    with transaction.atomic():
        collection = Collection.objects.select_for_update().get(pk=collection.pk)
        done, vectors, fields, images = services.Insert(), [], [], []
        to_embed: list[tuple[str, DecodedImage, dict]] = []
        pixels_left, url_deadline = settings.REQUEST_MAX_PIXELS, url_fetch_deadline()
        for record in records:
            key = services.record_key(record)
            decoded = decode_or_error(record, max_pixels=pixels_left, url_deadline=url_deadline)
            if isinstance(decoded, InvalidImage):
                done.skipped.append(services.skipped(record, decoded.status, decoded.message))
            else:
                pixels_left -= decoded.image.width * decoded.image.height
                to_embed.append((key, decoded, record))
        try:
            embedded = embedders.embed(collection, [decoded.image for _, decoded, _ in to_embed])
            for (key, decoded, record), vector in zip(to_embed, embedded, strict=True):
                collection.dimension = collection.dimension or len(vector)
                done.keys.append(key)
                vectors.append(vector)
                fields.append(services.stored_fields(record))
                images.append(services.keep_image(collection, decoded.image))
            collection.save(update_fields=["dimension"])
            services.save_records(collection, done.keys, np.stack(vectors), fields, images)
        except Exception:
            storage.delete_files(images)
            raise
    return done


def one_by_one(collection: Collection, records: list[dict[str, Any]]) -> services.Insert:
    done = services.Insert()
    for record in records:
        done.keys += services.insert_records(collection, [record]).keys
    return done


def picture(rng: np.random.Generator, width: int, height: int) -> str:
    ramp = np.linspace(0, 1, width)[None, :, None] * rng.integers(0, 256, 3)[None, None, :]
    pixels = np.clip(ramp + rng.normal(0, 25, (height, width, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()


def vectors_of(collection: Collection) -> dict[str, np.ndarray]:
    rows = CollectionRecord.objects.filter(collection=collection).values_list("key", "vector")
    return {key: np.frombuffer(bytes(vector), dtype=np.float32) for key, vector in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sets", nargs="+", default=["256x256:100", "4000x3000:16"], help="WIDTHxHEIGHT:COUNT")
    args = parser.parse_args()
    user, _ = create_api_user(username=f"bench-{time.time_ns()}")
    workspace = user.owned_workspaces.get(is_default=True)
    ways: dict[str, Callable[[Collection, list[dict[str, Any]]], services.Insert]] = {
        "one by one": one_by_one,
        "before": baseline_insert,
        "after": services.insert_records,
    }
    rng = np.random.default_rng(0)
    warm = Collection.objects.create(workspace=workspace, key="warm")
    services.insert_records(warm, [{"_id": "w", "_base64": picture(rng, 64, 64)}])  # the descriptor, exported once
    for images in args.sets:
        side, count = images.split(":")
        width, height = (int(n) for n in side.split("x"))
        records = [{"_id": str(i), "_base64": picture(rng, width, height)} for i in range(int(count))]
        times: dict[str, list[float]] = {name: [] for name in ways}
        worst = 0.0
        for run in range(args.runs):
            stored = {}
            for name, insert in ways.items():
                collection = Collection.objects.create(workspace=workspace, key=f"{side}-{run}-{name}")
                started = time.perf_counter()
                done = insert(collection, records)
                times[name].append((time.perf_counter() - started) * 1000 / len(records))
                assert len(done.keys) == len(records) and not done.skipped, done.skipped[:1]
                stored[name] = vectors_of(collection)
                services.delete_collection(collection)
            before, after = stored["before"], stored["after"]
            assert before.keys() == after.keys()
            worst = max([worst] + [1 - float(before[key] @ after[key]) for key in before])
            assert worst < 0.01, f"vectors moved by a cosine distance of {worst}"
        medians = {name: statistics.median(values) for name, values in times.items()}
        runs = ", ".join(f"{name} " + "/".join(f"{t:.1f}" for t in values) for name, values in times.items())
        print(
            f"{side}, {count} records, SEARCH_EMBED_BATCH {settings.SEARCH_EMBED_BATCH}: ms per image, median of"
            f" {args.runs}: one by one {medians['one by one']:.1f}, before {medians['before']:.1f}, after"
            f" {medians['after']:.1f} ({medians['before'] / medians['after']:.2f}x; max cosine distance"
            f" before-after {worst:.2g}) [{runs}]"
        )
    services.delete_collection(warm)


if __name__ == "__main__":
    main()
