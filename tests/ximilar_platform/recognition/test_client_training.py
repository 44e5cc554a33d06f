"""The official client trains through a live server and a real worker, then classifies."""

from __future__ import annotations

import base64
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ximilar.client import RecognitionClient
from ximilar.client.exceptions import XimilarClientException

from tests.factories import colour_image_base64
from tests.ximilar_platform.conftest import worker_log
from ximilar_platform.training_jobs.models import TrainingJob

QUICK = {
    "TRAINING_MIN_IMAGES_PER_LABEL": "4",
    "TRAINING_ARCH": "resnet18",
    "TRAINING_IMAGE_SIZE": "32",
    "TRAINING_EPOCHS": "8",
    "TRAINING_HEARTBEAT_SECONDS": "0.5",
}


@pytest.fixture
def client(live_server, alice, settings) -> RecognitionClient:
    settings.TRAINING_MIN_IMAGES_PER_LABEL = 4
    return RecognitionClient(token=alice.token, endpoint=live_server.url + "/")


def records(colour: str, count: int, offset: int = 0) -> list[dict]:
    return [{"_base64": colour_image_base64(offset + i, colour).encode(), "noresize": True} for i in range(count)]


def colour_task(client: RecognitionClient, per_label: int = 12):
    task, _ = client.create_task("colours")
    for colour in ("red", "blue"):
        label, _ = client.create_label(colour)
        task.add_label(label.id)
        label.upload_images(records(colour, per_label))
    return task


def wait_for(condition, worker, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker.poll() is None, "the worker died:\n" + worker_log(worker)
        assert time.monotonic() < deadline, "timed out:\n" + worker_log(worker)
        time.sleep(0.5)


def test_client_trains_polls_and_classifies(client, start_worker, settings) -> None:
    worker = start_worker(**QUICK)
    task = colour_task(client)
    task.train()
    wait_for(lambda: client.get_task(task.id)[0].production_version >= 1, worker)
    task = client.get_task(task.id)[0]
    assert task.last_train_status == "TRAINED"
    result = task.classify([{"_base64": colour_image_base64(500, "red"), "noresize": True}])
    assert result["records"][0]["best_label"]["name"] == "red" and result["version"] == 1

    settings.URL_FETCH_ALLOW_LOOPBACK = True
    body = base64.b64decode(colour_image_base64(501, "blue"))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        by_url = client.classify_on_task([{"_url": f"http://127.0.0.1:{server.server_port}/b.png"}], task.id)
    finally:
        server.shutdown()
    assert by_url["records"][0]["best_label"]["name"] == "blue"
    assert (
        client.classify_on_task([{"_url": "http://example.invalid/x.png"}], task.id)["records"][0]["_status"]["code"]
        == 400
    )
    with pytest.raises(XimilarClientException):
        task.classify([{"_base64": colour_image_base64(1, "red"), "noresize": True}], version=9)
    model = client.get_model(client.get("recognition/v2/model/?task=" + task.id)["results"][0]["id"])[0]
    assert model.version == 1 and model.task_name == "colours"


def test_a_worker_killed_on_the_last_attempt_leaves_a_failed_job_not_a_stuck_one(
    client, start_worker, settings
) -> None:
    settings.TRAINING_STALE_AFTER = 3
    worker = start_worker(**{**QUICK, "TRAINING_EPOCHS": "500", "TRAINING_IMAGE_SIZE": "64"})
    task = colour_task(client, per_label=4)
    task.train()
    wait_for(lambda: TrainingJob.objects.filter(state="running", progress__has_key="epoch").exists(), worker)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    # the sweep of the worker that takes over fails the dead worker's job: one run allowed here
    # (test_worker.py shows the default, a second run on the other worker)
    replacement = start_worker(**QUICK, TRAINING_STALE_AFTER="3", JOB_SWEEP_SECONDS="1", JOB_MAX_ATTEMPTS="1")
    deadline = time.monotonic() + 60
    while client.get_task(task.id)[0].last_train_status != "FAILED" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client.get_task(task.id)[0].last_train_status == "FAILED"
    job = TrainingJob.objects.get()
    assert job.state == "failed" and "stopped responding" in job.error and "Gave up after 1 runs" in job.error
    assert client.get_task(task.id)[0].production_version == -1
    task.train()
    wait_for(lambda: client.get_task(task.id)[0].production_version == 1, replacement)
