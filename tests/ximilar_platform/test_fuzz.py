"""Schemathesis fuzzes every operation of the served ``/api/schema/``: no answer may be a 5xx (issue 12).

The target is the real server, ``manage.py serve --no-worker``: without a worker a ``train`` the
fuzzer starts only queues a job, so no training eats CI's CPU. The fuzzer runs once for the module,
as its CLI (its pytest loader does not run on pytest 9). It is given real objects, made first
through the API: their ids fill every path that names one (generated ids only meet 404s) and, half
of the time, the body fields that name one; every DELETE operation deletes objects of its own, so
no deletion leaves another operation without an object to reach.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.factories import image_bytes
from tests.ximilar_platform.test_serve import ROOT, free_port

pytestmark = pytest.mark.fuzz

MAX_EXAMPLES = 5  # per operation in the fuzzing phase; the coverage phase adds the schema's edge cases (most cases)
WORKERS = 2  # operations fuzzed at once, against as many server processes
SEED = 12  # the same cases every run: a failure in CI reproduces locally
RUN_TIMEOUT = 420  # seconds; the run takes about 3 minutes on 2 busy cores

# body fields that name objects -> the kinds of object (keys of make_objects) a value is drawn from
BODY_IDS = {
    "label_id": ("recognition label",),
    "labels[*]": ("recognition label",),
    "labels-add[*]": ("recognition label",),
    "labels-remove[*]": ("recognition label",),
    "task_id": ("recognition task", "detection task", "similarity task"),
    "task": ("similarity task",),
    "image_id": ("image",),
    "image": ("image",),
    "images[*]": ("image",),
    "detection_label": ("detection label",),
    "objects[*]": ("object",),
    "type_id": ("similarity type",),
    "type": ("similarity type",),
    "group_id": ("group",),
    "groups[*]": ("group",),
    "flow": ("flow",),
    "collection": ("collection key",),
}
BODY_IDS_BY_PATH = {"/detection/v2/task/": {"label_id": ("detection label",)}}  # where a field names another kind
# the path of each kind's objects, whose ``{id}`` (or ``{ref}``) names one
PATHS = {
    "recognition task": "/recognition/v2/task/",
    "recognition label": "/recognition/v2/label/",
    "image": "/recognition/v2/training-image/",
    "detection task": "/detection/v2/task/",
    "detection label": "/detection/v2/label/",
    "object": "/detection/v2/object/",
    "similarity type": "/similarity/training/v2/type/",
    "similarity task": "/similarity/training/v2/task/",
    "group": "/similarity/training/v2/group/",
    "collection": "/similarity/training/v2/collection/",
    "flow": "/flows/v2/flow/",
    "annotation job": "/annotate/v2/job/",
    "review": "/annotate/v2/review/",
    "verification": "/annotate/v2/verification/",
    "group verification": "/annotate/v2/similarity-verification/",
    "token": "/account/v2/token/",
    "recognition training": "/recognition/v2/training-job/",
    "detection training": "/detection/v2/training-job/",
    "similarity training": "/similarity/training/v2/training-job/",
}


@dataclass
class Served:
    endpoint: str
    session: requests.Session
    log: Path

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.session.post(self.endpoint + path, json=body, timeout=30)
        assert response.status_code < 300, f"POST {path}: {response.status_code} {response.text}"
        return response.json()


@dataclass
class FuzzRun:
    report: dict[str, Any]
    output: str
    server_log: str
    deleted: dict[str, str]  # DELETE operation -> the object it was given

    def explain(self) -> str:
        """The CLI's errors and failures (each with a curl command to replay it) and the server's tracebacks."""
        starts = [self.output.find(title) for title in ("ERRORS", "FAILURES") if title in self.output]
        failures = self.output[min(starts) :] if starts else self.output[-5000:]
        tracebacks = self.server_log.split("Unhandled error ")[1:]
        return failures + "\n--- server tracebacks ---\n" + "\n".join(block[:3000] for block in tracebacks[:10])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``manage.py serve --no-worker`` on a free port and a fresh DATA_DIR, with its demo token."""
    data = tmp_path_factory.mktemp("fuzz") / "data"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "MEDIA_ROOT"}}
    env.update(
        DATA_DIR=str(data),
        PORT=str(port),
        WEB_CONCURRENCY=str(WORKERS),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="ERROR",  # the tracebacks of 5xx, not a line per 4xx
        # small data rules, so fixture tasks can queue a (never run) training and have a job to read
        TRAINING_MIN_IMAGES_PER_LABEL="1",
        DETECTION_MIN_IMAGES_PER_LABEL="1",
        SIMILARITY_MIN_GROUPS="1",
        # the fuzzer's requests must reach the handlers, not a rate limit
        THROTTLE_RATE_API="",
        THROTTLE_RATE_PREDICT="",
        THROTTLE_RATE_TRAIN="",
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    log = data / "serve.log"
    with log.open("w") as output:  # a file, not a pipe: the access log of thousands of requests would fill one
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--no-worker"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            endpoint = f"http://localhost:{port}/"
            deadline = time.monotonic() + 120
            while True:
                try:
                    requests.get(endpoint, timeout=10)  # the first answer waits for the app to load
                    break
                except (requests.ConnectionError, requests.Timeout):
                    assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.3)
            session = requests.Session()  # serve wrote its demo token before starting the server
            session.headers["Authorization"] = f"Token {(data / 'demo_token').read_text().strip()}"
            yield Served(endpoint, session, log)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


