"""Training through the API with jobs run inline, then versions and classify."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import colour_image_base64
from ximilar_platform.core.jobs import sweep_jobs
from ximilar_platform.training_jobs import runner
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob

TASKS = "/recognition/v2/task"
LABELS = "/recognition/v2/label"
IMAGES = "/recognition/v2/training-image"
CLASSIFY = "/recognition/v2/classify"


@pytest.fixture(autouse=True)
def quick_training(settings) -> None:
    settings.TRAINING_MIN_IMAGES_PER_LABEL = 4
    settings.TRAINING_ARCH = "resnet18"
    settings.TRAINING_IMAGE_SIZE = 32
    settings.TRAINING_EPOCHS = 6
    settings.TRAINING_HEARTBEAT_SECONDS = 3600  # the test transaction holds SQLite's write lock


def make_task(api, task_type: str, labels: dict[str, str], per_label: int = 12) -> tuple[dict, dict[str, dict]]:
    """A task with a label per colour, each on ``per_label`` images of that colour."""
    label_type = {"multi_class": "category", "multi_label": "tag", "regression": "value"}[task_type]
    task = api.post(TASKS, {"name": "colours", "type": task_type}, format="json").json()
    created = {}
    for name, colour in labels.items():
        label = api.post(LABELS, {"name": name, "type": label_type}, format="json").json()
        api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": label["id"]}, format="json")
        created[name] = label
        for index in range(per_label):
            image = api.post(IMAGES, {"base64": colour_image_base64(index, colour)}, format="json").json()
            value = {"value": index} if label_type == "value" else {}
            api.post(f"{IMAGES}/{image['id']}/add-label", {"label_id": label["id"], **value}, format="json")
    return task, created


def train(api, task: dict, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{TASKS}/{task['id']}/train")
    assert response.status_code == 202, response.json()
    return response.json()


def classify(api, task: dict, colours: list[str], **extra) -> dict:
    records = [{"_base64": colour_image_base64(100 + i, colour), "_id": str(i)} for i, colour in enumerate(colours)]
    return api.post(CLASSIFY, {"task_id": task["id"], "records": records, **extra}, format="json").json()


def test_train_refuses_tasks_that_break_the_data_rules(api, settings) -> None:
    task, labels = make_task(api, "multi_class", {"red": "red"}, per_label=2)
    response = api.post(f"{TASKS}/{task['id']}/train")
    assert response.status_code == 400 and "at least 2 category labels" in response.json()["detail"]
    blue = api.post(LABELS, {"name": "blue"}, format="json").json()
    api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": blue["id"]}, format="json")
    response = api.post(f"{TASKS}/{task['id']}/train")
    assert response.status_code == 400 and "'red' (2)" in response.json()["detail"]
    assert not TrainingJob.objects.exists() and api.get(f"{TASKS}/{task['id']}").json()["last_train_status"] == (
        "NOT_TRAINED"
    )


def test_training_a_categorizer_creates_a_version_that_classifies(api, django_capture_on_commit_callbacks) -> None:
    task, labels = make_task(api, "multi_class", {"red": "red", "blue": "blue"})
    answer = train(api, task, django_capture_on_commit_callbacks)
    assert answer["status"] == "WAITING" and answer["job"]["state"] == "pending"
    trained = api.get(f"{TASKS}/{task['id']}").json()
    assert trained["production_version"] == 1 and trained["last_train_status"] == "TRAINED"
    job = api.get(f"/recognition/v2/training-job?task={task['id']}").json()["results"][0]
    assert job["state"] == "succeeded" and job["version"] == 1 and job["progress"]["epoch"] >= 1
    model = api.get(f"/recognition/v2/model/?task={task['id']}").json()["results"][0]
    assert model["version"] == 1 and model["task_name"] == "colours" and model["train_status"] == "TRAINED"
    assert model["metrics"]["accuracy"] >= 0.8 and "confusion_matrix" in model["metrics"]
    assert model["data_size"] == 24 and model["production"] and model["image_size"] == 32

    result = classify(api, task, ["red", "blue", "red"])
    assert result["status"]["code"] == 200 and result["version"] == 1 and result["task_id"] == task["id"]
    best = [record["best_label"]["name"] for record in result["records"]]
    assert best == ["red", "blue", "red"]
    record = result["records"][0]
    assert record["_id"] == "0" and "_base64" not in record and (record["_width"], record["_height"]) == (32, 32)
    assert record["_status"]["code"] == 200 and len(record["labels"]) == 2
    assert record["labels"][0]["prob"] >= record["labels"][1]["prob"]
    assert abs(sum(label["prob"] for label in record["labels"]) - 1) < 1e-3


def test_classify_errors_answer_in_the_envelope(api, django_capture_on_commit_callbacks, settings) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    untrained = classify(api, task, ["red"])
    assert untrained["status"]["code"] == 400 and untrained["status"]["text"] == "Task has no trained model."
    train(api, task, django_capture_on_commit_callbacks)
    assert classify(api, task, ["red"], version=7)["status"]["code"] == 404
    assert classify(api, task, ["red"] * 11)["status"]["code"] == 400
    unknown = api.post(
        CLASSIFY, {"task_id": "7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e", "records": [{"_url": "x"}]}, format="json"
    )
    assert unknown.status_code == 404 and unknown.json()["status"]["code"] == 404
    records = [{"_base64": "not base64!"}, {"_base64": colour_image_base64(1, "red")}, {"_id": "nothing"}]
    mixed = api.post(CLASSIFY, {"task": task["id"], "records": records}, format="json").json()
    assert mixed["status"]["code"] == 200
    assert [r["_status"]["code"] for r in mixed["records"]] == [400, 200, 400]
    assert "best_label" in mixed["records"][1] and "best_label" not in mixed["records"][0]


def test_classify_finds_only_the_users_tasks_and_honours_a_named_workspace(
    api, alice, bob, django_capture_on_commit_callbacks
) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    train(api, task, django_capture_on_commit_callbacks)
    records = [{"_base64": colour_image_base64(1, "red")}]
    assert classify(api, task, ["red"], workspace=str(alice.workspace.id))["status"]["code"] == 200
    assert classify(api, task, ["red"], workspace="Default")["status"]["code"] == 200
    other = api.post("/account/v2/workspace", {"name": "other"}, format="json").json()
    assert classify(api, task, ["red"], workspace=other["id"])["status"]["code"] == 404
    assert classify(api, task, ["red"], workspace=str(bob.workspace.id))["status"]["code"] == 404
    stolen = bob.client.post(CLASSIFY, {"task_id": task["id"], "records": records}, format="json")
    assert stolen.status_code == 404 and stolen.json()["detail"] == "Task not found."


def test_store_images_keeps_the_records_as_training_images(api, django_capture_on_commit_callbacks) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    train(api, task, django_capture_on_commit_callbacks)
    before = api.get(IMAGES).json()["count"]
    result = classify(api, task, ["red", "blue"], store_images=True)
    stored = [record["_stored_image_id"] for record in result["records"]]
    assert api.get(IMAGES).json()["count"] == before + 2
    assert all(api.get(f"{IMAGES}/{image_id}").status_code == 200 for image_id in stored)


def test_retraining_deploys_a_version_that_is_not_worse(api, django_capture_on_commit_callbacks) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    train(api, task, django_capture_on_commit_callbacks)
    train(api, task, django_capture_on_commit_callbacks)
    assert api.get(f"{TASKS}/{task['id']}").json()["production_version"] == 2  # as accurate: deployed
    ModelVersion.objects.filter(version=2).update(metrics={"accuracy": 1.5})  # unbeatable
    train(api, task, django_capture_on_commit_callbacks)
    trained = api.get(f"{TASKS}/{task['id']}").json()
    assert trained["production_version"] == 2 and trained["last_train_status"] == "TRAINED"
    assert classify(api, task, ["red"])["version"] == 2 and classify(api, task, ["red"], version=3)["version"] == 3


def test_versions_can_be_deployed_and_deleted(api, django_capture_on_commit_callbacks) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    train(api, task, django_capture_on_commit_callbacks)
    train(api, task, django_capture_on_commit_callbacks)
    versions = {m["version"]: m for m in api.get(f"/recognition/v2/model?task={task['id']}").json()["results"]}
    assert set(versions) == {1, 2}
    assert api.patch(f"{TASKS}/{task['id']}", {"production_version": 5}, format="json").status_code == 400
    assert (
        api.patch(f"{TASKS}/{task['id']}", {"production_version": 1}, format="json").json()["production_version"] == 1
    )
    assert classify(api, task, ["red"])["version"] == 1
    assert api.delete(f"/recognition/v2/model/{versions[1]['id']}/").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/recognition/v2/model/{versions[2]['id']}/").status_code == 204
    assert list(ModelVersion.objects.values_list("version", flat=True)) == [1]
    assert api.get(f"/recognition/v2/model/{versions[1]['id']}").json()["task"] == task["id"]


def test_a_second_training_while_one_is_waiting_answers_409(api) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    assert api.post(f"{TASKS}/{task['id']}/train").status_code == 202  # not committed: stays pending
    response = api.post(f"{TASKS}/{task['id']}/train")
    assert response.status_code == 409 and TrainingJob.objects.count() == 1


def test_a_job_the_broker_cannot_take_fails_instead_of_waiting_forever(
    api, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    from kombu.exceptions import OperationalError

    from ximilar_platform.core.jobs import run_job

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(run_job, "apply_async", unreachable)
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    train(api, task, django_capture_on_commit_callbacks)
    job = TrainingJob.objects.get()
    assert job.state == "failed" and "could not be queued" in job.error
    assert api.get(f"{TASKS}/{task['id']}").json()["last_train_status"] == "FAILED"
    assert api.post(f"{TASKS}/{task['id']}/train").status_code == 202  # nothing blocks a retry


def test_a_failed_training_keeps_the_previous_version_serving(
    api, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    train(api, task, django_capture_on_commit_callbacks)
    import training.classification

    def broken(*args, **kwargs):
        raise RuntimeError("GPU on fire")

    monkeypatch.setattr(training.classification, "train", broken)
    train(api, task, django_capture_on_commit_callbacks)
    trained = api.get(f"{TASKS}/{task['id']}").json()
    assert trained["last_train_status"] == "FAILED" and trained["production_version"] == 1
    job = TrainingJob.objects.order_by("-created").first()
    assert job.state == "failed" and "GPU on fire" in job.error
    assert classify(api, task, ["red"])["status"]["code"] == 200


def test_a_redelivered_job_message_does_not_train_twice(api, django_capture_on_commit_callbacks) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    train(api, task, django_capture_on_commit_callbacks)
    job = TrainingJob.objects.get()
    runner.run_training_job(job_id=str(job.id))
    assert ModelVersion.objects.count() == 1


def test_the_sweep_fails_a_job_whose_worker_died_on_its_last_attempt(api, alice, settings) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    job = TrainingJob.objects.create(
        workspace=alice.workspace,
        task_id=task["id"],
        state="running",
        attempt=settings.JOB_MAX_ATTEMPTS,
        heartbeat=timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER + 1),
    )
    alive = TrainingJob.objects.create(
        workspace=alice.workspace, task_id=uuid.uuid4(), state="running", heartbeat=timezone.now()
    )
    assert api.get(f"{TASKS}/{task['id']}").json()["last_train_status"] == "IN_TRAINING"  # reads change nothing
    assert sweep_jobs() == 1
    assert api.get(f"{TASKS}/{task['id']}").json()["last_train_status"] == "FAILED"
    job.refresh_from_db()
    alive.refresh_from_db()
    assert job.state == "failed" and "stopped responding" in job.error and "Gave up after 2 runs" in job.error
    assert alive.state == "running"
    assert api.post(f"{TASKS}/{task['id']}/train").status_code == 202


def test_training_again_fails_the_task_job_whose_worker_died(api, alice, settings) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    TrainingJob.objects.create(
        workspace=alice.workspace,
        task_id=task["id"],
        state="running",
        heartbeat=timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER + 1),
    )
    assert api.post(f"{TASKS}/{task['id']}/train").status_code == 202
    assert list(TrainingJob.objects.order_by("created").values_list("state", flat=True)) == ["failed", "pending"]


def test_tagging_task_trains_and_returns_passing_tags(api, django_capture_on_commit_callbacks, settings) -> None:
    settings.TRAINING_EPOCHS = 15
    task, labels = make_task(api, "multi_label", {"reddish": "red", "bluish": "blue"})
    train(api, task, django_capture_on_commit_callbacks)
    metrics = api.get(f"/recognition/v2/model?task={task['id']}").json()["results"][0]["metrics"]
    assert metrics["micro_f1"] > 0.7 and set(metrics["per_label"]) == {labels["reddish"]["id"], labels["bluish"]["id"]}
    record = classify(api, task, ["red"])["records"][0]
    assert record["best_label"]["name"] == "reddish"
    assert [label["name"] for label in record["labels"]] == ["reddish"]


def test_regression_task_predicts_values(api, django_capture_on_commit_callbacks) -> None:
    task, labels = make_task(api, "regression", {"size": "red"})
    train(api, task, django_capture_on_commit_callbacks)
    metrics = api.get(f"/recognition/v2/model?task={task['id']}").json()["results"][0]["metrics"]
    assert {"mae", "rmse", "r2"} <= set(metrics)
    record = classify(api, task, ["red"])["records"][0]
    assert record["best_label"]["id"] == labels["size"]["id"] and isinstance(record["best_label"]["value"], float)
