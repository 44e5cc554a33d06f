"""The dashboard, creating tasks, labels, and training from a task's page (rules, progress, cancel)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import colour_image_base64
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.similarity.models import SimilarityTask, SimilarityType
from ximilar_platform.training_jobs import runner
from ximilar_platform.training_jobs.models import TrainingJob
from ximilar_platform.training_jobs.runner import TrainingStopped


def page(web, url: str) -> str:
    answer = web.get(url)
    assert answer.status_code == 200, answer.content[:500]
    return answer.content.decode()


@pytest.mark.parametrize(
    ("kind", "model", "path"),
    [
        ("multi_class", Task, "recognition"),
        ("multi_label", Task, "recognition"),
        ("regression", Task, "recognition"),
        ("detection", DetectionTask, "detection"),
        ("similarity", SimilarityTask, "similarity"),
    ],
)
def test_creating_each_kind_of_task_opens_its_page(web, alice, kind, model, path) -> None:
    answer = web.post("/app/tasks/new/", {"name": f"my {kind}", "kind": kind})
    task = model.objects.get(name=f"my {kind}", workspace=alice.workspace)
    assert answer["Location"] == f"/app/{path}/{task.id}/"
    if model is Task:
        assert task.type == kind
    for tab in ("", "labels/", "models/", "test/"):
        assert f"my {kind}" in page(web, f"/app/{path}/{task.id}/{tab}")


def test_a_task_without_a_name_is_refused_with_a_reason(web) -> None:
    answer = web.post("/app/tasks/new/", {"name": "", "kind": "detection"})
    assert answer.status_code == 400 and "name: This field may not be blank." in answer.content.decode()
    assert not DetectionTask.objects.exists()


def test_the_dashboard_lists_every_kind_with_counts_and_state(web, alice) -> None:
    colours = Task.objects.create(workspace=alice.workspace, name="colours")
    colours.labels.add(Label.objects.create(workspace=alice.workspace, name="red"))
    DetectionTask.objects.create(workspace=alice.workspace, name="boxes")
    SimilarityTask.objects.create(workspace=alice.workspace, name="items")
    TrainingJob.objects.create(workspace=alice.workspace, task_id=colours.id, state="running")
    html = page(web, "/app/")
    for name in ("colours", "boxes", "items", "Categorization", "Detection", "Similarity", "Training…"):
        assert name in html
    assert html.count("Not trained") == 2


def test_another_workspace_tasks_answer_404(web, bob) -> None:
    theirs = Task.objects.create(workspace=bob.workspace, name="secret")
    assert web.get(f"/app/recognition/{theirs.id}/").status_code == 404
    assert web.post(f"/app/recognition/{theirs.id}/train/").status_code == 404
    assert "secret" not in page(web, "/app/")


def test_labels_are_added_renamed_coloured_and_deleted(web, alice) -> None:
    task = DetectionTask.objects.create(workspace=alice.workspace, name="boxes")
    web.post(f"/app/detection/{task.id}/labels/new/", {"name": "car", "color": "#12a594"})
    label = task.labels.get()
    assert (label.name, label.color) == ("car", "#12a594")
    web.post(f"/app/detection/{task.id}/labels/{label.id}/", {"name": "auto", "color": "#E5484D"})
    label.refresh_from_db()
    assert (label.name, label.color) == ("auto", "#E5484D")
    refused = web.post(f"/app/detection/{task.id}/labels/{label.id}/", {"color": "red"}, follow=True)
    assert "Give the colour as #RRGGBB." in refused.content.decode()
    html = page(web, f"/app/detection/{task.id}/labels/")
    assert "Its 0 boxes on 0 images are deleted too" in html
    web.post(f"/app/detection/{task.id}/labels/{label.id}/delete/")
    assert not DetectionLabel.objects.exists()


def test_a_recognition_label_takes_the_task_type_and_cannot_be_misused(web, alice) -> None:
    task = Task.objects.create(workspace=alice.workspace, name="prices", type="regression")
    web.post(f"/app/recognition/{task.id}/labels/new/", {"name": "price"})
    assert task.labels.get().type == "value"
    tags = Task.objects.create(workspace=alice.workspace, name="tags", type="multi_label")
    negative = Label.objects.create(workspace=alice.workspace, name="none", type="tag", negative_for_task=tags)
    tags.labels.add(negative)
    answer = web.post(f"/app/recognition/{tags.id}/labels/{negative.id}/delete/", follow=True)
    assert "cannot be deleted" in answer.content.decode() and Label.objects.filter(id=negative.id).exists()


def test_similarity_types_are_created_added_and_removed(web, alice) -> None:
    task = SimilarityTask.objects.create(workspace=alice.workspace, name="items")
    web.post(f"/app/similarity/{task.id}/types/", {"name": "same product"})
    kind = task.types.get()
    assert kind.name == "same product" and "same product" in page(web, f"/app/similarity/{task.id}/labels/")
    web.post(f"/app/similarity/{task.id}/types/", {"remove": str(kind.id)})
    assert not task.types.exists() and SimilarityType.objects.filter(id=kind.id).exists()


def test_training_shows_why_it_cannot_start_yet(web, alice) -> None:
    task = Task.objects.create(workspace=alice.workspace, name="colours")
    html = page(web, f"/app/recognition/{task.id}/")
    assert "Not ready to train yet" in html and "at least 2 category labels" in html
    answer = web.post(f"/app/recognition/{task.id}/train/", follow=True)
    assert "at least 2 category labels" in answer.content.decode() and not TrainingJob.objects.exists()


def labelled_task(alice, settings) -> Task:
    settings.TRAINING_MIN_IMAGES_PER_LABEL = 2
    task = Task.objects.create(workspace=alice.workspace, name="colours")
    for colour in ("red", "blue"):
        label = alice.client.post("/recognition/v2/label", {"name": colour}, format="json").json()
        alice.client.post(f"/recognition/v2/task/{task.id}/add-label", {"label_id": label["id"]}, format="json")
        for index in range(2):
            image = alice.client.post(
                "/recognition/v2/training-image", {"base64": colour_image_base64(index, colour)}, format="json"
            ).json()
            alice.client.post(
                f"/recognition/v2/training-image/{image['id']}/add-label", {"label_id": label["id"]}, format="json"
            )
    return task


def test_train_queues_a_job_whose_progress_the_panel_shows_and_cancel_stops(web, alice, settings, monkeypatch) -> None:
    task = labelled_task(alice, settings)
    monkeypatch.setattr(TrainingJob, "enqueue", lambda job: None)  # no worker: the job stays pending
    web.post(f"/app/recognition/{task.id}/train/")
    job = TrainingJob.objects.get()
    assert "Waiting for a worker" in page(web, f"/app/recognition/{task.id}/training/")
    quick = {"epoch": 0, "epochs": 12, "loss": 0.5, "metric_name": "accuracy", "metric": 0.978, "phase": "quick"}
    TrainingJob.objects.filter(id=job.id).update(state="running", started=timezone.now(), progress=quick)
    assert "First version ready (validation accuracy <strong>0.978</strong>" in page(
        web, f"/app/recognition/{task.id}/training/"
    )
    started = timezone.now() - timedelta(seconds=30)
    TrainingJob.objects.filter(id=job.id).update(
        state="running",
        started=started,
        heartbeat=timezone.now(),
        progress={"epoch": 3, "epochs": 12, "loss": 0.5, "metric_name": "accuracy", "metric": 0.75},
    )
    panel = page(web, f"/app/recognition/{task.id}/training/")
    assert "data-epoch>3</strong> of 12" in panel and 'aria-valuenow="25"' in panel and "about 90 s left" in panel
    assert (
        'hx-trigger="every 2s"' in panel
        and 'id="task-status" hx-swap-oob="true"><span class="badge accent">Training' in panel
    )
    web.post(f"/app/recognition/{task.id}/jobs/{job.id}/cancel/")
    job.refresh_from_db()
    assert job.state == "cancelled" and job.error == "Cancelled by alice."
    ended = web.get(f"/app/recognition/{task.id}/training/?was=active")
    assert ended["HX-Refresh"] == "true" and "was cancelled" in ended.content.decode()
    assert alice.client.get(f"/recognition/v2/task/{task.id}").json()["last_train_status"] == "NOT_TRAINED"


def test_a_cancelled_job_stops_its_worker_at_the_next_epoch(alice) -> None:
    job = TrainingJob.objects.create(workspace=alice.workspace, task_id=alice.workspace.id, state="running")
    job.cancel(by="alice")
    from training.spec import Progress

    with pytest.raises(TrainingStopped):
        runner.report(job, Progress(epoch=1, epochs=3, loss=1.0, metric_name="accuracy", metric=0.5))


def test_the_api_cancels_a_job_and_refuses_an_ended_one(alice) -> None:
    job = TrainingJob.objects.create(workspace=alice.workspace, task_id=alice.workspace.id)
    answer = alice.client.post(f"/recognition/v2/training-job/{job.id}/cancel")
    assert answer.status_code == 200 and answer.json()["state"] == "cancelled"
    assert alice.client.post(f"/recognition/v2/training-job/{job.id}/cancel").status_code == 409
    assert alice.client.post("/recognition/v2/training-job", {}, format="json").status_code == 405


def test_deleting_a_task_keeps_its_labels_and_images(web, alice) -> None:
    task = DetectionTask.objects.create(workspace=alice.workspace, name="boxes")
    task.labels.add(DetectionLabel.objects.create(workspace=alice.workspace, name="car"))
    web.post(f"/app/detection/{task.id}/delete/")
    assert not DetectionTask.objects.exists() and DetectionLabel.objects.exists()
    assert not DetectionObject.objects.exists()
