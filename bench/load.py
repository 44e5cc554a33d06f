"""Benchmark: the whole service under concurrent load, on Postgres and Redis, while a training runs.

    .venv/bin/python bench/load.py [--clients 8] [--duration 60] [--postgres postgres://root@127.0.0.1:5432]
                                   [--redis redis://host:6379/0] [--no-detect]

Starts the real service (``manage.py serve``: gunicorn, 2 processes x 4 threads, and one Celery
worker) on a Postgres database made for the run (``bench_load_<pid>``, dropped at the end) and a
Redis of its own (``redis-server`` without persistence on a free port, unless ``--redis`` names
one), with rate limits off. Through the API it prepares a categorization task (2 labels x 20
noisy 64 px images, trained), a detection task (20 images with one box each, trained for 3
epochs at 64 px; ``--no-detect`` leaves it out) and a search collection of 2000 128-d
descriptors. Then ``--clients`` threads, each with its own ``requests.Session``, send for
``--duration`` seconds a mix of uploads (``POST recognition/v2/training-image``, a new image
each), classify, detect, visualKNN and listing requests, while a trainer thread retrains the
categorization task back to back (the classify model is replaced under the load).

Reports requests, 5xx (must be 0), other statuses and client errors, p50/p99 per endpoint, the
share of the load phase a training was running, and consistency: every upload answered 201 reads
back by id with both its files on disk under ``DATA_DIR/media``, and no file there lacks its row.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import psycopg
import requests
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
MIX = {"upload": 3, "classify": 3, "detect": 2, "search": 2, "list": 2}  # relative weights of the operations
COLLECTION = "load-bench"
DIMENSION = 128


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def jpeg_base64(rng: np.random.Generator, side: int = 64, channel: int | None = None) -> str:
    """Noisy pixels (so every upload is new), dominated by one colour channel when ``channel`` is given."""
    pixels = rng.integers(0, 90, (side, side, 3), dtype=np.uint8)
    if channel is not None:
        pixels[:, :, channel] = rng.integers(150, 256, (side, side), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()


def square_scene(rng: np.random.Generator, side: int = 64) -> tuple[str, list[int]]:
    """A white square on noise, and its box."""
    pixels = rng.integers(0, 90, (side, side, 3), dtype=np.uint8)
    size = int(rng.integers(side // 4, side // 2))
    x, y = (int(v) for v in rng.integers(0, side - size, 2))
    pixels[y : y + size, x : x + size] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode(), [x, y, x + size, y + size]


@contextmanager
def database(server: str) -> Iterator[str]:
    """A new, empty Postgres database for this run, dropped afterwards; yields its URL."""
    name = f"bench_load_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def own_redis(url: str | None, folder: Path) -> Iterator[str]:
    """``url`` if given, else a redis-server of this run (no persistence) on a free port."""
    if url:
        yield url
        return
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def service(env: dict[str, str], log: Path) -> Iterator[str]:
    """``manage.py serve`` (its output, access log included, into ``log``); yields the API token."""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 120
        while not (token := [line for line in log.read_text().splitlines() if line.startswith("API token: ")]):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        url = f"http://127.0.0.1:{env['PORT']}/"
        while True:
            try:
                requests.get(url, timeout=10)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
        yield token[0].removeprefix("API token: ").strip()
    finally:
        process.send_signal(signal.SIGINT)  # serve stops the API and the worker
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def session(token: str) -> requests.Session:
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    return api


def wait_trained(api: requests.Session, url: str, kind: str, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while (job := api.get(url + f"{kind}/v2/training-job/{job_id}").json())["state"] in ("pending", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(1)
    return job


def prepare(api: requests.Session, url: str, detect: bool, report: dict) -> dict:
    """The trained tasks and the collection the load phase uses; their ids."""
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    task = api.post(url + "recognition/v2/task", json={"name": "load"}).json()
    for channel, name in ((0, "red"), (2, "blue")):
        label = api.post(url + "recognition/v2/label", json={"name": name}).json()
        api.post(url + f"recognition/v2/task/{task['id']}/add-label", json={"label_id": label["id"]})
        for _ in range(20):
            body = {"base64": jpeg_base64(rng, channel=channel), "noresize": True, "labels": [label["id"]]}
            assert api.post(url + "recognition/v2/training-image", json=body).status_code == 201
    recognition_job = api.post(url + f"recognition/v2/task/{task['id']}/train").json()["job"]["id"]
    ids = {"task": task["id"]}
    if detect:
        detection = api.post(url + "detection/v2/task", json={"name": "load"}).json()
        label = api.post(url + "detection/v2/label", json={"name": "square"}).json()
        api.post(url + f"detection/v2/task/{detection['id']}/add-label", json={"label_id": label["id"]})
        for _ in range(20):
            image, box = square_scene(rng)
            created = api.post(url + "recognition/v2/training-image", json={"base64": image, "noresize": True}).json()
            body = {"image": created["id"], "detection_label": label["id"], "data": box}
            assert api.post(url + "detection/v2/object", json=body).status_code == 201
        detection_job = api.post(url + f"detection/v2/task/{detection['id']}/train").json()["job"]["id"]
        ids["detection"] = detection["id"]
    vectors = rng.normal(size=(2000, DIMENSION))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for start in range(0, len(vectors), 1000):
        records = [{"_id": str(i), "_descriptor": vectors[i].tolist()} for i in range(start, start + 1000)]
        headers = {"collection-id": COLLECTION}
        answer = api.post(url + "similarity/custom/v2/insert", json={"records": records}, headers=headers)
        assert not answer.json()["skipped_records"], answer.text[:500]
    for kind, job_id in (("recognition", recognition_job), *((("detection", detection_job),) if detect else ())):
        job = wait_trained(api, url, kind, job_id)
        assert job["state"] == "succeeded", job
        report["setup"][f"{kind}_training_s"] = round(seconds_between(job["started"], job["finished"]), 1)
    report["setup"]["seconds"] = round(time.perf_counter() - started, 1)
    return ids


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


class Load:
    """The clients' requests and what they answered, gathered under one lock."""

    def __init__(self, url: str, token: str, ids: dict, detect: bool, seconds: float) -> None:
        self.url, self.token, self.ids, self.seconds = url, token, ids, seconds
        self.mix = {name: weight for name, weight in MIX.items() if detect or name != "detect"}
        self.latency: dict[str, list[float]] = {name: [] for name in self.mix}
        self.statuses: dict[str, Counter] = {name: Counter() for name in self.mix}
        self.uploaded: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        rng = np.random.default_rng(1)
        self.payloads = [jpeg_base64(rng, channel=i % 3) for i in range(20)]

    def request(self, api: requests.Session, name: str, rng: np.random.Generator) -> requests.Response:
        url, ids = self.url, self.ids
        record = {"_base64": self.payloads[int(rng.integers(len(self.payloads)))]}
        if name == "upload":
            return api.post(url + "recognition/v2/training-image", json={"base64": jpeg_base64(rng), "noresize": True})
        if name == "classify":
            return api.post(url + "recognition/v2/classify", json={"task_id": ids["task"], "records": [record]})
        if name == "detect":
            return api.post(url + "detection/v2/detect", json={"task_id": ids["detection"], "records": [record]})
        if name == "search":
            query = {"query_record": {"_id": str(int(rng.integers(2000)))}, "k": 10}
            return api.post(url + "similarity/custom/v2/visualKNN", json=query, headers={"collection-id": COLLECTION})
        return api.get(url + f"recognition/v2/training-image?page_size=20&page={int(rng.integers(1, 4))}")

    def client(self, seed: int) -> None:
        api, rng, chooser = session(self.token), np.random.default_rng(100 + seed), random.Random(seed)
        names, weights = list(self.mix), list(self.mix.values())
        while not self.stop.is_set():
            name = chooser.choices(names, weights)[0]
            started = time.perf_counter()
            try:
                response = self.request(api, name, rng)
                status: int | str = response.status_code
            except requests.RequestException as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - started
            with self.lock:
                self.latency[name].append(elapsed)
                self.statuses[name][status] += 1
                if name == "upload" and status == 201:
                    self.uploaded.append(response.json()["id"])

    def trainer(self, runs: list[dict]) -> None:
        """Retrain the classify task back to back until the load stops; the last run is cancelled."""
        api = session(self.token)
        while not self.stop.is_set():
            answer = api.post(self.url + f"recognition/v2/task/{self.ids['task']}/train")
            assert answer.status_code == 202, answer.text
            job_id = answer.json()["job"]["id"]
            while (job := api.get(self.url + f"recognition/v2/training-job/{job_id}").json())["state"] in (
                "pending",
                "running",
            ):
                if self.stop.wait(0.5):
                    api.post(self.url + f"recognition/v2/training-job/{job_id}/cancel")
                    job = api.get(self.url + f"recognition/v2/training-job/{job_id}").json()
                    break
            runs.append(job)

    def run(self, clients: int) -> dict:
        runs: list[dict] = []
        threads = [threading.Thread(target=self.client, args=(i,)) for i in range(clients)]
        threads.append(threading.Thread(target=self.trainer, args=(runs,)))
        started = time.time()
        for thread in threads:
            thread.start()
        time.sleep(self.seconds)
        self.stop.set()
        for thread in threads:
            thread.join()
        ended = time.time()
        return {
            "wall_s": round(ended - started, 1),
            "load_average_1min_after": round(os.getloadavg()[0], 1),
            "trainings": training_share(runs, started, ended),
        }


