"""A categorization training publishes a quick first version, then the fine-tune, deployed only when not worse."""

from __future__ import annotations

import pytest

from tests.ximilar_platform.recognition.test_training import TASKS, classify, make_task, train
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob


@pytest.fixture(autouse=True)
def pretrained_training(settings) -> None:
    settings.TRAINING_MIN_IMAGES_PER_LABEL = 4
    settings.TRAINING_ARCH = "efficientnet_lite0"  # the quick head needs pretrained features
    settings.TRAINING_IMAGE_SIZE = 32
    settings.TRAINING_EPOCHS = 1
    settings.TRAINING_HEARTBEAT_SECONDS = 3600  # the test transaction holds SQLite's write lock
    settings.TRAINING_QUICK_FIRST_VERSION = True


def versions(task: dict) -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(task_id=task["id"]).order_by("version"))


def test_one_job_makes_a_quick_version_then_a_fine_tuned_one(api, django_capture_on_commit_callbacks) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=8)
    train(api, task, django_capture_on_commit_callbacks)
    quick, tuned = versions(task)
    assert (quick.version, quick.manifest["phase"], tuned.version, tuned.manifest["phase"]) == (
        1,
        "quick",
        2,
        "fine_tune",
    )
    assert quick.metrics["accuracy"] >= 0.8 and quick.metrics["validation_size"] == 4
    job = TrainingJob.objects.get(task_id=task["id"])
    assert job.state == "succeeded" and job.version == tuned and job.progress["phase"] == "fine_tune"
    production = api.get(f"{TASKS}/{task['id']}").json()["production_version"]
    assert production == (2 if tuned.metrics["accuracy"] >= quick.metrics["accuracy"] else 1)
    assert classify(api, task, ["red"], version=1)["records"][0]["best_label"]["name"] == "red"
    listed = api.get(f"/recognition/v2/model/?task={task['id']}").json()["results"]
    assert [(model["version"], model["phase"]) for model in listed] == [(1, "quick"), (2, "fine_tune")]


def test_a_fine_tune_worse_than_the_quick_version_is_not_deployed(
    api, django_capture_on_commit_callbacks, settings
) -> None:
    settings.TRAINING_MAX_SECONDS = 1e-3  # the fine-tune stops after its first batch of a few images
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=8)
    train(api, task, django_capture_on_commit_callbacks)
    quick, tuned = versions(task)
    assert tuned.metrics["stopped"] == "time_budget" and tuned.metrics["accuracy"] < quick.metrics["accuracy"]
    assert api.get(f"{TASKS}/{task['id']}").json()["production_version"] == 1


def test_the_task_setting_overrides_the_default(api, django_capture_on_commit_callbacks, settings) -> None:
    task, _ = make_task(api, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    assert task["quick_first_version"] is None
    changed = api.patch(f"{TASKS}/{task['id']}", {"quick_first_version": False}, format="json").json()
    assert changed["quick_first_version"] is False
    train(api, task, django_capture_on_commit_callbacks)
    assert [v.manifest["phase"] for v in versions(task)] == ["fine_tune"]
    settings.TRAINING_QUICK_FIRST_VERSION = False
    api.patch(f"{TASKS}/{task['id']}", {"quick_first_version": True}, format="json")
    train(api, task, django_capture_on_commit_callbacks)
    assert [v.manifest["phase"] for v in versions(task)] == ["fine_tune", "quick", "fine_tune"]


def test_a_task_is_created_with_its_setting(api) -> None:
    made = api.post(TASKS, {"name": "no quick", "quick_first_version": False}, format="json")
    assert made.status_code == 201 and made.json()["quick_first_version"] is False
    assert api.get(f"{TASKS}/{made.json()['id']}").json()["quick_first_version"] is False
