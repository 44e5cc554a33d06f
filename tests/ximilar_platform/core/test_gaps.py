"""The smaller holes of issue 12 (item 10), each closed: answers that leaked or 500ed, data left behind."""

from __future__ import annotations

from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tests.factories import image_base64
from ximilar_platform.accounts.services import create_workspace
from ximilar_platform.collections.models import Collection
from ximilar_platform.core.management.commands.serve import Command as Serve
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import Task
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob

COLLECTIONS = "/similarity/training/v2/collection"
IMAGES = "/recognition/v2/training-image"


def test_moving_an_object_to_another_workspaces_image_rechecks_its_label(api, alice) -> None:
    other = create_workspace(user=alice.user, name="other")
    task = api.post("/detection/v2/task", {"name": "cars"}, format="json").json()
    label = api.post("/detection/v2/label", {"name": "car"}, format="json").json()
    api.post(f"/detection/v2/task/{task['id']}/add-label", {"label_id": label["id"]}, format="json")
    here = api.post(IMAGES, {"base64": image_base64((1, 2, 3))}, format="json").json()
    there = api.post(f"{IMAGES}?workspace={other.id}", {"base64": image_base64((3, 2, 1))}, format="json").json()
    obj = api.post(
        "/detection/v2/object",
        {"image": here["id"], "detection_label": label["id"], "data": [1, 1, 5, 5]},
        format="json",
    ).json()
    moved = api.patch(f"/detection/v2/object/{obj['id']}", {"image": there["id"]}, format="json")
    assert moved.status_code == 404 and "label" in moved.json()["detail"].lower()
    assert str(DetectionObject.objects.get().image_id) == here["id"]


def test_collection_keys_stay_unique_and_foreign_tasks_read_like_missing_ones(api, bob) -> None:
    first = api.post(COLLECTIONS, {"key": "shop"}, format="json").json()
    second = api.post(COLLECTIONS, {"key": "outlet"}, format="json").json()
    assert api.post(COLLECTIONS, {"key": "shop"}, format="json").status_code == 409
    taken = api.patch(f"{COLLECTIONS}/{second['id']}", {"key": "shop"}, format="json")
    assert taken.status_code == 409 and Collection.objects.get(id=second["id"]).key == "outlet"
    assert api.patch(f"{COLLECTIONS}/{first['id']}", {"key": "shop"}, format="json").status_code == 200
    foreign = SimilarityTask.objects.create(workspace=bob.workspace, name="theirs")
    answers = []
    for task_id in (foreign.id, "6f1c9a8e-0000-4000-8000-000000000000"):
        answer = api.patch(f"{COLLECTIONS}/{first['id']}", {"task": str(task_id)}, format="json")
        answers.append((answer.status_code, answer.json()["detail"].replace(str(task_id), "<id>")))
    assert answers[0] == answers[1] and answers[0][0] == 400, answers


def test_an_upload_takes_labels_by_id_or_refuses_them_and_stores_nothing(api, bob) -> None:
    cat = api.post("/recognition/v2/label", {"name": "cat"}, format="json").json()
    made = api.post(IMAGES, {"base64": image_base64((5, 5, 5)), "labels": [cat["id"]]}, format="json")
    assert made.status_code == 201 and [label["name"] for label in made.json()["labels"]] == ["cat"]
    theirs = bob.client.post("/recognition/v2/label", {"name": "dog"}, format="json").json()
    refused = api.post(IMAGES, {"base64": image_base64((6, 6, 6)), "labels": [theirs["id"]]}, format="json")
    assert refused.status_code in (400, 404) and TrainingImage.objects.count() == 1


def test_deleting_a_task_deletes_its_versions_jobs_and_files(api, alice, django_capture_on_commit_callbacks) -> None:
    task = Task.objects.create(workspace=alice.workspace, name="gone")
    name = default_storage.save(f"models/{task.id}/model.onnx", ContentFile(b"weights"))
    version = ModelVersion.objects.create(
        workspace=alice.workspace,
        task_id=task.id,
        version=1,
        arch="resnet18",
        artifact=f"models/{task.id}",
        files=[name],
    )
    TrainingJob.objects.create(workspace=alice.workspace, task_id=task.id, state="succeeded", version=version)
    kept = Task.objects.create(workspace=alice.workspace, name="kept")
    ModelVersion.objects.create(workspace=alice.workspace, task_id=kept.id, version=1, arch="resnet18", artifact="x")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/recognition/v2/task/{task.id}").status_code == 204
    assert not ModelVersion.objects.filter(task_id=task.id).exists()
    assert not TrainingJob.objects.filter(task_id=task.id).exists()
    assert ModelVersion.objects.filter(task_id=kept.id).exists()
    assert not Path(default_storage.path(name)).exists(), "the files go once the deletion commits"


def test_make_run_listens_on_loopback_only_by_default() -> None:
    command = Serve().server_command()
    binds = [command[i + 1] for i, arg in enumerate(command) if arg == "--bind"]
    assert binds and all(bind.startswith(("127.0.0.1:", "[::1]:")) for bind in binds), binds
