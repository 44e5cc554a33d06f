"""Search collections through the official SimilarityCustomClient and over plain HTTP."""

from __future__ import annotations

import numpy as np
import pytest
from ximilar.client import SimilarityCustomClient

from tests.factories import item_view_base64
from ximilar_platform.collections.models import CollectionRecord

SEARCH = "/similarity/custom/v2"


def unit(seed: int, dimension: int = 8) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=dimension)
    return [round(float(v), 6) for v in vector / np.linalg.norm(vector)]


@pytest.fixture
def client(live_server, alice) -> SimilarityCustomClient:
    return SimilarityCustomClient(
        token=alice.token, collection_id="shop", endpoint=live_server.url + "/similarity/custom/v2/"
    )


def test_insert_search_filter_update_get_iterate_and_delete(client) -> None:
    records = [
        {"_id": f"r{i}", "_descriptor": unit(i), "price": i * 10, "colour": "red" if i % 2 else "blue"}
        for i in range(12)
    ]
    inserted = client.insert(records)
    assert inserted["status"]["code"] == 200 and len(inserted["records"]) == 12 and inserted["skipped_records"] == []
    assert client.ping()["status"]["code"] == 200

    found = client.search({"_id": "r3"}, k=4, fields_to_return=["_id", "price"])
    assert found["answer_records"][0] == {"_id": "r3", "price": 30} and found["answer_distances"][0] < 1e-5
    assert found["answer_distances"] == sorted(found["answer_distances"]) and found["answer_count"] == 4
    expected = np.argsort(-(np.array([unit(i) for i in range(12)]) @ np.array(unit(3))))[:4]
    assert [r["_id"] for r in found["answer_records"]] == [f"r{i}" for i in expected]

    cheap_red = client.search(
        {"_id": "r3"},
        k=10,
        fields_to_return=["_id", "colour", "price"],
        filter={"$and": [{"colour": "red"}, {"price": {"$lte": 50}}]},
    )
    assert {r["_id"] for r in cheap_red["answer_records"]} == {"r1", "r3", "r5"}
    either = client.search({"_id": "r0"}, k=20, filter={"$or": [{"price": {"$in": [0, 110]}}, {"price": {"$gt": 100}}]})
    assert {r["_id"] for r in either["answer_records"]} == {"r0", "r11"}

    ranked = client.search_and_rank({"_id": "r0"}, [{"_id": "r5"}, {"_id": "r0"}])
    assert [r["_id"] for r in ranked["answer_records"]] == ["r0", "r5"]
    assert len(client.random(count=3)["answer_records"]) == 3

    client.update([{"_id": "r1", "price": 999}, {"_id": "nope", "price": 1}])
    assert client.get_records([{"_id": "r1"}], fields_to_return=["price"])["answer_records"] == [
        {"_id": "r1", "price": 999}
    ]
    pages = list(client.all_records_iter(batch_size=5))
    assert len(pages) == 12 and len({r["_id"] for r in pages}) == 12
    assert client.get_all_ids()["answer_count"] == 12

    deleted = client.remove([{"_id": "r2"}, {"_id": "missing"}])
    assert deleted["records"] == [{"_id": "r2"}] and deleted["skipped_records"][0]["_reason"]["status"]["code"] == 404
    assert "r2" not in {r["_id"] for r in client.search({"_id": "r3"}, k=20)["answer_records"]}


def test_images_are_embedded_and_bad_inputs_answer_clearly(client, api, bob) -> None:
    pictures = [
        {"_id": f"item{i}-{view}", "_base64": item_view_base64(i, view), "noresize": True}
        for i in range(3)
        for view in range(2)
    ]
    broken = api.post(
        f"{SEARCH}/insert",
        {"records": pictures[:1] + [{"_id": "raw", "_base64": "not an image"}]},
        format="json",
        HTTP_COLLECTION_ID="shop",
    ).json()  # the client would refuse to send it
    assert broken["records"] == [{"_id": "item0-0"}]
    assert broken["skipped_records"][0]["_reason"]["status"]["code"] == 400
    client.insert(pictures[1:])
    nearest = client.search({"_base64": item_view_base64(2, 9), "noresize": True}, k=2)
    assert nearest["answer_records"][0]["_id"].startswith("item2")
    assert len(np.frombuffer(bytes(CollectionRecord.objects.first().vector), dtype=np.float32)) == 1280

    wrong = client.insert([{"_id": "short", "_descriptor": [0.1, 0.2]}])
    assert "1280" in wrong["skipped_records"][0]["_reason"]["status"]["text"]
    unknown = client.search({"_id": "nobody"})
    assert unknown["status"]["code"] == 404
    malformed = client.search({"_id": "item0-0"}, filter={"price": {"$near": 3}})
    assert malformed["status"]["code"] == 400 and "$near" in str(malformed)
    other = bob.client.post(
        f"{SEARCH}/visualKNN", {"query_record": {"_id": "item0-0"}}, format="json", HTTP_COLLECTION_ID="shop"
    )
    assert other.status_code == 404
    assert api.post(f"{SEARCH}/visualKNN", {"query_record": {"_id": "x"}}, format="json").status_code == 400
    assert api.post(f"{SEARCH}/nonsense", {}, format="json", HTTP_COLLECTION_ID="shop").status_code == 404
    assert CollectionRecord.objects.count() == 6


def test_descriptors_by_a_collections_embedder(api, bob) -> None:
    pictures = [{"_id": f"item{i}", "_base64": item_view_base64(i, 0)} for i in range(2)]
    api.post(f"{SEARCH}/insert", {"records": pictures}, format="json", HTTP_COLLECTION_ID="shop")
    described = api.post(
        "/similarity/training/v2/descriptor",
        {"collection": "shop", "records": [{"_base64": item_view_base64(1, 0)}, {"_base64": "broken"}]},
        format="json",
    )
    assert described.status_code == 200, described.json()
    body = described.json()
    assert body["collection"] == "shop" and body["task_id"] is None and body["version"] is None
    assert body["records"][1]["_status"]["code"] == 400
    stored = np.frombuffer(bytes(CollectionRecord.objects.get(key="item1").vector), dtype=np.float32)
    assert np.allclose(body["records"][0]["_descriptor"], stored, atol=1e-4)  # comparable with the records
    for user in (api, bob.client):  # unknown, and another user's
        missing = user.post(
            "/similarity/training/v2/descriptor",
            {"collection": "shop" if user is bob.client else "nope", "records": pictures[:1]},
            format="json",
        )
        assert missing.status_code == 404


def test_a_failed_insert_keeps_no_image_copies(api, media_root, monkeypatch) -> None:
    from ximilar_platform.collections import services

    def broken(*args, **kwargs) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "save_records", broken)
    answer = api.post(
        f"{SEARCH}/insert",
        {"records": [{"_id": "a", "_base64": item_view_base64(0, 0)}]},
        format="json",
        HTTP_COLLECTION_ID="shop",
    )
    assert answer.status_code == 500 and answer.json()["error_id"]
    assert not [path for path in media_root.rglob("*") if path.is_file()]
    assert not CollectionRecord.objects.exists()
