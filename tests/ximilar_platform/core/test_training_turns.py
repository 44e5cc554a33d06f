"""Trainings of one workspace take turns (TRAINING_MAX_ACTIVE_PER_WORKSPACE): the next waits, never refused."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from ximilar_platform.core import jobs
from ximilar_platform.training_jobs.models import TrainingJob
from ximilar_platform.training_jobs.runner import run_training_job


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Ids of the jobs sent to the queue (what the worker does with a message is tested by running it)."""
    calls: list[str] = []
    monkeypatch.setattr(jobs.run_job, "apply_async", lambda args: calls.append(args[1]))
    return calls


def job(workspace, **fields) -> TrainingJob:
    return TrainingJob.objects.create(workspace=workspace, task_id=uuid.uuid4(), **fields)


def test_a_second_training_waits_held_and_is_sent_when_the_first_ends(
    alice, bob, sent, django_capture_on_commit_callbacks
) -> None:
    first = job(alice.workspace)
    assert first.start(worker="w1")
    second, third, other = job(alice.workspace), job(alice.workspace), job(bob.workspace)
    assert not second.start(worker="w2") and not third.start(worker="w2")
    second.refresh_from_db()
    assert second.state == "pending" and second.held and second.sends == 0 and second.sent is not None
    assert other.start(worker="w2"), "another workspace has its own turn"

    with django_capture_on_commit_callbacks(execute=True):
        assert first.succeed()
    assert sent == [str(second.id)], "the oldest held job, and only it"
    assert second.start(worker="w1") and not TrainingJob.objects.get(pk=second.pk).held
    assert not third.start(worker="w2"), "still one at a time"

    with django_capture_on_commit_callbacks(execute=True):
        assert second.cancel(by="alice")
    assert sent[-1] == str(third.id)
    assert third.start(worker="w1")


def test_no_limit_lets_trainings_run_side_by_side(alice, settings) -> None:
    settings.TRAINING_MAX_ACTIVE_PER_WORKSPACE = 0
    assert job(alice.workspace).start(worker="w1") and job(alice.workspace).start(worker="w2")
    settings.TRAINING_MAX_ACTIVE_PER_WORKSPACE = 2
    assert not job(alice.workspace).start(worker="w3")


def test_a_held_job_runs_when_its_turn_comes_and_the_api_shows_it_waiting(
    alice, api: APIClient, django_capture_on_commit_callbacks
) -> None:
    """Through the worker's own entry point, eager: the held job really starts once the slot frees."""
    running = job(alice.workspace)
    assert running.start(worker="w1")
    task = api.post("/recognition/v2/task", {"name": "waits"}, format="json").json()
    waiting = TrainingJob.objects.create(workspace=alice.workspace, task_id=task["id"])
    run_training_job(job_id=str(waiting.id))
    waiting.refresh_from_db()
    assert waiting.state == "pending" and waiting.held and waiting.attempt == 0
    listed = api.get("/recognition/v2/training-job", {"task": task["id"]}).json()["results"]
    assert [(j["state"], j["held"]) for j in listed] == [("pending", True)]
    assert api.get(f"/recognition/v2/task/{task['id']}").json()["last_train_status"] == "WAITING"

    with django_capture_on_commit_callbacks(execute=True):
        running.fail("stopped for the test")
    waiting.refresh_from_db()
    # it ran: an empty task fails its training at once, saying why (a real start, attempt 1)
    assert waiting.attempt == 1 and waiting.state == "failed" and not waiting.held
