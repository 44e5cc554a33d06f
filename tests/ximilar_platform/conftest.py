"""A real Celery worker process for tests that need one, on the embedded broker or on Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import kombu.pools
import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from ximilar_platform.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def shared_database_url() -> str:
    """The URL of the database pytest-django created, for the worker process to share."""
    info = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{info['NAME']}"
    return f"postgres://{info['USER']}@{info['HOST'] or 'localhost'}:{info['PORT'] or 5432}/{info['NAME']}"


def redis_available() -> bool:
    if not django_settings.REDIS_URL:
        return False
    try:
        return bool(redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def reset_broker_connections() -> None:
    """Drop pooled connections so the next publish uses the broker configured now."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()  # kombu keeps producer pools per connection URL, closed ones included


@pytest.fixture
def start_worker(
    transactional_db, settings, tmp_path: Path, media_root: Path
) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``celery worker`` as a separate process; jobs this test enqueues go to its own queue."""
    processes: list[subprocess.Popen] = []
    saved: dict = {}

    def start(
        broker: str = "filesystem",
        *,
        redis_url: str | None = None,
        queue: str | None = None,
        pool: str = "solo",
        **extra_env: str,
    ) -> subprocess.Popen:
        """``redis_url``: another Redis than the shared one; ``queue``: the queue of an earlier worker;
        ``pool``: ``prefork`` (one child) for what only it does, such as Celery's time limits."""
        data_dir = tmp_path / "data"
        queue = queue or f"test-{os.getpid()}-{time.monotonic_ns()}"
        env = {
            **os.environ,
            "DATABASE_URL": shared_database_url(),
            "MEDIA_ROOT": str(media_root),
            "DATA_DIR": str(data_dir),
            "TRAINING_QUEUE": queue,  # what the worker itself sends (its sweep's re-sends) comes back to it
            "INFERENCE_QUEUE": queue,
            "READY_MODELS_DIR": str(django_settings.READY_MODELS_DIR),  # exported once, not per worker
            **extra_env,
        }
        if broker == "redis":
            env["REDIS_URL"] = redis_url or django_settings.REDIS_URL
            conf = {"broker_url": env["REDIS_URL"], "broker_transport_options": {"visibility_timeout": 3600}}
        else:
            env.pop("REDIS_URL", None)
            folder = str(data_dir / "broker" / "queue")
            control = str(data_dir / "broker" / "control")
            conf = {
                "broker_url": "filesystem://",
                "broker_transport_options": {
                    "data_folder_in": folder,
                    "data_folder_out": folder,
                    "control_folder": control,
                },
            }
            os.makedirs(folder, exist_ok=True)
        changed = {"task_always_eager": False, "task_default_queue": queue, **conf}
        settings.TRAINING_QUEUE = settings.INFERENCE_QUEUE = queue
        saved.update({key: celery_app.conf[key] for key in changed if key not in saved})
        celery_app.conf.update(changed)
        reset_broker_connections()
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ximilar_platform",
            "worker",
            "-Q",
            queue,
            "-P",
            pool,
            *(["--concurrency", "1"] if pool == "prefork" else []),
            "--loglevel",
            "INFO",
        ]
        log = (tmp_path / f"worker-{len(processes)}.log").open("wb")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        process.log_path = log.name
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
    celery_app.conf.update(saved)
    reset_broker_connections()


def worker_log(process: subprocess.Popen) -> str:
    return Path(process.log_path).read_text(errors="replace")[-4000:]
