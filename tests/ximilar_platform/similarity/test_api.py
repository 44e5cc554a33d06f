"""Similarity types, tasks and groups over HTTP and through the official client (the group traps)."""

from __future__ import annotations

import pytest
from ximilar.client import CustomSimilarityClient

from tests.factories import image_base64
from ximilar_platform.similarity.models import SimilarityGroup

TYPES = "/similarity/training/v2/type"
TASKS = "/similarity/training/v2/task"
GROUPS = "/similarity/training/v2/group"
IMAGES = "/recognition/v2/training-image"


def upload(api, index: int) -> dict:
    response = api.post(IMAGES, {"base64": image_base64((index, 40, 200 - index), (30, 20))}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def kind(api) -> dict:
    return api.post(TYPES, {"name": "product"}, format="json").json()


def group(api, kind: dict, name: str = "shirt", **extra) -> dict:
    response = api.post(GROUPS, {"name": name, "description": "", "type": kind["id"], **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_group_json_avoids_the_client_traps(api, kind, alice) -> None:
    created = group(api, kind, meta_data={"sku": "A1"})
    assert created["images"] == [] and created["groups"] == [] and created["detection_objects"] == []
    assert created["type"]["workspace"] == str(alice.workspace.id) and created["meta_data"] == {"sku": "A1"}
    detail = api.get(f"{GROUPS}/{created['id']}").json()
    assert set(detail) >= {
        "id",
        "name",
        "description",
        "type",
        "meta_data",
        "test_group",
        "images",
        "groups",
        "detection_objects",
    }


def test_a_group_holds_images_or_groups_never_both(api, kind) -> None:
    leaf, parent = group(api, kind, "leaf"), group(api, kind, "parent")
    image = upload(api, 1)
    assert api.post(f"{GROUPS}/{leaf['id']}/add-images", {"images": [image["id"]]}, format="json").status_code == 200
    both = api.post(f"{GROUPS}/{leaf['id']}/add-groups", {"groups": [parent["id"]]}, format="json")
    assert both.status_code == 400 and "not both" in str(both.json())
    assert api.post(f"{GROUPS}/{parent['id']}/add-groups", {"groups": [leaf["id"]]}, format="json").status_code == 200
    images_into_parent = api.post(f"{GROUPS}/{parent['id']}/add-images", {"images": [image["id"]]}, format="json")
    assert images_into_parent.status_code == 400
    top = group(api, kind, "top")
    api.post(f"{GROUPS}/{top['id']}/add-groups", {"groups": [parent["id"]]}, format="json")
    cycle = api.post(f"{GROUPS}/{leaf['id']}/add-groups", {"groups": [top["id"]]}, format="json")
    assert cycle.status_code == 400
    self_loop = api.post(f"{GROUPS}/{top['id']}/add-groups", {"groups": [top["id"]]}, format="json")
    assert self_loop.status_code == 400
    detail = api.get(f"{GROUPS}/{parent['id']}").json()
    assert [child["id"] for child in detail["groups"]] == [leaf["id"]] and "type" in detail["groups"][0]
    assert api.get(f"{GROUPS}?group={leaf['id']}").json()["count"] == 1
    assert api.get(f"{GROUPS}?image={image['id']}").json()["count"] == 1
    assert api.get(f"{GROUPS}?empty=true").json()["count"] == 0


def test_members_must_exist_in_the_groups_workspace(api, bob, kind) -> None:
    target = group(api, kind)
    foreign = upload(bob.client, 2)
    response = api.post(f"{GROUPS}/{target['id']}/add-images", {"images": [foreign["id"]]}, format="json")
    assert response.status_code == 400 and foreign["id"] in str(response.json())
    assert api.post(f"{GROUPS}/{target['id']}/add-images", {"images": ["nonsense"]}, format="json").status_code == 400
    assert api.post(f"{GROUPS}/{target['id']}/add-images", {"images": []}, format="json").status_code == 400
    assert bob.client.get(f"{GROUPS}/{target['id']}").status_code == 404
    bob_type = bob.client.post(TYPES, {"name": "mine"}, format="json").json()
    assert api.post(GROUPS, {"name": "x", "type": bob_type["id"]}, format="json").status_code == 404
    assert not SimilarityGroup.objects.get(id=target["id"]).images.exists()


def test_tasks_take_types_and_refuse_to_train_without_enough_groups(api, kind) -> None:
    task = api.post(TASKS, {"name": "products"}, format="json").json()
    assert task["production_version"] == -1 and task["types"] == []
    no_type = api.post(f"{TASKS}/{task['id']}/train")
    assert no_type.status_code == 400 and "type" in no_type.json()["detail"]
    typed = api.post(f"{TASKS}/{task['id']}/add-type", {"type_id": kind["id"]}, format="json").json()
    assert [t["id"] for t in typed["types"]] == [kind["id"]]
    few = api.post(f"{TASKS}/{task['id']}/train")
    assert few.status_code == 400 and "at least 4 groups" in few.json()["detail"]
    assert api.post(f"{TASKS}/{task['id']}/remove-type", {"type_id": kind["id"]}, format="json").json()["types"] == []
    untrained = api.post(
        "/similarity/training/v2/descriptor",
        {"task_id": task["id"], "version": None, "records": [{"_url": "x"}]},
        format="json",
    )
    assert untrained.status_code == 400 and untrained.json()["status"]["code"] == 400


def test_official_client_types_groups_and_test_marks(live_server, alice) -> None:
    client = CustomSimilarityClient(token=alice.token, endpoint=live_server.url + "/")
    product, _ = client.create_type("product")
    other, _ = client.create_type("style")
    task, _ = client.create_task("products")
    task.add_type(product.id)
    shirt, _ = client.create_group("shirt", "a shirt", product.id, meta_data={"sku": "A1"})
    images, _ = client.upload_images(
        [{"_base64": image_base64((i, 9, 9)).encode(), "noresize": True} for i in range(3)]
    )
    shirt.add_images([image.id for image in images], refresh=True)  # without it the client keeps its empty list
    assert sorted(i.id for i in shirt.get_images()) == sorted(i.id for i in images)
    line, _ = client.create_group("line", "", product.id)
    line.add_groups([shirt.id], refresh=True)
    assert [g.id for g in line.get_groups()] == [shirt.id]
    fetched, _ = client.get_group(shirt.id)
    assert fetched.get_meta_data() == {"sku": "A1"} and fetched.objects == []
    fetched.add_meta_data({"colour": "red"})
    assert client.get_group(shirt.id)[0].meta_data == {"sku": "A1", "colour": "red"}
    fetched.update_stype(other.id)
    again, _ = client.get_group(shirt.id)
    assert again.type["id"] == other.id and again.name == "shirt"
    again.set_test(True)
    assert client.get_group(shirt.id)[0].test_group is True
    tests, _ = client.get_all_groups(test=True)
    assert [g.id for g in tests] == [shirt.id]
    again.remove_images([images[0].id])
    assert len(client.get_group(shirt.id)[0].images) == 2
    assert [t.id for t in client.get_all_types()[0]] == [product.id, other.id]
