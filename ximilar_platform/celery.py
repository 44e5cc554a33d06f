"""The Celery application; jobs live in each app's ``jobs.py`` ("task" is a domain noun)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")

logger = logging.getLogger(__name__)

app = Celery("ximilar_platform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="jobs")


def route(name: str, args: tuple, kwargs: dict, options: dict, task: Any = None, **_: Any) -> dict[str, str] | None:
    """``CELERY_TASK_ROUTES``: a job to its kind's queue (`core.jobs.queue_of`), the rest to the default queue."""
    if name == "ximilar_platform.core.jobs.run_job":
        from ximilar_platform.core.jobs import queue_of

        return {"queue": queue_of(args[0])}
    return None


@app.on_after_configure.connect
def _create_broker_folders(sender: Celery, **_: object) -> None:
    """The filesystem transport needs its folders to exist before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:
            os.makedirs(options[key], exist_ok=True)


def _sweep() -> None:
    from ximilar_platform.core.jobs import sweep_jobs

    try:
        changed = sweep_jobs()
    except Exception:  # a database hiccup must not stop the worker; the next sweep retries
        logger.exception("Sweep of stale jobs failed")
        return
    if changed:
        logger.warning("Retried, re-sent or failed %d jobs no worker was moving", changed)


class StaleJobSweep(bootsteps.StartStopStep):
    """Every worker sweeps, every ``JOB_SWEEP_SECONDS`` (at start too), the jobs no worker is moving.

    Conditional updates make concurrent sweeps of several workers harmless, and no extra
    process (Celery beat) has to be deployed for it.
    """

    requires = {"celery.worker.components:Timer"}

    def start(self, worker: Any) -> None:
        """The first sweep runs here, in the main thread: the modules it needs get imported before any
        timer thread runs one. A pool child forked while another thread held an import lock would hang
        on that import forever (seen with the filesystem broker of `make run`)."""
        from django.conf import settings

        _sweep()
        self.timer = worker.timer.call_repeatedly(settings.JOB_SWEEP_SECONDS, _sweep)

    def stop(self, worker: Any) -> None:
        self.timer.cancel()


class OrphanFileSweep(bootsteps.StartStopStep):
    """Every ``ORPHAN_FILE_SWEEP_SECONDS`` (0: never), delete training-image files no row names.

    It lists the whole storage, which on a bucket takes long, so it runs in a thread of its own
    rather than in the timer that also runs the job sweep; one at a time per worker.
    """

    requires = {"celery.worker.components:Timer"}

    def start(self, worker: Any) -> None:
        from django.conf import settings

        import ximilar_platform.images.orphans  # noqa: F401 - imported now, not in a thread at a pool fork

        self.timer = None
        self.running = threading.Lock()
        if settings.ORPHAN_FILE_SWEEP_SECONDS:
            self.timer = worker.timer.call_repeatedly(settings.ORPHAN_FILE_SWEEP_SECONDS, self.sweep_in_background)

    def sweep_in_background(self) -> None:
        if self.running.acquire(blocking=False):
            threading.Thread(target=self._sweep, daemon=True).start()

    def _sweep(self) -> None:
        from django.conf import settings
        from django.db import connection

        from ximilar_platform.images.orphans import sweep_orphan_files

        try:
            sweep_orphan_files(older_than=settings.ORPHAN_FILE_MIN_AGE)
        except Exception:  # storage or database unreachable: the next sweep retries
            logger.exception("Sweep of orphan files failed")
        finally:
            connection.close()
            self.running.release()

    def stop(self, worker: Any) -> None:
        if self.timer is not None:
            self.timer.cancel()


app.steps["worker"].add(StaleJobSweep)
app.steps["worker"].add(OrphanFileSweep)
