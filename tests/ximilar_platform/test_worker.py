"""A real Celery worker process picks up a job the API enqueued: on the embedded broker and on Redis."""

from __future__ import annotations

import time

import pytest

from tests.factories import image_base64
from tests.ximilar_platform.conftest import redis_available, worker_log


@pytest.mark.parametrize(
    "broker", ["filesystem", pytest.param("redis", marks=pytest.mark.skipif(not redis_available(), reason="no Redis"))]
)
def test_worker_process_deletes_files_of_a_deleted_image(start_worker, alice, media_root, broker: str) -> None:
    worker = start_worker(broker)
    image = alice.client.post("/recognition/v2/training-image", {"base64": image_base64()}, format="json").json()
    files = [path for path in media_root.rglob("*") if path.is_file()]
    assert len(files) == 2
    assert alice.client.delete(f"/recognition/v2/training-image/{image['id']}").status_code == 204
    deadline = time.monotonic() + 60
    while any(path.exists() for path in files) and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
    assert not any(path.exists() for path in files), "the worker did not delete the files:\n" + worker_log(worker)
