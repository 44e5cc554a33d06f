"""Benchmark: train a detector on synthetic shapes through the API, then time detect.

Data: 3 shape classes (square, disc, triangle), 1-4 objects per image of 10-40 % of the side, in
random colours, on textured backgrounds (low-frequency colour noise, stripes, pixel noise,
random lines as distractors), plus 5 % negative images. Against a server started with
``make run`` (same DATA_DIR as here):

    DATA_DIR=./data .venv/bin/python bench/detection_shapes.py --token <API token>

Reports validation mAP@0.5 and mAP@0.5:0.95 from the version's metrics, mAP@0.5 measured
through ``detection/v2/detect`` on 60 fresh images, training wall time next to the time the train
answer expected, the epochs run, and detect latency p50/p95 for 1 image per request against the
bare in-process predictor on the same payloads.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CLASSES = ("square", "disc", "triangle")


def texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth colour blotches, stripes at a random angle and pixel noise."""
    coarse = rng.uniform(30, 220, (5, 5, 3)).astype(np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 16)
    y, x = np.mgrid[0:size, 0:size]
    stripes = 25 * np.sin((x * np.cos(angle) + y * np.sin(angle)) / period)[..., None]
    return np.clip(base + stripes + rng.normal(0, 18, (size, size, 3)), 0, 255).astype(np.uint8)


def scene(rng: np.random.Generator, size: int, negative: bool = False) -> tuple[Image.Image, list[tuple[str, list]]]:
    image = Image.fromarray(texture(rng, size))
    pen = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):  # distractor lines
        points = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2)]
        pen.line(points, fill=tuple(int(v) for v in rng.integers(0, 256, 3)), width=int(rng.integers(1, 4)))
    objects: list[tuple[str, list]] = []
    for _ in range(0 if negative else 40):
        if len(objects) >= int(rng.integers(1, 5)):
            break
        name = CLASSES[int(rng.integers(len(CLASSES)))]
        side = int(size * rng.uniform(0.1, 0.4))
        x0, y0 = int(rng.integers(0, size - side)), int(rng.integers(0, size - side))
        box = [x0, y0, x0 + side, y0 + side]
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for _, b in objects):
            continue
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if name == "square":
            pen.rectangle([x0, y0, x0 + side - 1, y0 + side - 1], fill=colour)
        elif name == "disc":
            pen.ellipse([x0, y0, x0 + side - 1, y0 + side - 1], fill=colour)
        else:
            pen.polygon([(x0 + side / 2, y0), (x0, y0 + side - 1), (x0 + side - 1, y0 + side - 1)], fill=colour)
        objects.append((name, box))
    return image, objects


def png_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def average_precision(detections: list[tuple[float, bool]], positives: int) -> float:
    """AP at one IoU threshold: area under the interpolated precision-recall curve (VOC, all points)."""
    if not positives:
        return 0.0
    detections = sorted(detections, key=lambda d: -d[0])
    hits = np.cumsum([hit for _, hit in detections])
    precision = hits / np.arange(1, len(detections) + 1)
    recall = hits / positives
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[1.0], precision, [0.0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


def iou(a: list, b: list) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def map50(truths: list[list[tuple[str, list]]], found: list[list[dict]], names: dict[str, str]) -> float:
    """Mean over the classes present of AP@0.5 (greedy matching by probability, one detection per truth)."""
    per_class = []
    for name in CLASSES:
        detections, positives = [], 0
        for truth, objects in zip(truths, found, strict=True):
            boxes = [box for label, box in truth if label == name]
            positives += len(boxes)
            taken: set[int] = set()
            for obj in sorted((o for o in objects if names[o["id"]] == name), key=lambda o: -o["prob"]):
                scores = [(iou(obj["bound_box"], box), j) for j, box in enumerate(boxes) if j not in taken]
                best = max(scores, default=(0.0, -1))
                hit = best[0] >= 0.5
                if hit:
                    taken.add(best[1])
                detections.append((obj["prob"], hit))
        if positives:
            per_class.append(average_precision(detections, positives))
    return float(np.mean(per_class)) if per_class else 0.0


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(values) * 1000, q)), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:8000/")
    parser.add_argument("--token", required=True)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-calls", type=int, default=60)
    parser.add_argument("--task", help="skip upload and training; measure this trained task")
    args = parser.parse_args()
    api = requests.Session()
    api.headers["Authorization"] = f"Token {args.token}"
    url = args.endpoint.rstrip("/") + "/"
    rng = np.random.default_rng(args.seed)
    report: dict = {"images": args.images, "size": args.size}

    if args.task:
        task = api.get(url + f"detection/v2/task/{args.task}").json()
    else:
        task = train_on_shapes(api, url, rng, args, report)
    labels = api.get(url + f"detection/v2/label?task={task['id']}&page_size=100").json()["results"]
    names = {label["id"]: label["name"] for label in labels}
    model = api.get(url + f"detection/v2/model?task={task['id']}").json()["results"][-1]
    report.update(
        version=model["version"],
        image_size=model["image_size"],
        training_seconds=model["training_seconds"],
        map50=model["metrics"].get("map50"),
        epochs_run=model["metrics"].get("epochs_run"),
        stopped=model["metrics"].get("stopped"),
        map50_95=model["metrics"].get("map50_95"),
    )

    fresh = [scene(np.random.default_rng(10_000 + i), args.size) for i in range(60)]
    payloads = [png_base64(image) for image, _ in fresh]
    found = []
    for payload in payloads:
        answer = api.post(
            url + "detection/v2/detect",
            json={"task_id": task["id"], "records": [{"_base64": payload}], "keep_prob": 0.05},
        ).json()
        found.append(answer["records"][0]["_objects"])
    report["detect_map50_fresh"] = round(map50([objects for _, objects in fresh], found, names), 3)
    report["latency_ms"] = latency(api, url, task, model, payloads, args.latency_calls)
    print(json.dumps(report, indent=2))