def make_objects(api: Served, tag: int) -> dict[str, str]:
    """One object of every kind, linked as real data is: ``{kind: id}`` (a collection also by its key)."""

    def image(colour: tuple[int, int, int], label: str) -> str:
        body = {"base64": base64.b64encode(image_bytes(colour)).decode(), "labels": [label]}
        return api.post("recognition/v2/training-image/", body)["id"]

    task = api.post("recognition/v2/task/", {"name": f"fuzz {tag}"})["id"]
    cat, dog = (api.post("recognition/v2/label/", {"name": f"{name} {tag}"})["id"] for name in ("cat", "dog"))
    for label in (cat, dog):
        api.post(f"recognition/v2/task/{task}/add-label/", {"label_id": label})
    first, second = image((tag, 10, 200), cat), image((tag, 200, 10), dog)

    detection_task = api.post("detection/v2/task/", {"name": f"boxes {tag}"})["id"]
    box_label = api.post("detection/v2/label/", {"name": f"box {tag}"})["id"]
    api.post(f"detection/v2/task/{detection_task}/add-label/", {"label_id": box_label})
    box = api.post("detection/v2/object/", {"image": first, "detection_label": box_label, "data": [2, 2, 20, 20]})

    kind = api.post("similarity/training/v2/type/", {"name": f"kind {tag}"})["id"]
    similarity_task = api.post("similarity/training/v2/task/", {"name": f"same {tag}"})["id"]
    api.post(f"similarity/training/v2/task/{similarity_task}/add-type/", {"type_id": kind})
    group = api.post("similarity/training/v2/group/", {"name": f"pair {tag}", "type": kind})["id"]
    api.post(f"similarity/training/v2/group/{group}/add-images/", {"images": [first, second]})
    collection = api.post("similarity/training/v2/collection/", {"key": f"fuzz-{tag}"})
    top_node = {"type": "recognition", "task": task, "output_name": "animal"}
    return {
        "recognition task": task,
        "recognition label": cat,
        "image": first,  # labelled, boxed and verified
        "detection task": detection_task,
        "detection label": box_label,
        "object": box["id"],
        "similarity type": kind,
        "similarity task": similarity_task,
        "group": group,
        "collection": collection["id"],
        "collection key": collection["key"],
        "flow": api.post("flows/v2/flow/", {"name": f"flow {tag}", "top_node": top_node})["id"],
        "annotation job": api.post("annotate/v2/job/", {"task_id": detection_task, "name": "fuzz", "count": 1})["id"],
        "review": api.post("annotate/v2/review/", {"task_id": detection_task, "image_id": first})["id"],
        "verification": api.post("annotate/v2/verification/", {"image_id": first})["id"],
        "group verification": api.post("annotate/v2/similarity-verification/", {"group_id": group})["id"],
        "token": str(api.post("account/v2/token/", {"name": f"fuzz {tag}"})["id"]),  # not the fuzzer's own
    }


