"""One lifecycle for every background job: training runs, collection re-embeddings, suggestion runs.

pending -> running -> succeeded | failed | cancelled. A worker claims a job with a conditional UPDATE, so a
redelivered message (``acks_late``) never runs it twice. A running job's ``heartbeat`` is touched
from a thread (`Heartbeat`) and ``progressed`` by each progress report. Every worker sweeps on a
timer (`ximilar_platform.celery`, `sweep_jobs`): a running job whose heartbeat stopped (its worker
was killed or its machine lost) goes back to pending and is sent again, up to ``JOB_MAX_ATTEMPTS``
runs, then fails; a running job that beats but reports no progress for ``JOB_PROGRESS_TIMEOUT``
fails as hung; a pending job no worker took within ``JOB_RESEND_AFTER`` (its message lost, e.g. a
broker restarted without its data) is sent again, up to ``JOB_MAX_SENDS`` times, then fails, unless a
live worker of its queue is running another job (then it waits its turn, however long that job runs).

Each app says how its jobs run by registering a runner in ``AppConfig.ready``; the one Celery
function here looks the runner up, so no module of this layer names an app above it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

RUNNERS: dict[str, Callable[..., None]] = {}


def register_runner(kind: str, run: Callable[..., None]) -> None:
    """``run(job_id=...)`` executes a job whose ``runner`` is ``kind``, in a worker."""
    RUNNERS[kind] = run


def worker_name() -> str:
    """Who runs a job: host and process, so an operator (or a test) can tell two workers of one machine apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


def queue_of(runner: str) -> str:
    """Where each kind of job waits: trainings on ``TRAINING_QUEUE`` (GPU workers), suggestion runs and
    re-embeddings on ``INFERENCE_QUEUE`` (GPU or CPU workers); dataset imports and exports, CPU and storage
    work like file deletions, on the default queue."""
    if runner == "training":
        return settings.TRAINING_QUEUE
    if runner == "datasets":
        return settings.CELERY_TASK_DEFAULT_QUEUE
    return settings.INFERENCE_QUEUE


@shared_task(
    acks_late=True,
    soft_time_limit=settings.TRAINING_TIME_LIMIT,  # the job fails with the limit in its error
    time_limit=settings.TRAINING_TIME_LIMIT + 120,  # then the worker process is replaced
)
def run_job(kind: str, job_id: str) -> None:
    RUNNERS[kind](job_id=job_id)


def failure_of(error: BaseException) -> str:
    """What a job that raised ``error`` says: Celery's soft time limit (``TRAINING_TIME_LIMIT``) in words."""
    if isinstance(error, SoftTimeLimitExceeded):
        return (
            f"The job ran longer than TRAINING_TIME_LIMIT ({settings.TRAINING_TIME_LIMIT} s) and was stopped; "
            "raise the limit or train on fewer images."
        )
    return str(error) or type(error).__name__


