"""A similarity task trains through the job lifecycle (jobs inline) and serves descriptors."""

from __future__ import annotations

import numpy as np

from tests.factories import item_view_base64
from ximilar_platform.training_jobs.models import ModelVersion

GROUPS = "/similarity/training/v2/group"
TASKS = "/similarity/training/v2/task"
DESCRIPTOR = "/similarity/training/v2/descriptor"


def test_similarity_task_trains_and_describes(api, trained_task) -> None:
    task = trained_task
    assert task["production_version"] == 1 and task["last_train_status"] == "TRAINED"
    version = ModelVersion.objects.get()
    assert {"precision_at_1", "baseline"} <= set(version.metrics)
    records = [{"_base64": item_view_base64(item, 50 + view)} for item in (0, 1) for view in range(2)]
    result = api.post(
        DESCRIPTOR, {"task_id": task["id"], "version": None, "records": records + [{"_url": "x"}]}, format="json"
    ).json()
    assert result["status"]["code"] == 200 and result["version"] == 1
    assert result["records"][-1]["_status"]["code"] == 400
    vectors = np.array([record["_descriptor"] for record in result["records"][:4]])
    assert vectors.shape == (4, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
    similarity = vectors @ vectors.T
    same = (similarity[0, 1] + similarity[2, 3]) / 2
    different = (similarity[0, 2] + similarity[0, 3] + similarity[1, 2] + similarity[1, 3]) / 4
    assert same > different  # views of one item are nearer than views of another (on average)

    # a collection bound to the task embeds its images with the trained model
    collection = api.post(
        "/similarity/training/v2/collection", {"key": "items", "task": task["id"]}, format="json"
    ).json()
    assert api.post("/similarity/training/v2/collection", {"key": "items"}, format="json").status_code == 409
    inserted = api.post(
        "/similarity/custom/v2/insert",
        {
            "records": [
                {"_id": f"{item}-{view}", "_base64": item_view_base64(item, 60 + view)}
                for item in range(3)
                for view in range(2)
            ]
        },
        format="json",
        HTTP_COLLECTION_ID="items",
    ).json()
    assert len(inserted["records"]) == 6
    detail = api.get(f"/similarity/training/v2/collection/{collection['id']}").json()
    assert detail["dimension"] == 32 and detail["records_count"] == 6 and detail["version"] == 1  # pinned
    hits = api.post(
        "/similarity/custom/v2/visualKNN",
        {"query_record": {"_id": "1-0"}, "k": 2},
        format="json",
        HTTP_COLLECTION_ID="items",
    ).json()
    assert hits["answer_records"][0]["_id"] == "1-0" and hits["answer_distances"][0] < 1e-4
    assert len(hits["answer_records"]) == 2 and hits["answer_distances"][1] >= hits["answer_distances"][0]
    change = api.patch(f"/similarity/training/v2/collection/{collection['id']}", {"task": None}, format="json")
    assert change.status_code == 200 and change.json()["task"] == task["id"]  # moves later: test_reembedding.py
    assert change.json()["reembedding"]["state"] == "pending"


def test_official_client_gets_descriptors_of_a_trained_task(live_server, alice, api) -> None:
    from ximilar.client import CustomSimilarityClient

    kind = api.post("/similarity/training/v2/type", {"name": "item"}, format="json").json()
    task = api.post(TASKS, {"name": "items"}, format="json").json()
    api.post(f"{TASKS}/{task['id']}/add-type", {"type_id": kind["id"]}, format="json")
    for item in range(5):
        group = api.post(GROUPS, {"name": f"item {item}", "type": kind["id"]}, format="json").json()
        ids = [
            api.post("/recognition/v2/training-image", {"base64": item_view_base64(item, view)}, format="json").json()[
                "id"
            ]
            for view in range(3)
        ]
        api.post(f"{GROUPS}/{group['id']}/add-images", {"images": ids}, format="json")
    client = CustomSimilarityClient(token=alice.token, endpoint=live_server.url + "/")
    assert client.post(f"similarity/training/v2/task/{task['id']}/train")["status"] == "WAITING"  # jobs run inline
    assert client.get(f"similarity/training/v2/task/{task['id']}")["production_version"] == 1
    result = client.descriptor([{"_base64": item_view_base64(0, 70), "noresize": True}], task["id"])
    assert len(result["records"][0]["_descriptor"]) == 32 and result["version"] == 1
