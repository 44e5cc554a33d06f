"""Image records are decoded, embedded and kept a chunk at a time, answering as one pass over them all would."""

from __future__ import annotations

import base64
import io
import weakref
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.factories import item_view_base64
from ximilar_platform.collections import embedders, services
from ximilar_platform.collections.models import Collection, CollectionRecord
from ximilar_platform.images import storage


def records(descriptor: list) -> list[Any]:
    """Images, a broken one, a descriptor, a record without _id and one that is no object."""
    return [
        {"_id": "a", "_base64": item_view_base64(0, 0), "colour": "red"},
        {"_id": "bad", "_base64": "not an image"},
        {"_id": "short", "_descriptor": descriptor},
        {"_base64": item_view_base64(1, 0)},
        "nonsense",
        *({"_id": f"v{i}", "_base64": item_view_base64(i, 1), "n": i} for i in range(5)),
        {"_id": "a", "_base64": item_view_base64(3, 2), "colour": "blue"},  # the same key again: the last one stays
        {"_id": "late", "_base64": item_view_base64(4, 4)},  # past SEARCH_MAX_IMAGE_RECORDS: 413
    ]


def inserted(alice, key: str, descriptor: list) -> tuple[list[str], list[dict], dict[str, tuple[np.ndarray, dict]]]:
    collection = Collection.objects.create(workspace=alice.workspace, key=key)
    done = services.insert_records(collection, records(descriptor))
    stored = {
        r.key: (np.frombuffer(bytes(r.vector), dtype=np.float32), r.fields)
        for r in CollectionRecord.objects.filter(collection=collection)
    }
    return done.keys, done.skipped, stored


def test_chunks_answer_as_one_pass_over_every_image(
    alice, settings, media_root, django_capture_on_commit_callbacks
) -> None:
    settings.SEARCH_MAX_IMAGE_RECORDS = 7
    settings.SEARCH_EMBED_BATCH = 100  # one forward pass over every image, as inserts were
    with django_capture_on_commit_callbacks(execute=True):
        keys, skipped, stored = inserted(alice, "one pass", ["not a number"])
        settings.SEARCH_EMBED_BATCH = 2
        chunked_keys, chunked_skipped, chunked = inserted(alice, "chunks", ["not a number"])

    assert chunked_keys == keys == ["a", "v0", "v1", "v2", "v3", "v4", "a"]
    assert chunked_skipped == skipped
    assert [s["_reason"]["status"]["code"] for s in skipped] == [400, 400, 400, 400, 413]
    assert [s.get("_id") for s in skipped] == ["short", None, None, "bad", "late"]
    assert stored.keys() == chunked.keys() == {"a", "v0", "v1", "v2", "v3", "v4"}
    for key, (vector, fields) in stored.items():
        assert np.allclose(chunked[key][0], vector, atol=1e-5) and chunked[key][1] == fields
    assert stored["a"][1] == {"_id": "a", "colour": "blue"}
    kept = {r.image for r in CollectionRecord.objects.all()}
    assert {str(p.relative_to(media_root)) for p in media_root.rglob("*.jpg")} == kept and len(kept) == 2 * 6


def test_an_insert_holds_one_chunk_of_decoded_images(alice, settings, monkeypatch) -> None:
    settings.SEARCH_EMBED_BATCH = 3
    alive, most, passes = [0], [0], []
    decode = services.decode_or_error

    def counted(*args: Any, **kwargs: Any) -> Any:
        decoded = decode(*args, **kwargs)
        alive[0] += 1
        most[0] = max(most[0], alive[0])
        weakref.finalize(decoded.image, lambda: alive.__setitem__(0, alive[0] - 1))
        return decoded

    embed = embedders.embed_with
    monkeypatch.setattr(services, "decode_or_error", counted)
    monkeypatch.setattr(embedders, "embed_with", lambda v, images: passes.append(len(images)) or embed(v, images))
    pictures = [{"_id": str(i), "_base64": item_view_base64(i, 0)} for i in range(10)]
    done = services.insert_records(Collection.objects.create(workspace=alice.workspace, key="k"), pictures)
    assert len(done.keys) == 10 and passes == [3, 3, 3, 1]
    assert most[0] <= 3 + 1  # a chunk, and the last image of the chunk before until the next one is decoded


def test_a_failing_chunk_keeps_no_copies_of_the_chunks_before(alice, settings, monkeypatch, media_root) -> None:
    settings.SEARCH_EMBED_BATCH = 2
    embed, calls = embedders.embed_with, []

    def second_fails(version: Any, images: list) -> np.ndarray:
        calls.append(len(images))
        if len(calls) == 2:
            raise RuntimeError("the model went away")
        return embed(version, images)

    monkeypatch.setattr(embedders, "embed_with", second_fails)
    collection = Collection.objects.create(workspace=alice.workspace, key="k")
    with pytest.raises(RuntimeError):
        services.insert_records(collection, [{"_id": str(i), "_base64": item_view_base64(i, 0)} for i in range(4)])
    assert calls == [2, 2] and not CollectionRecord.objects.exists()
    assert not [path for path in media_root.rglob("*") if path.is_file()]


def jpeg(width: int, height: int) -> str:
    ramp = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
    buffer = io.BytesIO()
    Image.fromarray(ramp.astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_big_jpeg_is_decoded_smaller_but_kept_and_embedded_as_from_full_size(alice, settings, media_root) -> None:
    settings.PREDICT_DECODE_MIN_SIDE, settings.SEARCH_KEPT_IMAGE_SIDE = 256, 200
    photo = jpeg(2400, 1800)
    assert services.draft_side(None) == 2 * 224  # twice the generic descriptor's input
    drafted = services.decode_or_error({"_base64": photo}, draft_side=services.draft_side(None))
    assert drafted.image.size == (600, 450) and drafted.full_size == (2400, 1800)

    collection = Collection.objects.create(workspace=alice.workspace, key="k")
    services.insert_records(collection, [{"_id": "photo", "_base64": photo}])
    row = CollectionRecord.objects.get(key="photo")
    full = services.decode_or_error({"_base64": photo}).image
    expected = embedders.normalised(embedders.embed_with(None, [full]))[0]
    assert 1 - float(np.frombuffer(bytes(row.vector), dtype=np.float32) @ expected) < 0.01
    assert max(storage.open_stored(row.image).size) == 200

    settings.SEARCH_KEPT_IMAGE_SIDE = 1000
    assert services.draft_side(None) == 1000  # never below the kept copy
    settings.PREDICT_DECODE_MIN_SIDE = 0
    assert services.draft_side(None) is None


def test_images_of_another_dimension_than_a_descriptor_before_them_are_listed_last(alice, settings) -> None:
    settings.SEARCH_MAX_IMAGE_RECORDS, settings.SEARCH_EMBED_BATCH = 7, 2
    keys, skipped, stored = inserted(alice, "two", [0.6, 0.8])  # the descriptor fixes the dimension: 2
    assert keys == ["short"] and stored.keys() == {"short"}
    assert [s.get("_id") for s in skipped] == [None, None, "bad", "late", "a", "v0", "v1", "v2", "v3", "v4", "a"]
    assert "1280 numbers" in skipped[-1]["_reason"]["status"]["text"]
