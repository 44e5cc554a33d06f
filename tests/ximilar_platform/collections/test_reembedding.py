"""A collection moves to another embedder: its kept images are embedded again and all vectors switch at once."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from tests.factories import item_view_base64
from ximilar_platform.collections import reembedding
from ximilar_platform.collections.models import Collection, CollectionRecord, Reembedding
from ximilar_platform.training_jobs.models import ModelVersion

TASKS = "/similarity/training/v2/task"
COLLECTIONS = "/similarity/training/v2/collection"
SEARCH = "/similarity/custom/v2"


@pytest.fixture(autouse=True)
def small_batches(settings) -> None:
    settings.SEARCH_REEMBED_BATCH = 4  # several batches for a few records


def insert(api, collection: str, records: list[dict]) -> dict:
    return api.post(f"{SEARCH}/insert", {"records": records}, format="json", HTTP_COLLECTION_ID=collection).json()


def views(items: range, view: int) -> list[dict]:
    return [{"_id": f"{item}", "_base64": item_view_base64(item, view), "item": item} for item in items]


def vectors(collection: Collection) -> dict[str, np.ndarray]:
    return {
        key: np.frombuffer(bytes(vector), dtype=np.float32)
        for key, vector in CollectionRecord.objects.filter(collection=collection).values_list("key", "vector")
    }


def test_a_collection_moves_to_a_trained_embedder(
    api, trained_task, media_root: Path, django_capture_on_commit_callbacks
) -> None:
    created = api.post(COLLECTIONS, {"key": "shop"}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        assert len(insert(api, "shop", views(range(6), 80))["records"]) == 6
    collection = Collection.objects.get(id=created["id"])
    kept = list(collection.records.values_list("image", flat=True))
    assert all(name and (media_root / name).is_file() for name in kept)  # a copy of every inserted image
    assert {len(v) for v in vectors(collection).values()} == {1280}  # the generic descriptor

    with django_capture_on_commit_callbacks() as callbacks:
        moved = api.patch(f"{COLLECTIONS}/{created['id']}", {"task": trained_task["id"], "name": "Shop"}, format="json")
    assert moved.status_code == 200, moved.json()
    body = moved.json()
    assert body["name"] == "Shop" and body["task"] is None and body["dimension"] == 1280  # still the old embedder
    assert body["reembedding"]["state"] == "pending" and body["reembedding"]["total"] == 6
    assert body["reembedding"]["version"] == 1
    # searches go on with the current vectors while the move waits
    assert (
        api.post(
            f"{SEARCH}/visualKNN", {"query_record": {"_id": "0"}, "k": 3}, format="json", HTTP_COLLECTION_ID="shop"
        ).json()["answer_records"][0]["_id"]
        == "0"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert len(insert(api, "shop", views(range(6, 8), 80))["records"]) == 2  # inserted during the move
        late = insert(api, "shop", [{"_id": "vector", "_descriptor": [1.0] * 1280}])
    assert late["skipped_records"][0]["_reason"]["status"]["code"] == 409  # its vector would not survive the move
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()  # the queued job runs now (jobs are eager in tests)

    detail = api.get(f"{COLLECTIONS}/{created['id']}").json()
    assert detail["task"] == trained_task["id"] and detail["version"] == 1 and detail["dimension"] == 32
    assert detail["reembedding"]["state"] == "succeeded" and detail["reembedding"]["done"] == 8
    moved_vectors = vectors(collection)
    assert len(moved_vectors) == 8 and {len(v) for v in moved_vectors.values()} == {32}
    assert np.allclose([np.linalg.norm(v) for v in moved_vectors.values()], 1, atol=1e-3)
    assert not CollectionRecord.objects.filter(collection=collection, pending_vector__isnull=False).exists()
    # each record's vector is now the trained model's descriptor of its own kept image
    kept_images = dict(collection.records.values_list("key", "image"))
    kept_base64 = {
        key: base64.b64encode((media_root / name).read_bytes()).decode() for key, name in kept_images.items()
    }
    described = api.post(
        "/similarity/training/v2/descriptor",
        {"task_id": trained_task["id"], "records": [{"_base64": kept_base64[key]} for key in sorted(kept_images)]},
        format="json",
    ).json()
    expected = np.array([record["_descriptor"] for record in described["records"]])
    got = np.stack([moved_vectors[key] for key in sorted(kept_images)])
    assert np.allclose(got, expected, atol=1e-4)
    assert (got @ got.T)[~np.eye(len(got), dtype=bool)].max() < 0.9999  # every record kept its own image
    by_collection = api.post(
        "/similarity/training/v2/descriptor",
        {"collection": "shop", "records": [{"_base64": kept_base64["3"]}]},
        format="json",
    ).json()
    assert by_collection["version"] == 1 and by_collection["task_id"] == trained_task["id"]
    assert np.allclose(by_collection["records"][0]["_descriptor"], moved_vectors["3"], atol=1e-4)
    by_id = api.post(
        f"{SEARCH}/visualKNN",
        {"query_record": {"_id": "7"}, "k": 8, "fields_to_return": ["item"]},
        format="json",
        HTTP_COLLECTION_ID="shop",
    ).json()
    assert by_id["answer_records"][0] == {"_id": "7", "item": 7} and by_id["answer_count"] == 8

    # deleting records, then the collection, deletes their kept images
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{SEARCH}/delete", {"records": [{"_id": "0"}]}, format="json", HTTP_COLLECTION_ID="shop")
    assert not (media_root / kept[0]).exists() and (media_root / kept[1]).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{COLLECTIONS}/{created['id']}").status_code == 204
    assert not any((media_root / name).exists() for name in kept)


def test_a_failed_move_changes_nothing(api, trained_task, django_capture_on_commit_callbacks) -> None:
    created = api.post(COLLECTIONS, {"key": "shop"}, format="json").json()
    insert(api, "shop", views(range(3), 80))
    collection = Collection.objects.get(id=created["id"])
    before = vectors(collection)
    url = f"{COLLECTIONS}/{created['id']}"

    unknown = api.patch(url, {"task": trained_task["id"], "version": 7}, format="json")
    assert unknown.status_code == 400 and "no trained version 7" in str(unknown.json())
    assert not Reembedding.objects.exists()

    ModelVersion.objects.filter(task_id=trained_task["id"]).update(artifact="missing", files=["missing/model.onnx"])
    with django_capture_on_commit_callbacks(execute=True):
        assert api.patch(url, {"task": trained_task["id"]}, format="json").status_code == 200
    detail = api.get(url).json()
    assert detail["reembedding"]["state"] == "failed" and detail["reembedding"]["error"]
    assert detail["task"] is None and detail["dimension"] == 1280
    assert vectors(collection).keys() == before.keys()
    assert all(np.array_equal(vectors(collection)[key], before[key]) for key in before)
    assert not CollectionRecord.objects.filter(collection=collection, pending_vector__isnull=False).exists()


def test_descriptor_records_block_a_move_and_a_second_move_waits(api, trained_task) -> None:
    typed = api.post(COLLECTIONS, {"key": "typed"}, format="json").json()
    insert(api, "typed", [{"_id": "v", "_descriptor": [0.5] * 16}])
    refused = api.patch(f"{COLLECTIONS}/{typed['id']}", {"task": trained_task["id"], "name": "renamed"}, format="json")
    assert refused.status_code == 400 and "_descriptor" in str(refused.json())
    assert api.get(f"{COLLECTIONS}/{typed['id']}").json()["name"] == ""  # the whole update was refused

    shop = api.post(COLLECTIONS, {"key": "shop"}, format="json").json()
    insert(api, "shop", views(range(2), 80))
    url = f"{COLLECTIONS}/{shop['id']}"
    assert api.patch(url, {"task": trained_task["id"]}, format="json").status_code == 200  # queued, not run
    second = api.patch(url, {"task": trained_task["id"], "version": 1}, format="json")
    assert second.status_code == 409 and Reembedding.objects.count() == 1
    job = Reembedding.objects.get()
    reembedding.run(job_id=str(job.id))
    reembedding.run(job_id=str(job.id))  # a redelivered message does nothing
    job.refresh_from_db()
    assert job.state == "succeeded" and Collection.objects.get(id=shop["id"]).dimension == 32
    back = api.patch(url, {"task": None}, format="json")  # and back to the generic descriptor
    assert back.status_code == 200 and back.json()["reembedding"]["version"] is None


def test_an_emptied_collection_changes_embedder_at_once(api, trained_task) -> None:
    shop = api.post(COLLECTIONS, {"key": "shop"}, format="json").json()
    insert(api, "shop", views(range(2), 80))
    api.post(f"{SEARCH}/delete", {"records": [{"_id": "0"}, {"_id": "1"}]}, format="json", HTTP_COLLECTION_ID="shop")
    changed = api.patch(f"{COLLECTIONS}/{shop['id']}", {"task": trained_task["id"]}, format="json").json()
    assert changed["task"] == trained_task["id"] and changed["dimension"] is None and changed["reembedding"] is None
    assert len(insert(api, "shop", views(range(2), 81))["records"]) == 2
    assert api.get(f"{COLLECTIONS}/{shop['id']}").json()["dimension"] == 32


def test_following_collections_move_to_each_deployed_version(
    api, trained_task, django_capture_on_commit_callbacks
) -> None:
    task_url = f"{TASKS}/{trained_task['id']}"
    follow = api.post(COLLECTIONS, {"key": "follow", "task": trained_task["id"]}, format="json").json()
    pinned = api.post(COLLECTIONS, {"key": "pinned", "task": trained_task["id"], "version": 1}, format="json").json()
    assert follow["follow_production"] is True and pinned["follow_production"] is False
    for key in ("follow", "pinned"):
        insert(api, key, views(range(3), 80))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{task_url}/train").status_code == 202
    if api.get(task_url).json()["production_version"] != 2:  # not deployed by itself: deploy by hand
        with django_capture_on_commit_callbacks(execute=True):
            assert api.patch(task_url, {"production_version": 2}, format="json").status_code == 200

    moved = api.get(f"{COLLECTIONS}/{follow['id']}").json()
    assert moved["version"] == 2 and moved["reembedding"]["state"] == "succeeded"
    assert moved["reembedding"]["version"] == 2 and moved["reembedding"]["done"] == 3
    stayed = api.get(f"{COLLECTIONS}/{pinned['id']}").json()
    assert stayed["version"] == 1 and stayed["reembedding"] is None

    with django_capture_on_commit_callbacks(execute=True):  # back to production, then following it
        assert api.patch(task_url, {"production_version": 1}, format="json").status_code == 200
    assert api.get(f"{COLLECTIONS}/{follow['id']}").json()["version"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"{COLLECTIONS}/{pinned['id']}", {"version": 2}, format="json")  # an explicit move, still pinned
    assert api.get(f"{COLLECTIONS}/{pinned['id']}").json()["version"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        following = api.patch(f"{COLLECTIONS}/{pinned['id']}", {"follow_production": True}, format="json")
    assert following.status_code == 200
    detail = api.get(f"{COLLECTIONS}/{pinned['id']}").json()
    assert detail["follow_production"] is True and detail["version"] == 1  # moved back to production


def test_a_collection_that_cannot_follow_says_why(api, trained_task, django_capture_on_commit_callbacks) -> None:
    typed = api.post(COLLECTIONS, {"key": "typed", "task": trained_task["id"]}, format="json").json()
    insert(api, "typed", [{"_id": "v", "_descriptor": [0.5] * 32}])
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{TASKS}/{trained_task['id']}/train").status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"{TASKS}/{trained_task['id']}", {"production_version": 2}, format="json")
    detail = api.get(f"{COLLECTIONS}/{typed['id']}").json()
    assert detail["version"] == 1 and detail["reembedding"]["state"] == "failed"
    assert "_descriptor" in detail["reembedding"]["error"]
