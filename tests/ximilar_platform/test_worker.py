"""A real Celery worker process picks up a job the API enqueued: on the embedded broker and on Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.factories import image_base64
from ximilar_platform.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def shared_database_url() -> str:
    """The URL of the database pytest-django created, for the worker process to share."""
    info = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{info['NAME']}"
    return f"postgres://{info['USER']}@{info['HOST'] or 'localhost'}:{info['PORT'] or 5432}/{info['NAME']}"


def redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def reset_broker_connections() -> None:
    """Drop pooled connections so the next publish uses the broker configured now."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(request, tmp_path: Path, media_root: Path) -> Iterator[subprocess.Popen]:
    broker = request.param
    data_dir = tmp_path / "data"
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "MEDIA_ROOT": str(media_root), "DATA_DIR": str(data_dir)}
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    if broker == "redis":
        env["REDIS_URL"] = settings.REDIS_URL
        conf = {"broker_url": settings.REDIS_URL, "broker_transport_options": {"visibility_timeout": 3600}}
    else:
        env.pop("REDIS_URL", None)
        folder = str(data_dir / "broker" / "queue")
        conf = {
            "broker_url": "filesystem://",
            "broker_transport_options": {
                "data_folder_in": folder, "data_folder_out": folder, "control_folder": str(data_dir / "broker" / "control"),
            },
        }
        os.makedirs(folder, exist_ok=True)
    changed = {"task_always_eager": False, "task_default_queue": queue, **conf}
    saved = {key: celery_app.conf[key] for key in changed}
    celery_app.conf.update(changed)
    reset_broker_connections()
    command = [sys.executable, "-m", "celery", "-A", "ximilar_platform", "worker", "-Q", queue, "-P", "solo",
               "--loglevel", "INFO"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield process
    process.terminate()
    process.wait(timeout=30)
    celery_app.conf.update(saved)
    reset_broker_connections()


@pytest.mark.parametrize(
    "worker",
    [
        "filesystem",
        pytest.param("redis", marks=pytest.mark.skipif(not redis_available(), reason="no Redis at REDIS_URL")),
    ],
    indirect=True,
)
def test_worker_process_deletes_files_of_a_deleted_image(transactional_db, alice, worker, media_root) -> None:
    image = alice.client.post("/recognition/v2/training-image", {"base64": image_base64()}, format="json").json()
    files = [path for path in media_root.rglob("*") if path.is_file()]
    assert len(files) == 2
    assert alice.client.delete(f"/recognition/v2/training-image/{image['id']}").status_code == 204
    deadline = time.monotonic() + 60
    while any(path.exists() for path in files) and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
    if any(path.exists() for path in files):
        worker.terminate()
        pytest.fail("the worker did not delete the files:\n" + worker.communicate(timeout=30)[0].decode()[-3000:])
