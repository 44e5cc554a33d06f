"""``manage.py run_one_job``: a Celery worker that runs one message of its queue, then exits.

Made for the Kubernetes Jobs that KEDA's ScaledJob starts for queued trainings (deploy/k8s): the
pod ends when its job ends, so scaling down never stops a training midway. A ``celery worker``
never exits by itself; ``--max-tasks-per-child 1`` only replaces its child process.

It is the usual prefork worker of concurrency 1 (Celery's time limits, which the solo pool lacks,
still apply, and its main process answers pings while the child trains) with one more bootstep:
on its first message it stops consuming, so no second message is fetched, and once that message's
job has ended, succeeded or failed, it shuts down warmly with exit code 0 (the job's outcome is in
the database; a crash exits non-zero). With no message for ``--idle-timeout`` seconds (another pod
took it) it exits 0 too.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import bootsteps, current_app, signals
from celery.platforms import EX_OK
from celery.worker import state
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

logger = logging.getLogger(__name__)


class OneMessage(bootsteps.StartStopStep):
    """Stop consuming at the first message; stop the worker once nothing is left to run."""

    requires = {"celery.worker.components:Timer"}
    idle_timeout = 300.0  # set by the command before the worker starts

    def start(self, worker: Any) -> None:
        self.received = self.stopping = False
        self.idle_until = time.monotonic() + self.idle_timeout
        signals.task_received.connect(self.on_received, weak=False)
        self.timer = worker.timer.call_repeatedly(0.5, self.check)

    def on_received(self, sender: Any, **_: object) -> None:  # sender: the worker's consumer
        if not self.received:
            self.received = True
            for queue in [queue.name for queue in sender.task_consumer.queues]:
                sender.cancel_task_queue(queue)

    def check(self) -> None:
        if self.stopping or state.reserved_requests or state.active_requests:
            return
        if state.all_total_count[0]:  # the message was run and its job has ended
            logger.info("The job has ended; stopping")
        elif time.monotonic() < self.idle_until:
            return  # nothing received yet, or a message that was received but not run (revoked)
        else:
            logger.info("No job for %.0f s; stopping", self.idle_timeout)
        self.stopping = True
        state.should_stop = EX_OK

    def stop(self, worker: Any) -> None:
        self.timer.cancel()
        signals.task_received.disconnect(self.on_received)


class Command(BaseCommand):
    help = "Run a Celery worker that runs one message of a queue, then exits (Kubernetes Jobs, KEDA ScaledJob)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", help="the queue to take a message from (default: TRAINING_QUEUE)")
        parser.add_argument(
            "--idle-timeout", type=float, default=300.0, help="exit 0 after this many seconds without a message"
        )
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, **options: Any) -> None:
        app = current_app._get_current_object()  # ximilar_platform.celery's, made when the project is imported
        OneMessage.idle_timeout = options["idle_timeout"]
        app.steps["worker"].add(OneMessage)
        # --disable-prefetch (Redis): the next message is not even reserved while this one runs
        app.worker_main(
            [
                "worker",
                "--queues",
                options["queue"] or settings.TRAINING_QUEUE,
                "--concurrency",
                "1",
                "--prefetch-multiplier",
                "1",
                "--disable-prefetch",
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                options["loglevel"],
            ]
        )
