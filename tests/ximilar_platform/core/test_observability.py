"""Operations (issue 15): the probes, /metrics, request ids on answers and log lines."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import kombu
import pytest
import redis
import requests
from django.db import connections
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import need
from tests.factories import colour_image_base64
from tests.ximilar_platform.conftest import shared_database_url
from tests.ximilar_platform.flows import conftest as flows
from tests.ximilar_platform.s3server import S3Server, seaweedfs
from tests.ximilar_platform.test_serve import ROOT, free_port
from ximilar_platform.core.logs import JsonFormatter
from ximilar_platform.core.request_id import RequestIdFilter
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.training_jobs.models import TrainingJob

colour_model = flows.colour_model  # a tiny red-vs-blue classifier, trained once per session
SEARCH = "/similarity/custom/v2"
POD_IP = "10.1.2.3:8000"  # how kubelets and Prometheus call a pod: not in ALLOWED_HOSTS


def value(text: str, name: str, **labels: str) -> float:
    """One sample of a scrape, 0 when absent (a counter that never counted)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def scrape(client: Client, **headers: str) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.fixture
def broker_folders(settings, tmp_path: Path) -> dict[str, str]:
    """The embedded broker in folders of this test (the probes and the queue depth read them)."""
    settings.REDIS_URL = ""
    options = {
        key: str(tmp_path / "broker" / key)
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
    }
    options["data_folder_out"] = options["data_folder_in"]
    for folder in options.values():
        Path(folder).mkdir(parents=True, exist_ok=True)
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**options, "store_processed": False}
    return options


@pytest.fixture
def silent_server(settings) -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers (a hung host)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"


