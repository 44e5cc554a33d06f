"""``manage.py run_one_job`` (the worker of KEDA's training ScaledJob): one message, then exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from tests.conftest import need
from tests.ximilar_platform.conftest import ROOT, redis_available, reset_broker_connections, shared_database_url
from ximilar_platform.celery import app as celery_app


@pytest.fixture(autouse=True, scope="module")
def redis_server() -> None:
    need(redis_available(), "run_one_job serves Redis-backed clusters (KEDA reads Redis lists): no Redis at REDIS_URL")


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    """Messages this test sends go to the Redis of REDIS_URL, not inline."""
    keys = ("task_always_eager", "broker_url", "broker_transport_options")
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(
        task_always_eager=False,
        broker_url=django_settings.REDIS_URL,
        broker_transport_options={"visibility_timeout": 3600},
    )
    reset_broker_connections()
    yield redis.Redis.from_url(django_settings.REDIS_URL)
    celery_app.conf.update(saved)
    reset_broker_connections()


def run_one_job(queue: str, media_root: Path, tmp_path: Path, idle_timeout: float) -> tuple[int, str]:
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),  # every worker sweeps the job tables at start
        "REDIS_URL": django_settings.REDIS_URL,
        "MEDIA_ROOT": str(media_root),
        "DATA_DIR": str(tmp_path / "data"),
    }
    command = [sys.executable, "manage.py", "run_one_job", "--queue", queue, "--idle-timeout", str(idle_timeout)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    return done.returncode, (done.stdout + done.stderr)[-4000:]


def test_it_runs_one_message_and_leaves_the_next_in_the_queue(transactional_db, broker, media_root, tmp_path) -> None:
    media_root.mkdir(parents=True, exist_ok=True)
    files = [media_root / name for name in ("first.txt", "second.txt")]
    for path in files:
        path.write_text("x")
    queue = f"one-job-{os.getpid()}-{time.monotonic_ns()}"
    try:
        for path in files:
            celery_app.send_task("ximilar_platform.images.jobs.delete_stored_files", args=([path.name],), queue=queue)
        assert broker.llen(queue) == 2

        code, log = run_one_job(queue, media_root, tmp_path, idle_timeout=60)
        assert code == 0, log
        assert [path.exists() for path in files].count(False) == 1, log  # one job ran, then the worker exited
        assert broker.llen(queue) == 1, log  # the other message was not taken: KEDA still counts it

        code, log = run_one_job(queue, media_root, tmp_path, idle_timeout=60)
        assert code == 0 and not any(path.exists() for path in files), log
        assert broker.llen(queue) == 0
        assert "The job has ended; stopping" in log

        started = time.monotonic()
        code, log = run_one_job(queue, media_root, tmp_path, idle_timeout=1)  # another pod took the message
        assert code == 0 and "No job for 1 s; stopping" in log, log
        assert time.monotonic() - started < 60
    finally:
        broker.delete(queue)