class Job(models.Model):
    """The state of one background job; changes go through the methods, which guard the lifecycle."""

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (State.PENDING, State.RUNNING)
    runner: ClassVar[str]  # the RUNNERS key of the function that runs this kind of job
    noun: ClassVar[str] = "job"
    lost_worker: ClassVar[str] = "The worker running this job stopped responding (killed or lost)."

    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    error = models.TextField(blank=True, default="")
    worker = models.CharField(max_length=255, blank=True, default="")
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    progressed = models.DateTimeField(null=True, blank=True, help_text="The last progress report.")
    attempt = models.PositiveSmallIntegerField(default=0, help_text="Runs started, retries included.")
    sends = models.PositiveSmallIntegerField(default=0, help_text="Messages sent to the queue.")
    sent = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def _update(self, states: tuple[str, ...] | None = None, **fields: Any) -> bool:
        rows = type(self)._default_manager.filter(pk=self.pk)
        if states is not None:
            rows = rows.filter(state__in=states)
        return bool(rows.update(**fields))

    def enqueue(self) -> None:
        """Send the job to its queue (`queue_of`) once the transaction commits."""
        transaction.on_commit(self._send)

    def _send(self) -> None:
        """When the broker cannot take the message, fail the job rather than leave it pending forever."""
        self._update(sends=models.F("sends") + 1, sent=timezone.now())
        try:
            run_job.apply_async((self.runner, str(self.pk)))  # to its queue: ximilar_platform.celery.route
        except Exception as error:  # kombu raises its own and socket errors once its retries are spent
            logger.exception("%s %s could not be queued", type(self).__name__, self.pk)
            self.fail(f"The {self.noun} could not be queued (message broker unreachable: {error}); try again later.")

    def start(self, *, worker: str, **fields: Any) -> bool:
        """Claim a pending job; False when it is not pending (a redelivered message does nothing)."""
        now = timezone.now()
        claimed = self._update(
            (self.State.PENDING,),
            state=self.State.RUNNING,
            started=now,
            heartbeat=now,
            progressed=now,
            worker=worker,
            attempt=models.F("attempt") + 1,
            **fields,
        )
        if claimed:
            self.refresh_from_db()
        return claimed

    def report(self, **fields: Any) -> bool:
        """Progress of a running job (a heartbeat too); False when it no longer runs (cancelled, failed)."""
        now = timezone.now()
        return self._update((self.State.RUNNING,), heartbeat=now, progressed=now, **fields)

    def beat(self) -> None:
        try:
            self._update((self.State.RUNNING,), heartbeat=timezone.now())
        except DatabaseError:  # a busy database must not stop the job; the next beat retries
            logger.warning("Heartbeat of %s %s failed", type(self).__name__, self.pk, exc_info=True)

    def succeed(self, **fields: Any) -> bool:
        """End a running job well; False when it was cancelled (or failed by the sweep) meanwhile."""
        succeeded = self._update((self.State.RUNNING,), state=self.State.SUCCEEDED, finished=timezone.now(), **fields)
        self.refresh_from_db()
        return succeeded

    def fail(self, error: str) -> bool:
        """Fail an active job and undo its half-done work; a job that already ended stays as it is."""
        with transaction.atomic():
            failed = self._update(self.ACTIVE, state=self.State.FAILED, error=error[:10000], finished=timezone.now())
            if failed:
                self.discard_partial_work()
        self.refresh_from_db()
        return failed

    def cancel(self, *, by: str) -> bool:
        """Stop an active job: a pending one never starts, a running one stops at its next report."""
        with transaction.atomic():
            cancelled = self._update(
                self.ACTIVE, state=self.State.CANCELLED, error=f"Cancelled by {by}.", finished=timezone.now()
            )
            if cancelled:
                self.discard_partial_work()
        self.refresh_from_db()
        return cancelled

    def retry(self, reason: str) -> bool:
        """Put a running job whose worker was lost back in the queue, its half-done work undone."""
        with transaction.atomic():
            again = self._update(
                (self.State.RUNNING,), state=self.State.PENDING, worker="", heartbeat=None, error=reason[:10000]
            )
            if again:
                self.discard_partial_work()
        if again:
            self.refresh_from_db()
            transaction.on_commit(self._send)
        return again

    def discard_partial_work(self) -> None:
        """What a failed run leaves half written, undone in the transaction that fails it."""

    @classmethod
    def fail_stale(cls, jobs: models.QuerySet | None = None) -> int:
        """Fail running jobs (of ``jobs``, default all) whose heartbeat is older than ``TRAINING_STALE_AFTER``."""
        cutoff = timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER)
        jobs = cls._default_manager.all() if jobs is None else jobs
        return sum(job.fail(cls.lost_worker) for job in jobs.filter(state=cls.State.RUNNING, heartbeat__lt=cutoff))

    @classmethod
    def recover(cls) -> int:
        """The sweep for this kind of job (see the module's docstring); how many jobs it changed."""
        now, changed = timezone.now(), 0
        running = cls._default_manager.filter(state=cls.State.RUNNING)
        for job in running.filter(heartbeat__lt=now - timedelta(seconds=settings.TRAINING_STALE_AFTER)):
            if job.attempt < settings.JOB_MAX_ATTEMPTS:
                changed += job.retry(
                    f"{cls.lost_worker} Retrying (run {job.attempt + 1} of {settings.JOB_MAX_ATTEMPTS})."
                )
            else:
                changed += job.fail(f"{cls.lost_worker} Gave up after {job.attempt} runs.")
        if settings.JOB_PROGRESS_TIMEOUT:
            hung = running.filter(progressed__lt=now - timedelta(seconds=settings.JOB_PROGRESS_TIMEOUT))
            for job in hung:
                changed += job.fail(
                    f"The {cls.noun} reported no progress for {settings.JOB_PROGRESS_TIMEOUT:g} s (hung); stopped."
                )
        cutoff = now - timedelta(seconds=settings.JOB_RESEND_AFTER)
        waiting = cls._default_manager.filter(state=cls.State.PENDING)
        queue_busy = queue_of(cls.runner) in busy_queues()
        for job in waiting.filter(models.Q(sent__lt=cutoff) | models.Q(sent__isnull=True, created__lt=cutoff)):
            if queue_busy and job.sends:  # its message waits behind running work: not lost, not sent again
                job._update((cls.State.PENDING,), sent=now)
            elif job.sends < settings.JOB_MAX_SENDS:
                job._send()
            else:
                job.fail(
                    f"No worker took the {cls.noun} after {job.sends} sends: is a worker consuming the "
                    f"'{queue_of(cls.runner)}' queue?"
                )
            changed += 1
        return changed


def busy_queues() -> set[str]:
    """The queues whose workers are alive and running a job (a heartbeat within ``TRAINING_STALE_AFTER``).

    A pending job of such a queue waits its turn behind long work: its age says nothing of a lost message.
    """
    alive = timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER)
    return {
        queue_of(model.runner)
        for model in job_models()
        if model._default_manager.filter(state=Job.State.RUNNING, heartbeat__gte=alive).exists()
    }


def job_models() -> list[type[Job]]:
    return [model for model in apps.get_models() if issubclass(model, Job)]


def sweep_jobs() -> int:
    """Every worker's sweep: retry, fail or re-send the jobs, of any kind, that no worker is moving."""
    return sum(model.recover() for model in job_models())


class Heartbeat:
    """Marks a job alive from a thread, so a long step is not mistaken for a dead worker."""

    def __init__(self, job: Job) -> None:
        self.job, self.stop = job, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(settings.TRAINING_HEARTBEAT_SECONDS):
            self.job.beat()
        connection.close()

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