@pytest.fixture
def console() -> Iterator[tuple[logging.Handler, io.StringIO]]:
    """The log handler settings.LOGGING configured, writing into a buffer for the test."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters))
    assert isinstance(handler, logging.StreamHandler)
    stream, formatter = io.StringIO(), handler.formatter
    previous = handler.setStream(stream)
    yield handler, stream
    handler.setStream(previous)
    handler.setFormatter(formatter)


# probes


def test_healthz_answers_without_token_database_or_an_allowed_host(client: Client) -> None:
    # no `db` fixture: any query would fail the test
    for path in ("/healthz", "/healthz/"):
        response = client.get(path, HTTP_HOST=POD_IP)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    refused = client.post("/healthz", HTTP_HOST=POD_IP)
    assert refused.status_code == 405 and refused.json()["code"] == "method_not_allowed"


def test_readyz_checks_database_broker_and_storage(db, client: Client, broker_folders) -> None:
    response = client.get("/readyz", HTTP_HOST=POD_IP)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "broker": True,
        "storage": True,
    }


def test_readyz_answers_503_naming_an_unreachable_redis(db, client: Client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failed"] == ["broker"]
    assert body["checks"]["broker"]["error"] == "unreachable (ConnectionError)"
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]


def test_a_hung_broker_fails_readyz_within_the_timeout(db, client: Client, settings, silent_server: str) -> None:
    settings.REDIS_URL, settings.READYZ_TIMEOUT = silent_server, 0.5
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503 and response.json()["failed"] == ["broker"]


def test_readyz_answers_503_naming_an_unreachable_database(
    db, client: Client, broker_folders, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the check connects in a thread of its own, from these settings: point them at nothing
    database = connections.settings["default"]
    if database["ENGINE"].endswith("sqlite3"):
        unreachable = {**database, "NAME": "/nonexistent/folder/db.sqlite3"}
    else:
        unreachable = {**database, "HOST": "127.0.0.1", "PORT": "9"}
    monkeypatch.setitem(connections.settings, "default", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database"] and body["checks"]["database"]["error"] == "unreachable (OperationalError)"


def test_readyz_answers_503_when_media_cannot_be_written(
    db, client: Client, settings, tmp_path: Path, broker_folders
) -> None:
    (tmp_path / "a-file").write_text("")
    settings.MEDIA_ROOT = tmp_path / "a-file" / "media"
    body = client.get("/readyz").json()
    assert body["failed"] == ["storage"] and body["checks"]["storage"]["error"] == "media folder is not writable"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def test_readyz_checks_the_bucket_when_storage_is_s3(
    db, client: Client, settings, s3: S3Server, broker_folders
) -> None:
    settings.AWS_S3_ENDPOINT_URL, settings.AWS_S3_REGION_NAME = s3.endpoint, "us-east-1"
    settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = s3.access_key, s3.secret_key
    s3_storage = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    settings.AWS_STORAGE_BUCKET_NAME, settings.STORAGES = s3.bucket, s3_storage  # STORAGES last: rebuilt from them
    assert client.get("/readyz").status_code == 200
    settings.AWS_STORAGE_BUCKET_NAME, settings.STORAGES = "no-such-bucket", {**s3_storage}
    body = client.get("/readyz").json()
    assert body["failed"] == ["storage"] and body["checks"]["storage"]["error"] == "unreachable (ClientError)"


# /metrics


def test_request_latency_is_labelled_by_route_pattern_not_path(alice, client: Client) -> None:
    labels = {"route": "recognition/v2/task/<pk>", "method": "GET", "status": "4xx"}
    before = value(scrape(client), "ximilar_http_request_duration_seconds_count", **labels)
    task_id = str(uuid.uuid4())
    assert alice.client.get(f"/recognition/v2/task/{task_id}/").status_code == 404
    text = scrape(client)
    assert value(text, "ximilar_http_request_duration_seconds_count", **labels) == before + 1
    assert task_id not in text
    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}  # the catch-all: every unknown path
    before = value(text, "ximilar_http_request_duration_seconds_count", **unmatched)
    assert client.get(f"/no/such/{task_id}").status_code == 404
    assert value(scrape(client), "ximilar_http_request_duration_seconds_count", **unmatched) == before + 1


def test_records_predicted_are_counted_per_service(alice, client: Client) -> None:
    before = value(scrape(client), "ximilar_records_predicted_total", service="search")
    records = [{"_id": f"r{i}", "_descriptor": [1.0, float(i), 0.5]} for i in range(3)]
    inserted = alice.client.post(f"{SEARCH}/insert", {"records": records}, format="json", HTTP_COLLECTION_ID="shop")
    assert inserted.status_code == 200
    assert value(scrape(client), "ximilar_records_predicted_total", service="search") == before + 3


def test_classify_counts_records_and_model_cache_lookups_and_loads(
    alice, client: Client, colour_model, tmp_path: Path
) -> None:
    colours = Task.objects.create(workspace=alice.workspace, name="colours")
    for label_id, name in ((flows.RED, "red"), (flows.BLUE, "blue")):
        colours.labels.add(Label.objects.create(id=label_id, workspace=alice.workspace, name=name))
    flows.register(colours, "recognition", colour_model, tmp_path)
    text = scrape(client)
    before = [
        value(text, "ximilar_records_predicted_total", service="recognition"),
        value(text, "ximilar_model_cache_lookups_total"),
        value(text, "ximilar_model_load_duration_seconds_count"),
    ]
    records = [{"_base64": colour_image_base64(i, "red")} for i in range(2)]
    body = {"task_id": str(colours.id), "records": records}
    for _ in range(2):  # the second request finds the model loaded
        answer = alice.client.post("/recognition/v2/classify", body, format="json")
        assert answer.status_code == 200, answer.json()
    text = scrape(client)
    assert [
        value(text, "ximilar_records_predicted_total", service="recognition"),
        value(text, "ximilar_model_cache_lookups_total"),
        value(text, "ximilar_model_load_duration_seconds_count"),
    ] == [before[0] + 4, before[1] + 2, before[2] + 1]


def test_queue_depth_is_read_from_the_embedded_broker(db, client: Client, settings, broker_folders) -> None:
    settings.TRAINING_QUEUE = "training-depth-test"
    with kombu.Connection("filesystem://", transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as broker:
        queue = broker.SimpleQueue(settings.TRAINING_QUEUE)
        for index in range(3):
            queue.put({"n": index})
        queue.close()
    text = scrape(client)
    assert value(text, "ximilar_queue_messages", queue="training-depth-test") == 3
    assert value(text, "ximilar_queue_messages", queue="default") == 0
    assert value(text, "ximilar_scrape_up", source="queues") == 1


def test_queue_depth_is_read_from_redis(db, client: Client, settings) -> None:
    url = "redis://127.0.0.1:6379/15"
    try:
        reachable = redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        reachable = False
    need(reachable, "no Redis on 127.0.0.1:6379")
    settings.REDIS_URL, settings.TRAINING_QUEUE = url, f"depth-{uuid.uuid4().hex}"
    with kombu.Connection(url) as broker:
        queue = broker.SimpleQueue(settings.TRAINING_QUEUE)
        queue.put({"n": 0})
        queue.put({"n": 1}, priority=9)  # kombu keeps another list per priority step
        try:
            assert value(scrape(client), "ximilar_queue_messages", queue=settings.TRAINING_QUEUE) == 2
        finally:
            queue.clear()
            queue.close()


def test_an_unreachable_broker_leaves_queue_depth_out_of_a_scrape_that_still_answers(
    db, client: Client, settings
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    text = scrape(client)
    assert value(text, "ximilar_scrape_up", source="queues") == 0
    assert value(text, "ximilar_scrape_up", source="jobs") == 1
    assert "ximilar_queue_messages" not in text


def test_job_counts_and_run_times_are_read_from_the_database(alice, client: Client, settings) -> None:
    now, workspace = timezone.now(), alice.workspace

    def job(state: str, started_ago: float | None, ran: float | None = None) -> None:
        started = now - timedelta(seconds=started_ago) if started_ago is not None else None
        finished = started + timedelta(seconds=ran) if ran is not None else None
        TrainingJob.objects.create(
            workspace=workspace, task_id=uuid.uuid4(), state=state, started=started, finished=finished
        )

    job("pending", None)
    job("running", 60)
    job("succeeded", 100, ran=30)
    job("succeeded", 4000, ran=3000)
    job("failed", 400, ran=200)
    job("succeeded", 3 * 86400, ran=40)  # ended before the window
    settings.METRICS_JOBS_WINDOW = 86400
    text = scrape(client)
    training = {"job": "training"}
    assert value(text, "ximilar_jobs_active", **training, state="pending") == 1
    assert value(text, "ximilar_jobs_active", **training, state="running") == 1
    assert value(text, "ximilar_jobs_ended", **training, state="succeeded") == 2
    assert value(text, "ximilar_jobs_ended", **training, state="failed") == 1
    assert value(text, "ximilar_jobs_ended", **training, state="cancelled") == 0
    succeeded = {**training, "state": "succeeded"}
    assert value(text, "ximilar_job_run_seconds_bucket", **succeeded, le="60.0") == 1
    assert value(text, "ximilar_job_run_seconds_bucket", **succeeded, le="3600.0") == 2
    assert value(text, "ximilar_job_run_seconds_bucket", **succeeded, le="+Inf") == 2
    assert value(text, "ximilar_job_run_seconds_gsum", **succeeded) == pytest.approx(3030)
    assert value(text, "ximilar_jobs_active", job="suggestions", state="running") == 0  # every job model is listed


def test_metrics_need_the_token_when_one_is_set(db, client: Client, settings) -> None:
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    refused = client.get("/metrics", HTTP_HOST=POD_IP)
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    text = scrape(client, HTTP_HOST=POD_IP, HTTP_AUTHORIZATION="Bearer s3cret-scraper-token", REMOTE_ADDR="10.0.0.9")
    assert "ximilar_http_request_duration_seconds" in text


def test_metrics_without_a_token_answer_loopback_clients_only(db, client: Client, settings) -> None:
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    remote = client.get("/metrics", REMOTE_ADDR="10.0.0.9")
    assert remote.status_code == 403 and "METRICS_TOKEN" in remote.json()["detail"]
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 403  # a proxy on this host
    settings.METRICS_ENABLED = False
    assert client.get("/metrics").status_code == 404


# request ids


def test_a_safe_request_id_is_echoed_and_any_other_replaced(client: Client) -> None:
    assert client.get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a.1:2").headers["X-Request-ID"] == "edge-7f3a.1:2"
    for unsafe in ("a b", "x" * 65, "<script>", ""):
        made = client.get("/healthz", HTTP_X_REQUEST_ID=unsafe).headers["X-Request-ID"]
        assert made != unsafe and len(made) == 32
    first, second = (client.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second


def test_log_lines_of_a_request_carry_its_id(db, client: Client, settings, console) -> None:
    handler, stream = console
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # readyz logs why the broker check failed
    client.get("/readyz", HTTP_X_REQUEST_ID="probe-1")
    assert "[probe-1] ximilar_platform.core.health: Readiness check broker failed" in stream.getvalue()
    client.get("/no/such/page", HTTP_X_REQUEST_ID="probe-404")  # Django logs it after the middleware returned
    assert "[probe-404] django.request: Not Found: /no/such/page" in stream.getvalue()

    handler.setFormatter(JsonFormatter())
    stream.truncate(0)
    stream.seek(0)
    client.get("/readyz", HTTP_X_REQUEST_ID="probe-2")
    entries = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    [entry] = [entry for entry in entries if entry["logger"] == "ximilar_platform.core.health"]
    assert entry["request_id"] == "probe-2" and entry["level"] == "WARNING"
    assert "ConnectionError" in entry["exception"]
    logging.getLogger("outside").warning("no request")
    assert json.loads(stream.getvalue().splitlines()[-1])["request_id"] == "-"


def test_an_unhandled_error_is_logged_with_its_error_id_and_request_id(
    alice, console, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, stream = console

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("ximilar_platform.accounts.usage.usage_of", broken)
    response = alice.client.get("/account/v2/usage", HTTP_X_REQUEST_ID="req-500")
    assert response.status_code == 500 and response["X-Request-ID"] == "req-500"
    error_id = response.json()["error_id"]
    assert f"[req-500] ximilar_platform.core.api.exceptions: Unhandled error {error_id}" in stream.getvalue()


# gunicorn


def test_gunicorn_workers_answer_one_set_of_counts(transactional_db, tmp_path: Path) -> None:
    """Two workers count requests; every scrape, whichever worker answers it, reports them all."""
    port, base = free_port(), tmp_path / "run"
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "DATA_DIR": str(base / "data"), "TMPDIR": str(base)}
    base.mkdir()
    command = [sys.executable, "-m", "gunicorn", "ximilar_platform.wsgi:application"]
    command += ["--config", "python:ximilar_platform.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--threads", "1", "--access-logfile", "-"]
    with open(tmp_path / "gunicorn.log", "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(url + "/", timeout=5)
                break
            except (requests.ConnectionError, requests.Timeout):  # the first answer waits for the app to load
                assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.3)
        with ThreadPoolExecutor(8) as pool:  # concurrent connections: both workers take some
            answers = list(pool.map(lambda _: requests.get(url + "/healthz", timeout=30).status_code, range(40)))
        assert answers == [200] * 40
        assert requests.get(url + "/", headers={"X-Request-ID": "access-line"}, timeout=30).ok
        [folder] = base.glob("ximilar-metrics-*")
        healthz = {"route": "healthz", "method": "GET", "status": "2xx"}
        counts = [
            value(
                requests.get(url + "/metrics", timeout=30).text,
                "ximilar_http_request_duration_seconds_count",
                **healthz,
            )
            for _ in range(6)
        ]
        assert counts == [40] * 6
        assert len(list(folder.glob("histogram_*.db"))) == 2, "one worker took every request"
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert not folder.exists()  # removed when gunicorn exits
    assert '"GET / HTTP/1.1" 200' in (log := (tmp_path / "gunicorn.log").read_text()) and " access-line\n" in log