def queue_trainings(api: Served, objects: dict[str, str]) -> dict[str, str]:
    """A pending training job of each kind (no worker takes it), for the training-job routes."""
    jobs = {}
    for kind, prefix in (("recognition", "recognition/v2"), ("detection", "detection/v2"), ("similarity", None)):
        path = f"{prefix or 'similarity/training/v2'}/task/{objects[f'{kind} task']}/train/"
        jobs[f"{kind} training"] = api.post(path)["job"]["id"]
    return jobs


def toml(value: Any) -> str:
    """``value`` as a TOML value: JSON strings and numbers are TOML's, tables and arrays are written inline."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(key)} = {toml(item)}" for key, item in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def kind_of(path: str) -> str | None:
    """The kind of object a path's ``{id}`` (or ``{ref}``) names, if it names one of ours."""
    return next((kind for kind, prefix in PATHS.items() if path.startswith(prefix + "{")), None)


def with_id(path: str, value: str) -> str:
    return re.sub(r"\{\w+\}", value, path)


def body_bindings(fields: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """Half of the values of these body fields are drawn from the dictionary of their kinds' objects."""
    return {f"body.{field}": {"dictionary": "/".join(kinds), "probability": 0.5} for field, kinds in fields.items()}


def fuzz_config(endpoint: str, token: str, raw_schema: dict, objects: dict, victims: dict) -> dict[str, Any]:
    """The run's schemathesis.toml: the server, the token, the budget, one check, and the objects to use."""
    all_kinds = {kinds for fields in (BODY_IDS, *BODY_IDS_BY_PATH.values()) for kinds in fields.values()}
    operations = []
    for path, methods in raw_schema["paths"].items():
        kind = kind_of(path)
        for method in methods:
            label = f"{method.upper()} {path}"
            parameters = {}
            if kind is not None:
                placeholder = path[len(PATHS[kind]) + 1 : path.index("}")]
                parameters[f"path.{placeholder}"] = victims.get(label, objects)[kind]
            if path.startswith("/similarity/custom/"):
                parameters["header.collection-id"] = objects["collection key"]
            for prefix, fields in BODY_IDS_BY_PATH.items():
                if path.startswith(prefix):
                    parameters.update(body_bindings(fields))
            if parameters:
                operations.append({"include-name": label, "parameters": parameters})
    return {
        "base-url": endpoint,
        "seed": SEED,
        "workers": WORKERS,
        "headers": {"Authorization": f"Token {token}"},
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True}},
        "dictionaries": {"/".join(kinds): {"values": [objects[kind] for kind in kinds]} for kinds in all_kinds},
        "parameters": body_bindings(BODY_IDS),
        "operations": operations,
    }


@pytest.fixture(scope="module")
def fuzz_run(served: Served, tmp_path_factory: pytest.TempPathFactory) -> FuzzRun:
    """One schemathesis run over the whole schema, with its JSON report and the server's log.

    An error inside the fuzzer itself ("Runtime Error": an exception while generating cases, no
    request involved), with no failure of ours, gets one more run on fresh objects; the first
    run's errors are printed. Any failure, or a second such error, stands.
    """
    first = one_run(served, tmp_path_factory.mktemp("schemathesis"), tags_from=0)
    titles = {error["title"] for error in first.report["errors"]}
    if first.report["failures"] or titles != {"Runtime Error"}:
        return first
    print("The fuzzer's own error, run again on fresh objects:\n" + first.explain())
    return one_run(served, tmp_path_factory.mktemp("schemathesis"), tags_from=100)


