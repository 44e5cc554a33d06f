"""Ximilar's own Python client, pointed at a live server (API_CONTRACT.md §0.1: a localhost endpoint)."""

from __future__ import annotations

import base64

import pytest
import requests
from ximilar.client import RecognitionClient

from tests.factories import image_bytes
from ximilar_platform.accounts.services import create_workspace
from ximilar_platform.images.models import TrainingImage


@pytest.fixture
def client(live_server, alice) -> RecognitionClient:
    assert "localhost" in live_server.url
    return RecognitionClient(token=alice.token, endpoint=live_server.url + "/")


def records(count: int, offset: int = 0, **extra) -> list[dict]:
    return [
        {"_base64": base64.b64encode(image_bytes(color=(i % 256, i // 256, 50))), "noresize": True, **extra}
        for i in range(offset, offset + count)
    ]


def test_client_creates_tasks_labels_and_pages_through_uploaded_images(client: RecognitionClient) -> None:
    task, status = client.create_task("animals", task_type="multi_class")
    assert status["status"] == "OK" and task.production_version == -1
    cat, _ = client.create_label("cat")
    dog, _ = client.create_label("dog", output_name="Dog")
    task.add_label(cat.id)
    task.add_label(dog.id)
    assert {label.name for label in task.get_labels()[0]} == {"cat", "dog"}

    images, status = client.upload_images(records(30, labels=[cat.id]))
    assert status["status"] == "OK" and len(images) == 30
    dog.upload_images(records(20, offset=30))
    assert TrainingImage.objects.count() == 50

    listed = list(client.training_images_iter())
    assert len(listed) == 50 and len({image.id for image in listed}) == 50
    first_page, next_page, info = client.get_training_images()
    assert info["count"] == 50 and next_page and len(first_page) == 20
    assert len(list(client.training_images_iter(page_url=None, test=False))) == 50
    dog_images, _, dog_info = dog.get_training_images()
    assert dog_info["count"] == 20
    assert client.get_label(cat.id)[0].get_images_count() == 30
    assert [label.name for label in listed[0].get_labels()[0]] in (["cat"], ["dog"])

    tasks, _ = client.get_all_tasks()
    assert [t.name for t in tasks] == ["animals"]
    labels, _ = client.get_all_labels()
    assert {label.name for label in labels} == {"cat", "dog"}
    assert client.get_labels_by_substring("do")[0][0].id == dog.id


def test_client_duplicate_upload_returns_the_existing_image(client: RecognitionClient) -> None:
    (first,), _ = client.upload_images(records(1))
    (again,), status = client.upload_images(records(1))
    assert again.id == first.id and status["status"] == "exists"


def test_client_image_labels_meta_data_test_flag_and_download(client: RecognitionClient) -> None:
    cat, _ = client.create_label("cat")
    (image,), _ = client.upload_images(records(1, meta_data={"sku": "A1"}))
    image.add_label(cat.id)
    assert [label.id for label in image.get_labels()[0]] == [cat.id]
    image.add_meta_data({"color": "red"})
    assert client.get_image(image.id)[0].meta_data == {"sku": "A1", "color": "red"}
    image.set_test(True)
    assert client.get_image(image.id)[0].test_image is True
    assert requests.get(image.img_path, timeout=10).status_code == 200  # no token needed
    image.detach_label(cat.id)
    assert client.get_image(image.id)[0].get_labels()[0] == []


def test_client_regression_values(client: RecognitionClient) -> None:
    task, _ = client.create_task("age", task_type="regression")
    age, _ = client.create_label("age", label_type="value")
    task.add_label(age.id)
    (image,), _ = client.upload_images(records(1, values={age.id: 7.5}))
    image.update_label(age.id, 9.0)
    found, _, info = age.get_training_images(value=9.0)
    assert info["count"] == 1 and found[0].id == image.id


def test_client_deletes(client: RecognitionClient) -> None:
    task, _ = client.create_task("t")
    label, _ = client.create_label("l")
    (image,), _ = client.upload_images(records(1))
    client.remove_image(image.id)
    client.remove_label(label.id)
    task.remove()
    assert client.get_all_tasks()[0] == [] and client.get_all_labels()[0] == []
    assert TrainingImage.objects.count() == 0
    missing, status = client.get_task(task.id)
    assert missing is None and "Not found" in status["status"]


def test_client_with_a_workspace_id_works_in_that_workspace(live_server, alice, bob) -> None:
    team = create_workspace(user=bob.user, name="team")
    team.members.add(alice.user)
    client = RecognitionClient(token=alice.token, endpoint=live_server.url + "/", workspace=str(team.id))
    task, _ = client.create_task("team task")
    assert task.workspace == str(team.id)
    label, _ = client.create_label("team label")
    task.add_label(label.id)
    client.upload_images(records(2, labels=[label.id]))
    assert TrainingImage.objects.filter(workspace=team).count() == 2
    assert len(list(client.training_images_iter())) == 2
    bob_client = RecognitionClient(token=bob.token, endpoint=live_server.url + "/", workspace=str(team.id))
    assert [t.name for t in bob_client.get_all_tasks()[0]] == ["team task"]
    default_client = RecognitionClient(token=alice.token, endpoint=live_server.url + "/")
    assert default_client.get_all_tasks()[0] == []
    assert default_client.get_user_details()["username"] == "alice"
