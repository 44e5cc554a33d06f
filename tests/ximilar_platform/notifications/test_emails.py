"""Emails about trainings: who gets them, what they say, the per-user switch, and a mail server that fails."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from tests.factories import colour_image_base64
from tests.ximilar_platform.notifications.receiver import closed_port, training_job
from ximilar_platform.accounts.services import add_workspace_member
from ximilar_platform.notifications.models import Event
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob
from ximilar_platform.training_jobs.runner import run_training_job


@pytest.fixture(autouse=True)
def addresses(alice, bob) -> None:
    for person, address in ((alice, "alice@example.com"), (bob, "bob@example.com")):
        person.user.email = address
        person.user.save()


def test_a_training_that_fails_emails_its_start_and_its_failure_to_whoever_started_it(
    alice, bob, task, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    add_workspace_member(workspace=alice.workspace, user=bob.user)
    job = training_job(alice, task, started_by=bob.user)
    with django_capture_on_commit_callbacks(execute=True):
        run_training_job(job_id=str(job.id))  # a task without labels fails at once, in the worker
    job.refresh_from_db()
    assert job.state == "failed"
    assert [(mail.subject, mail.to) for mail in mailoutbox] == [
        ("Training started: dogs", ["bob@example.com"]),
        ("Training failed: dogs", ["bob@example.com"]),
    ]
    started, failed = (mail.body for mail in mailoutbox)
    assert 'The training of your recognition task "dogs" started (run 1).' in started
    assert f"Task: {task['id']}" in started and f"Job: {job.id}" in started and "Workspace: Default" in started
    assert job.error and job.error in failed


def test_the_api_records_who_started_a_training_and_emails_them(
    alice, bob, settings, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    settings.TRAINING_MIN_IMAGES_PER_LABEL = 1
    add_workspace_member(workspace=alice.workspace, user=bob.user)
    task = alice.client.post("/recognition/v2/task", {"name": "colours"}, format="json").json()
    for colour in ("red", "blue"):
        label = alice.client.post("/recognition/v2/label", {"name": colour}, format="json").json()
        alice.client.post(f"/recognition/v2/task/{task['id']}/add-label", {"label_id": label["id"]}, format="json")
        image = {"base64": colour_image_base64(0, colour)}
        image_id = alice.client.post("/recognition/v2/training-image", image, format="json").json()["id"]
        body = {"label_id": label["id"]}
        alice.client.post(f"/recognition/v2/training-image/{image_id}/add-label", body, format="json")
    assert bob.client.post(f"/recognition/v2/task/{task['id']}/train").status_code == 202  # queued, never sent here
    job = TrainingJob.objects.get()
    assert job.started_by == bob.user
    with django_capture_on_commit_callbacks(execute=True):
        assert job.start(worker="w")
    assert [(mail.subject, mail.to) for mail in mailoutbox] == [("Training started: colours", ["bob@example.com"])]


def test_a_finished_training_emails_the_workspace_owner_its_version_and_metrics(
    alice, task, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    job = training_job(alice, task)  # started by no one recorded (e.g. before started_by existed)
    version = ModelVersion.objects.create(
        workspace=alice.workspace, task_id=task["id"], version=1, arch="a", artifact="x", metrics={"accuracy": 0.91234}
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert job.start(worker="w")
        assert job.succeed(version=version)
    finished = mailoutbox[-1]
    assert finished.subject == "Training finished: dogs, version 1" and finished.to == ["alice@example.com"]
    assert "version 1 is trained." in finished.body and "  accuracy: 0.9123" in finished.body
    assert finished.from_email == "vision@localhost"


def test_the_training_emails_can_be_switched_off_per_user(
    alice, bob, task, mailoutbox, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TRAINING_MAX_ACTIVE_PER_WORKSPACE = 0  # two trainings of the test at once
    assert alice.client.get("/account/v2/notifications").json() == {
        "email": "alice@example.com",
        "email_trainings": True,
    }
    off = alice.client.patch("/account/v2/notifications", {"email_trainings": False}, format="json")
    assert off.status_code == 200 and off.json()["email_trainings"] is False
    assert bob.client.get("/account/v2/notifications").json()["email_trainings"] is True, "bob's own choice"
    assert (
        alice.client.patch("/account/v2/notifications", {"email_trainings": "maybe"}, format="json").status_code == 400
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    assert mailoutbox == []

    alice.client.put("/account/v2/notifications", {"email_trainings": True}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    assert [mail.to for mail in mailoutbox] == [["alice@example.com"]]


def test_a_user_without_an_email_address_gets_none(alice, task, mailoutbox, django_capture_on_commit_callbacks) -> None:
    alice.user.email = ""
    alice.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert training_job(alice, task).start(worker="w")
    assert mailoutbox == [] and Event.objects.get().name == "training.started"


def test_a_mail_server_that_refuses_is_logged_and_the_training_goes_on(
    alice, task, settings, caplog, django_capture_on_commit_callbacks
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    job = training_job(alice, task)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        assert job.start(worker="w")
    job.refresh_from_db()
    assert job.state == "running"
    assert "could not be sent" in caplog.text and "ConnectionRefusedError" in caplog.text


def test_a_rolled_back_start_sends_nothing(alice, task, mailoutbox, django_capture_on_commit_callbacks) -> None:
    job = training_job(alice, task)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            assert job.start(worker="w")
            raise RuntimeError("the claim's transaction rolls back")
    assert mailoutbox == [] and not Event.objects.exists()