def training_share(runs: list[dict], started: float, ended: float) -> dict:
    """How the trainings of the load phase went, and the share of it during which one was running."""
    busy = 0.0
    for job in runs:
        if job["started"]:
            begin = datetime.fromisoformat(job["started"]).timestamp()
            end = datetime.fromisoformat(job["finished"]).timestamp() if job["finished"] else ended
            busy += max(0.0, min(end, ended) - max(begin, started))
    return {
        "states": dict(Counter(job["state"] for job in runs)),
        "versions_made": [job["version"] for job in runs if job["version"]],
        "last_progress": runs[-1]["progress"] if runs else None,
        "running_share": round(busy / (ended - started), 2),
    }


def percentiles(values: list[float]) -> dict:
    milliseconds = np.array(values) * 1000
    return {f"p{q}": round(float(np.percentile(milliseconds, q)), 1) for q in (50, 99)}


def stored_name(media_url: str) -> str:
    """The storage name (relative to MEDIA_ROOT) of a local ``/media/...`` URL."""
    return urlparse(media_url).path.removeprefix("/media/")


def consistency(api: requests.Session, url: str, media: Path, uploaded: list[str]) -> dict:
    """Every 201 reads back with its two files on disk; every file under media/images|thumbs has a row."""
    missing_rows, missing_files = [], []
    for image_id in uploaded:
        answer = api.get(url + f"recognition/v2/training-image/{image_id}")
        if answer.status_code != 200:
            missing_rows.append(image_id)
            continue
        for field in ("img_path", "thumb_img_path"):
            if not (media / stored_name(answer.json()[field])).is_file():
                missing_files.append(answer.json()[field])
    named, page = set(), 1
    while True:
        listing = api.get(url + f"recognition/v2/training-image?page_size=1000&page={page}").json()
        named |= {stored_name(row[field]) for row in listing["results"] for field in ("img_path", "thumb_img_path")}
        if not listing["next"]:
            break
        page += 1
    files = [path for folder in ("images", "thumbs") for path in (media / folder).rglob("*") if path.is_file()]
    stored = {str(path.relative_to(media)) for path in files}
    return {
        "uploads_201": len(uploaded),
        "201_without_row": len(missing_rows),
        "201_without_file": len(missing_files),
        "rows": listing["count"],
        "files_without_row": len(stored - named),
        "rows_without_file": len(named - stored),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60, help="seconds of the load phase")
    parser.add_argument("--postgres", default="postgres://root@127.0.0.1:5432", help="server URL, no database")
    parser.add_argument("--redis", help="a Redis to use; default: a redis-server of this run")
    parser.add_argument("--no-detect", dest="detect", action="store_false", help="no detection task, no detect")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="load-bench-"))
    report: dict = {"clients": args.clients, "duration_s": args.duration, "setup": {}}
    report["load_average_1min_before"] = round(os.getloadavg()[0], 1)  # the machine may be shared
    try:
        with database(args.postgres) as database_url, own_redis(args.redis, folder) as redis_url:
            env = {
                **{key: value for key, value in os.environ.items() if key != "MEDIA_ROOT"},
                "DATA_DIR": str(folder / "data"),
                "PORT": str(free_port()),
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "PYTHONUNBUFFERED": "1",
                "WEB_CONCURRENCY": "2",
                "WEB_THREADS": "4",
                "THROTTLE_RATE_API": "",  # the load is the point, not the rate limits
                "THROTTLE_RATE_PREDICT": "",
                "THROTTLE_RATE_TRAIN": "",
                "TRAINING_EPOCHS": "8",  # 20-30 s a run on 40 images here: several runs end during the load
                "TRAINING_IMAGE_SIZE": "64",
                "DETECTION_EPOCHS": "3",
                "DETECTION_IMAGE_SIZE": "64",
            }
            with service(env, folder / "serve.log") as token:
                url = f"http://127.0.0.1:{env['PORT']}/"
                api = session(token)
                ids = prepare(api, url, args.detect, report)
                load = Load(url, token, ids, args.detect, args.duration)
                report["load"] = load.run(args.clients)
                report["requests"] = sum(sum(counts.values()) for counts in load.statuses.values())
                report["requests_per_s"] = round(report["requests"] / report["load"]["wall_s"], 1)
                report["5xx"] = sum(
                    n for counts in load.statuses.values() for status, n in counts.items() if str(status)[0] == "5"
                )
                report["statuses"] = {name: dict(counts) for name, counts in load.statuses.items()}
                report["latency_ms"] = {name: percentiles(values) for name, values in load.latency.items() if values}
                report["consistency"] = consistency(api, url, folder / "data" / "media", load.uploaded)
    except BaseException:
        print(f"Failed; the server's data and log are kept in {folder}", file=sys.stderr)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
