"""Faults of the real processes (issue 12): a broker restart that loses a queued job, and API processes
killed in the middle of a burst of uploads."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import requests

from tests.conftest import need
from tests.factories import colour_image_base64
from tests.ximilar_platform.conftest import worker_log
from tests.ximilar_platform.test_serve import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A Redis of this test alone (the shared one serves other tests) without persistence, and a restart of it."""
    need(shutil.which("redis-server"), "no redis-server to start")
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    url = f"redis://127.0.0.1:{port}/0"
    servers: list[subprocess.Popen] = []

    def start() -> None:
        servers.append(subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url, socket_connect_timeout=1).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def restart() -> None:
        servers[-1].terminate()  # with nothing to save, everything queued is gone
        servers[-1].wait(timeout=10)
        start()

    start()
    yield url, restart
    servers[-1].terminate()
    servers[-1].wait(timeout=10)


@pytest.mark.parametrize(("max_sends", "outcome"), [(3, "succeeded"), (1, "failed")])
def test_a_job_whose_message_a_redis_restart_lost_runs_after_a_resend_or_fails_saying_why(
    start_worker, alice, settings, own_redis, max_sends: int, outcome: str
) -> None:
    """The only worker is down (a deploy) when a training is queued, and Redis restarts before it is back."""
    from tests.ximilar_platform.recognition.test_training import make_task
    from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob

    url, restart_redis = own_redis
    quick = {
        "TRAINING_MIN_IMAGES_PER_LABEL": "4",
        "TRAINING_ARCH": "resnet18",
        "TRAINING_IMAGE_SIZE": "32",
        "TRAINING_EPOCHS": "2",
        "TORCH_THREADS": "1",
        "JOB_SWEEP_SECONDS": "1",
        "JOB_RESEND_AFTER": "1",
        "JOB_MAX_SENDS": str(max_sends),
    }
    settings.TRAINING_MIN_IMAGES_PER_LABEL = 4
    task, _ = make_task(alice.client, "multi_class", {"red": "red", "blue": "blue"}, per_label=4)
    queue = f"faults-{uuid.uuid4().hex}"
    first = start_worker("redis", redis_url=url, queue=queue, **quick)
    first.terminate()
    first.wait(timeout=60)
    assert alice.client.post(f"/recognition/v2/task/{task['id']}/train").status_code == 202
    job = TrainingJob.objects.get()
    broker = redis.Redis.from_url(url)
    assert (job.state, job.sends, broker.llen(queue)) == ("pending", 1, 1), "the message waits in Redis"

    restart_redis()
    assert redis.Redis.from_url(url).llen(queue) == 0, "the restart lost the message"
    second = start_worker("redis", redis_url=url, queue=queue, **quick)
    deadline = time.monotonic() + 180
    while job.state in ("pending", "running") and time.monotonic() < deadline and second.poll() is None:
        time.sleep(0.3)
        job.refresh_from_db()

    if outcome == "succeeded":  # the sweep sent it again and it ran, once
        assert job.state == "succeeded", job.error + worker_log(second)
        # sent again at least once (more when the worker's start outlasts JOB_RESEND_AFTER), run once
        assert job.sends >= 2 and job.attempt == 1, (job.sends, job.attempt)
        assert ModelVersion.objects.filter(task_id=task["id"]).count() == 1
    else:  # no sends left: it fails, saying why, rather than staying pending
        assert job.state == "failed", worker_log(second)
        assert job.error.startswith("No worker took the training after 1 sends"), job.error


def upload_burst(url: str, token: str, count: int, clients: int, on_done: Callable[[int], None]) -> dict[int, object]:
    """``count`` distinct uploads from ``clients`` threads; each index's answer (status and body) or error."""
    answers: dict[int, object] = {}
    indexes = iter(range(count))
    lock = threading.Lock()

    def client() -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        while True:
            with lock:
                index = next(indexes, None)
            if index is None:
                return
            body = {"base64": colour_image_base64(index, "green", size=96), "noresize": True}
            try:
                response = session.post(url + "recognition/v2/training-image", json=body, timeout=60)
                answer: object = (response.status_code, response.json())
            except requests.RequestException as error:  # the process serving it was killed
                answer = error
            with lock:
                answers[index] = answer
                done = len(answers)
            on_done(done)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_api_processes_killed_mid_burst_leave_no_row_without_files_and_the_sweep_no_file_without_row(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT"}}
    env.update(DATA_DIR=str(data), PYTHONUNBUFFERED="1")  # SQLite and files under DATA_DIR
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    token = subprocess.run(
        [*manage, "create_api_user", "burst"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ximilar_platform.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "2", "--threads", "4", "--graceful-timeout", "5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    killed: list[int] = []

    def kill_workers_at(done: int) -> None:
        """SIGKILL every API worker process once 50 and again once 125 uploads have answered."""
        if done in (50, 125):
            workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
            for pid in workers:
                os.kill(int(pid), signal.SIGKILL)
            killed.extend(int(pid) for pid in workers)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url, timeout=10)
                break
            except requests.RequestException:  # not listening yet, or its first request still loading Django
                assert time.monotonic() < deadline and server.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
        answers = upload_burst(url, token, count=200, clients=8, on_done=kill_workers_at)
    finally:
        server.terminate()
        server.wait(timeout=30)

    cut = [index for index, answer in answers.items() if isinstance(answer, Exception)]
    created = {answer[1]["id"] for answer in answers.values() if isinstance(answer, tuple) and answer[0] == 201}
    assert len(killed) >= 4 and cut, "the kills landed between requests; nothing was tested"
    assert len(created) + len(cut) == 200, {a for a in answers.values() if isinstance(a, tuple) and a[0] != 201}
    sweep = subprocess.run(
        [*manage, "sweep_orphan_files", "--older-than", "0"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    with sqlite3.connect(data / "db.sqlite3") as database:
        rows = database.execute("SELECT id, file, thumbnail FROM images_trainingimage").fetchall()
    media = data / "media"
    stored = {str(path.relative_to(media)) for path in media.rglob("*") if path.is_file()}
    named = {name for _, file, thumbnail in rows for name in (file, thumbnail)}
    assert created <= {str(uuid.UUID(row[0])) for row in rows}, "an upload answered 201 has no row"
    assert named <= stored, "a row names a file that is not there"
    assert stored <= named, f"files without a row after the sweep ({sweep.stdout.decode().strip()})"
    assert len(rows) <= len(created) + len(cut)  # a cut-off upload may have committed or not
    print(f"{len(cut)} uploads cut off, {len(rows) - len(created)} of them stored; {sweep.stdout.decode().strip()}")