def train_on_shapes(
    api: requests.Session, url: str, rng: np.random.Generator, args: argparse.Namespace, report: dict
) -> dict:
    task = api.post(url + "detection/v2/task", json={"name": f"shapes-{int(time.time())}"}).json()
    label_ids = {}
    for name in CLASSES:
        label = api.post(url + "detection/v2/label", json={"name": name}).json()
        api.post(url + f"detection/v2/task/{task['id']}/add-label", json={"label_id": label["id"]})
        label_ids[name] = label["id"]
    scenes = [scene(rng, args.size, negative=i % 20 == 0) for i in range(args.images)]

    def upload(index: int) -> None:
        image, objects = scenes[index]
        answer = api.post(url + "recognition/v2/training-image", json={"base64": png_base64(image), "noresize": True})
        body = answer.json()  # a rerun meets its own images again: 409 names the stored one
        image_id = body.get("id") or body["detail"].split("image ID: ")[1].rstrip(").")
        if not objects:
            api.post(url + f"detection/v2/task/{task['id']}/add-image", json={"image_id": image_id})
        for name, box in objects:
            created = api.post(
                url + "detection/v2/object", json={"image": image_id, "detection_label": label_ids[name], "data": box}
            )
            assert created.status_code == 201, created.text

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, range(len(scenes))))
    report["upload_seconds"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    answer = api.post(url + f"detection/v2/task/{task['id']}/train").json()
    assert "job" in answer, answer
    report["expected_training_seconds"] = answer.get("expected_training_seconds")
    while True:
        state = api.get(url + f"detection/v2/task/{task['id']}").json()
        if state["production_version"] >= 1 or state["last_train_status"] == "FAILED":
            break
        time.sleep(2)
    report["train_wall_seconds"] = round(time.perf_counter() - started, 1)
    job = api.get(url + f"detection/v2/training-job?task={task['id']}").json()["results"][0]
    assert job["state"] == "succeeded", job
    return task


def latency(api: requests.Session, url: str, task: dict, model: dict, payloads: list[str], calls: int) -> dict:
    """p50/p95 of detect (1 image per request) through the API and through the bare predictor."""
    api_times = []
    for call in range(calls):
        t0 = time.perf_counter()
        api.post(
            url + "detection/v2/detect",
            json={"task_id": task["id"], "records": [{"_base64": payloads[call % len(payloads)]}]},
        )
        api_times.append(time.perf_counter() - t0)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
    import django

    django.setup()
    from inference.detection import DetectionPredictor
    from inference.images import decode_base64
    from ximilar_platform.training_jobs import artifacts
    from ximilar_platform.training_jobs.models import ModelVersion

    version = ModelVersion.objects.get(id=model["id"])
    predictor = DetectionPredictor(artifacts.local_dir(version.artifact, version.files), num_threads=2)
    bare_times = []
    for call in range(calls):
        t0 = time.perf_counter()
        predictor.predict([decode_base64(payloads[call % len(payloads)]).image], keep_prob=0.3)
        bare_times.append(time.perf_counter() - t0)
    return {
        "api_p50": percentile(api_times, 50),
        "api_p95": percentile(api_times, 95),
        "bare_p50": percentile(bare_times, 50),
        "bare_p95": percentile(bare_times, 95),
        "api_overhead_p50": round(statistics.median(api_times) / statistics.median(bare_times) - 1, 3),
    }


if __name__ == "__main__":
    main()
