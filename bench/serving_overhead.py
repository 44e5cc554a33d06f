"""Benchmark: what the API adds to the bare predictor for classify, detect and descriptor (issue 16).

Self-contained: in a fresh ``--data`` folder it trains three tiny models with the ``training``
library (a 64 px EfficientNet-Lite0 categorizer, a 160 px YOLO11n detector and a 64 px embedder,
one epoch each: their quality does not matter, their size does), registers each as the
production version of a task, and starts ``manage.py serve --no-worker`` on that folder. Then,
per run and payload, interleaved:

- **floor**: the same ``requests.Session`` POSTing the same body to a do-nothing WSGI app served
  by gunicorn with the same workers, threads and keep-alive: what no server can remove;
- **bare**: in a fresh process of its own (no torch loaded), what the endpoint's model work costs:
  decoding the records (at the draft size the API would use) and one batched ``predict`` of the
  same artifact with the server's ``INFERENCE_THREADS``;
- **API**: the endpoint through HTTP.

The API's overhead is ``API p50 - bare p50 - floor p50``; the goals are at most 1 ms for one
record and at most 10 % of bare for ten 640 px JPEGs.

    .venv/bin/python bench/serving_overhead.py --runs 5 --calls 200
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
NOTHING_APP = """
def application(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def jpeg(side: int, seed: int) -> str:
    """A photo-like JPEG: smooth colour fields with a few shapes, so it compresses like a photo."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    image = Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y, size = (int(v) for v in rng.integers(0, side * 3 // 4, 3))
        draw.rectangle(
            [x, y, x + size // 3 + 8, y + size // 3 + 8], fill=tuple(int(c) for c in rng.integers(0, 255, 3))
        )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return base64.b64encode(buffer.getvalue()).decode()


def png28(seed: int) -> str:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def train_models(work: Path) -> dict:
    """The three tiny artifacts, from the training library (one epoch each, seconds)."""
    from training.classification import train
    from training.detection import train_detector
    from training.similarity import train_embedder
    from training.spec import Box, DetectionSample, DetectionSpec, EmbeddingSample, EmbeddingSpec, Sample, TrainingSpec

    images = work / "images"
    images.mkdir(parents=True)
    paths = []
    for index in range(16):
        path = images / f"{index}.jpg"
        path.write_bytes(base64.b64decode(jpeg(160, index)))
        paths.append(str(path))
    spec = TrainingSpec(task_type="multi_class", labels=("a", "b"), image_size=64, epochs=1, device="cpu")
    classifier = train(spec, [Sample(str(i), p, ("ab"[i % 2],)) for i, p in enumerate(paths)], work / "classifier")
    boxes = [DetectionSample(str(i), p, (Box("shape", 20.0, 20.0, 90.0, 90.0),)) for i, p in enumerate(paths)]
    detector = train_detector(
        DetectionSpec(
            labels=("shape",), image_size=160, epochs=1, batch_size=8, device="cpu", work_dir=str(work / "yolo")
        ),
        boxes,
        work / "detector",
    )
    items = [EmbeddingSample(str(i), p, f"item{i // 2}") for i, p in enumerate(paths)]
    embedder = train_embedder(EmbeddingSpec(image_size=64, epochs=1, device="cpu"), items, work / "embedder")
    return {"classify": classifier, "detect": detector, "descriptor": embedder}


def register(results: dict) -> tuple[str, dict[str, str]]:
    """A user with a token and a task per endpoint, each with its model deployed; returns (token, task ids)."""
    import json
    import shutil

    from ximilar_platform.accounts.services import create_api_user
    from ximilar_platform.detection.models import DetectionLabel, DetectionTask
    from ximilar_platform.recognition.models import Label, Task
    from ximilar_platform.similarity.models import SimilarityTask
    from ximilar_platform.training_jobs import runner
    from ximilar_platform.training_jobs.models import TrainingJob

    user, token = create_api_user(username=f"bench{int(time.time())}")
    workspace = user.owned_workspaces.get(is_default=True)
    tasks = {}
    for endpoint, kind, model in (
        ("classify", "recognition", Task),
        ("detect", "detection", DetectionTask),
        ("descriptor", "similarity", SimilarityTask),
    ):
        task = model.objects.create(workspace=workspace, name=f"bench {endpoint}")
        result = results[endpoint]
        if endpoint != "descriptor":  # label rows for the manifest's label ids
            label_model = Label if endpoint == "classify" else DetectionLabel
            rows = [
                label_model.objects.create(workspace=workspace, name=name)
                for name in ("a", "b")[: 2 if endpoint == "classify" else 1]
            ]
            task.labels.add(*rows)
            copy = Path(result.artifact_dir).with_name(f"{endpoint}-registered")
            shutil.copytree(result.artifact_dir, copy)
            manifest = json.loads((copy / "manifest.json").read_text())
            (copy / "manifest.json").write_text(json.dumps({**manifest, "labels": [str(row.id) for row in rows]}))
            result = type(result)(**{**result.__dict__, "artifact_dir": str(copy)})
        job = TrainingJob.objects.create(workspace=workspace, task_kind=kind, task_id=task.id, state="running")
        version = runner.record_version(job=job, result=result)
        job.succeed(version=version)
        model.objects.filter(id=task.id).update(production_version=version.version)
        tasks[endpoint] = str(task.id)
    return token, tasks


def bare_call(endpoint: str, artifact: str, records: list[dict]) -> Callable[[], object]:
    """Decoding (at the API's draft size) and one batched predict: the model work of one request."""
    import json

    from django.conf import settings

    from inference import load_predictor
    from inference.images import decode_record

    predictor = load_predictor(artifact, num_threads=settings.INFERENCE_THREADS)
    side = int(
        json.loads((Path(artifact) / "manifest.json").read_text()).get("preprocessing", {}).get("image_size") or 0
    )
    draft = max(settings.PREDICT_DECODE_MIN_SIDE, 2 * side) if settings.PREDICT_DECODE_MIN_SIDE > 0 else None
    options = {"keep_prob": 0.3} if endpoint == "detect" else {}

    def call() -> object:
        images = [decode_record(record, draft_size=(draft, draft) if draft else None).image for record in records]
        return predictor.predict(images, **options)

    return call


def bare_in_child(endpoint: str, artifact: str, records: list[dict], calls: int, env: dict, work: Path) -> list[float]:
    """`timings` of `bare_call` in a fresh process: no torch loaded, no training's threads beside it."""
    import json

    payload = work / "bare-records.json"
    payload.write_text(json.dumps(records))
    command = [sys.executable, __file__, "--bare", endpoint, artifact, str(payload), str(calls)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def timings(call: Callable[[], object], calls: int) -> list[float]:
    for _ in range(10):
        call()
    found = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        found.append((time.perf_counter() - started) * 1000)
    return found


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            assert process.poll() is None and time.monotonic() < deadline, f"{url} did not start"
            time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", help="a DATA_DIR to create (default: a temporary folder)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200, help="requests per payload, kind and run")
    parser.add_argument("--bare", nargs=4, metavar=("ENDPOINT", "ARTIFACT", "RECORDS", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:  # the child of bare_in_child
        import json

        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
        endpoint, artifact, payload, calls = args.bare
        records = json.loads(Path(payload).read_text())
        print(json.dumps(timings(bare_call(endpoint, artifact, records), int(calls))))
        return
    data = Path(args.data or tempfile.mkdtemp(prefix="serving-bench-"))
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATA_DIR=str(data), PYTHONUNBUFFERED="1")
    os.environ.update(DATA_DIR=str(data))
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    results = train_models(data / "work")
    token, tasks = register(results)
    api_port, floor_port = free_port(), free_port()
    api = start([sys.executable, "manage.py", "serve", "--no-worker"], {**env, "PORT": str(api_port)}, data / "api.log")
    (data / "nothing.py").write_text(NOTHING_APP)
    floor = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "nothing:application",
            "--chdir",
            str(data),
            "--bind",
            f"127.0.0.1:{floor_port}",
            "--workers",
            str(settings.WEB_CONCURRENCY),
            "--threads",
            str(settings.WEB_THREADS),
            "--keep-alive",
            "75",
        ],
        env,
        data / "nothing.log",
    )
    try:
        wait_for(f"http://127.0.0.1:{floor_port}/", floor)
        wait_for(f"http://127.0.0.1:{api_port}/healthz", api)
        payloads = {
            "1 x 28 px PNG": [{"_base64": png28(1)}],
            "10 x 640 px JPEG": [{"_base64": jpeg(640, 100 + i)} for i in range(10)],
        }
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        paths = {
            "classify": "recognition/v2/classify",
            "detect": "detection/v2/detect",
            "descriptor": "similarity/training/v2/descriptor",
        }
        rows: dict[tuple[str, str], dict[str, list[float]]] = {}
        for run in range(args.runs):
            for payload, records in payloads.items():
                for endpoint, path in paths.items():
                    body = {"task_id": tasks[endpoint], "records": records}
                    answer = session.post(f"http://127.0.0.1:{api_port}/{path}", json=body, timeout=60).json()
                    assert all(record["_status"]["code"] == 200 for record in answer["records"]), answer

                    def through(url: str, body: dict = body) -> Callable[[], object]:
                        return lambda: session.post(url, json=body, timeout=60)

                    found = {
                        "floor": timings(through(f"http://127.0.0.1:{floor_port}/"), args.calls),
                        "bare": bare_in_child(endpoint, results[endpoint].artifact_dir, records, args.calls, env, data),
                        "api": timings(through(f"http://127.0.0.1:{api_port}/{path}"), args.calls),
                    }
                    row = rows.setdefault((payload, endpoint), {"floor": [], "bare": [], "api": []})
                    for name, values in found.items():
                        row[name].append(statistics.median(values))
                    print(
                        f"run {run + 1} {payload} {endpoint}: "
                        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in found.items()),
                        flush=True,
                    )
        print("\n| payload | endpoint | floor p50 | bare p50 | API p50 | API - bare - floor | (API - floor) / bare |")
        print("|---|---|---|---|---|---|---|")
        for (payload, endpoint), row in rows.items():
            floor_ms, bare_ms, api_ms = (statistics.median(row[name]) for name in ("floor", "bare", "api"))
            added, ratio = api_ms - bare_ms - floor_ms, (api_ms - floor_ms) / bare_ms
            numbers = [f"{v:.2f}" for v in (floor_ms, bare_ms, api_ms)]
            cells = [payload, endpoint, *numbers, f"{added:+.2f}", f"{ratio:.2f}"]
            print("| " + " | ".join(cells) + " |")
    finally:
        for process in (api, floor):
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


if __name__ == "__main__":
    main()
