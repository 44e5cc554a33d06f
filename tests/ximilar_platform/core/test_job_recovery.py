"""The sweep every worker runs (issue 12, items 5 and 6): a job whose worker died runs again, a lost
message is sent again, a hung job fails; each up to its limit, then the job fails saying why."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from ximilar_platform.core import jobs
from ximilar_platform.core.jobs import sweep_jobs
from ximilar_platform.training_jobs.models import TrainingJob


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """The messages the sweep sends (the broker is not what this tests; the real worker tests cover it)."""
    calls: list[tuple] = []
    monkeypatch.setattr(jobs.run_job, "apply_async", lambda args: calls.append((args, jobs.queue_of(args[0]))))
    return calls


def job(alice, **fields) -> TrainingJob:
    return TrainingJob.objects.create(workspace=alice.workspace, task_id=uuid.uuid4(), **fields)


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def test_a_job_whose_worker_died_runs_again_then_fails_after_its_last_attempt(
    alice, settings, sent, django_capture_on_commit_callbacks
) -> None:
    dead = ago(settings.TRAINING_STALE_AFTER + 1)
    first = job(alice, state="running", attempt=1, heartbeat=dead, progressed=dead, worker="w1")
    last = job(alice, state="running", attempt=settings.JOB_MAX_ATTEMPTS, heartbeat=dead, worker="w2")
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_jobs() == 2
    first.refresh_from_db()
    last.refresh_from_db()
    assert (
        first.state == "pending" and first.worker == "" and first.sends == 1 and "Retrying (run 2 of 2)" in first.error
    )
    assert sent == [(("training", str(first.id)), settings.TRAINING_QUEUE)]
    assert last.state == "failed" and "Gave up after 2 runs" in last.error
    assert first.start(worker="w3") and first.attempt == 2, "the next worker claims it as its second run"


def test_a_pending_job_no_worker_took_is_sent_again_then_fails(alice, settings, sent) -> None:
    lost = job(alice, sends=1, sent=ago(settings.JOB_RESEND_AFTER + 1))
    never = job(alice)  # its transaction's message never went out
    TrainingJob.objects.filter(pk=never.pk).update(created=ago(settings.JOB_RESEND_AFTER + 1))
    fresh = job(alice, sends=1, sent=ago(5))
    hopeless = job(alice, sends=settings.JOB_MAX_SENDS, sent=ago(settings.JOB_RESEND_AFTER + 1))
    assert sweep_jobs() == 3
    states = {j.pk: (j.state, j.sends) for j in TrainingJob.objects.all()}
    assert (
        states[lost.pk] == ("pending", 2) and states[never.pk] == ("pending", 1) and states[fresh.pk] == ("pending", 1)
    )
    assert states[hopeless.pk][0] == "failed"
    assert "No worker took the training after 3 sends" in TrainingJob.objects.get(pk=hopeless.pk).error
    assert sorted(args[1] for args, _ in sent) == sorted([str(lost.id), str(never.id)])


def test_a_running_job_that_beats_but_never_progresses_fails_as_hung(alice, settings, sent) -> None:
    settings.JOB_PROGRESS_TIMEOUT = 600
    hung = job(alice, state="running", attempt=1, heartbeat=timezone.now(), progressed=ago(601))
    busy = job(alice, state="running", attempt=1, heartbeat=timezone.now(), progressed=ago(30))
    assert sweep_jobs() == 1
    hung.refresh_from_db()
    busy.refresh_from_db()
    assert hung.state == "failed" and "no progress for 600 s" in hung.error and busy.state == "running"
    assert busy.report() and TrainingJob.objects.get(pk=busy.pk).progressed > ago(5)


def test_a_pending_job_behind_a_long_running_one_waits_its_turn(alice, settings, sent) -> None:
    """One worker busy for hours with another training: the job behind it is not failed as lost."""
    settings.JOB_PROGRESS_TIMEOUT = 0
    job(alice, state="running", attempt=1, heartbeat=timezone.now(), progressed=ago(3 * 3600), started=ago(3 * 3600))
    behind = job(alice, sends=settings.JOB_MAX_SENDS, sent=ago(settings.JOB_RESEND_AFTER + 1))
    unsent = job(alice)  # its message never went out: sent whether or not the queue is busy
    TrainingJob.objects.filter(pk=unsent.pk).update(created=ago(settings.JOB_RESEND_AFTER + 1))
    assert sweep_jobs() == 2
    behind.refresh_from_db()
    assert behind.state == "pending" and behind.sends == settings.JOB_MAX_SENDS and behind.sent > ago(5)
    assert [args[1] for args, _ in sent] == [str(unsent.id)], "the waiting one's message is still queued"


def test_work_on_another_queue_does_not_hide_a_lost_message(alice, settings, sent) -> None:
    from ximilar_platform.annotate.models import SuggestionRun
    from ximilar_platform.training_jobs.models import ModelVersion

    settings.TRAINING_STALE_AFTER = 60
    version = ModelVersion.objects.create(workspace=alice.workspace, task_id=uuid.uuid4(), version=1)
    SuggestionRun.objects.create(  # the inference workers are busy...
        workspace=alice.workspace, task_id=version.task_id, version=version, state="running", heartbeat=timezone.now()
    )
    job(alice, state="running", attempt=2, heartbeat=ago(61), worker="dead")  # ...and the training worker is dead
    hopeless = job(alice, sends=settings.JOB_MAX_SENDS, sent=ago(settings.JOB_RESEND_AFTER + 1))
    assert jobs.busy_queues() == {settings.INFERENCE_QUEUE} != {settings.TRAINING_QUEUE}
    sweep_jobs()
    assert TrainingJob.objects.get(pk=hopeless.pk).state == "failed"