def one_run(served: Served, work: Path, tags_from: int) -> FuzzRun:
    objects = make_objects(served, tags_from)
    objects.update(queue_trainings(served, objects))
    schema_url = served.endpoint + "api/schema/?format=json"
    raw = served.session.get(schema_url, timeout=30).json()
    deletes = [f"DELETE {path}" for path, methods in raw["paths"].items() if "delete" in methods and kind_of(path)]
    victims = {label: make_objects(served, tags_from + 1 + index) for index, label in enumerate(deletes)}
    token = served.session.headers["Authorization"].removeprefix("Token ")
    config = work / "schemathesis.toml"
    settings = fuzz_config(served.endpoint, token, raw, objects, victims)
    config.write_text("".join(f"{json.dumps(key)} = {toml(value)}\n" for key, value in settings.items()))
    report = work / "report.json"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", schema_url]
    command += ["--no-color", "--report", "json", "--report-json-path", str(report)]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert report.exists(), done.stdout + done.stderr
    deleted = {}  # the object of each DELETE operation that deletes one (wipe only empties a label)
    for label, objects_of_label in victims.items():
        path = label.split(" ", 1)[1]
        if path.endswith("}/"):
            deleted[label] = with_id(path, objects_of_label[kind_of(path)])
    return FuzzRun(json.loads(report.read_text()), done.stdout + done.stderr, served.log.read_text(), deleted)


def summary(report: dict[str, Any]) -> list[str]:
    """Schema-valid cases per group of operations: accepted (2xx), 404, 409 or refused (other 4xx)."""
    groups: dict[str, Counter] = defaultdict(Counter)
    for label, phases in report["valid_rates"].items():
        segments = label.split(" ", 1)[1].strip("/").split("/")
        end = segments.index("v2") + 2 if "v2" in segments else len(segments)  # the resource: flows/v2/flow
        group = "/".join(part for part in segments[:end] if "{" not in part)
        for rate in phases.values():
            groups[group].update(rate)
    lines = [
        f"schemathesis: {report['operations']['tested']} operations, {report['test_cases']['generated']} cases, "
        f"{report['running_time']:.0f} s; schema-valid cases per group:"
    ]
    for group, counts in sorted(groups.items()):
        total = sum(counts.values()) or 1
        names = ("accepted", "unreachable", "conflicts", "rejected")
        lines.append(f"  {group}: " + ", ".join(f"{name} {counts[name] / total:.0%}" for name in names))
    return lines


def test_no_operation_answers_a_server_error(fuzz_run: FuzzRun, capsys: pytest.CaptureFixture) -> None:
    with capsys.disabled():  # the numbers of every run, passed or not
        print("\n" + "\n".join(summary(fuzz_run.report)))
    assert fuzz_run.report["complete"] and fuzz_run.report["exit_code"] == 0, fuzz_run.explain()
    assert fuzz_run.report["failures"] == [] and fuzz_run.report["errors"] == [], fuzz_run.explain()


def test_every_operation_of_the_schema_was_fuzzed(fuzz_run: FuzzRun) -> None:
    operations = fuzz_run.report["operations"]
    assert operations["tested"] == operations["total"] > 100, operations


def test_the_fuzzer_reached_the_handlers_of_the_objects_it_was_given(fuzz_run: FuzzRun) -> None:
    """An operation on a fixture object whose every valid case met a 404 never ran its handler's code."""
    never_found = []
    for label, phases in fuzz_run.report["valid_rates"].items():
        counts: Counter = Counter()
        for rate in phases.values():
            counts.update(rate)
        path = label.split(" ", 1)[1]
        if kind_of(path) and not label.startswith("DELETE") and counts["unreachable"] == sum(counts.values()):
            never_found.append(label)
    assert never_found == []


def test_every_delete_operation_deleted_the_object_it_was_given(fuzz_run: FuzzRun, served: Served) -> None:
    assert len(fuzz_run.deleted) > 10
    for label, path in fuzz_run.deleted.items():
        assert served.session.get(served.endpoint + path.lstrip("/"), timeout=30).status_code == 404, label
