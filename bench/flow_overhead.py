"""Benchmark: the cost of chaining, i.e. a one-node recognition flow against classify on the same model.

Against a server started with ``make run``:

    .venv/bin/python bench/flow_overhead.py --token <API token> [--task <trained recognition task id>]

Without ``--task`` it first trains a tiny red-vs-blue categorizer through the API (40 noisy
64 px images, the service's default training; needs the worker that ``make run`` starts). It then
creates the flow ``{"type": "recognition", "task": ..., "output_name": "category"}`` and sends the
same one-record request (a ``--side`` px JPEG) to ``recognition/v2/classify`` and to
``flows/v2/process``, alternating the two so that load on the machine hits both alike. Reports
p50/p95 per run, their medians over ``--runs`` runs, and the median of the runs' flow/classify p50
ratios; the target is an overhead under 10 %.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import time

import numpy as np
import requests
from PIL import Image


def colour_jpeg(seed: int, channel: int, side: int) -> str:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 90, (side, side, 3), dtype=np.uint8)
    pixels[:, :, channel] = rng.integers(150, 256, (side, side), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode()


def train_colours(api: requests.Session, url: str) -> str:
    """A two-label task on 20 images per label, trained with the service's defaults; returns its id."""
    task = api.post(url + "recognition/v2/task", json={"name": f"flow-bench-{int(time.time())}"}).json()
    for channel, name in ((0, "red"), (2, "blue")):
        label = api.post(url + "recognition/v2/label", json={"name": name}).json()
        api.post(url + f"recognition/v2/task/{task['id']}/add-label", json={"label_id": label["id"]})
        for index in range(20):
            image = api.post(
                url + "recognition/v2/training-image",
                json={"base64": colour_jpeg(index * 3 + channel, channel, 64), "noresize": True},
            ).json()
            api.post(url + f"recognition/v2/training-image/{image['id']}/add-label", json={"label_id": label["id"]})
    answer = api.post(url + f"recognition/v2/task/{task['id']}/train").json()
    assert "job" in answer, answer
    while (state := api.get(url + f"recognition/v2/task/{task['id']}").json())["production_version"] < 1:
        assert state["last_train_status"] != "FAILED", state
        time.sleep(2)
    return task["id"]


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(values) * 1000, q)), 2)


def timed(api: requests.Session, url: str, body: dict) -> float:
    started = time.perf_counter()
    answer = api.post(url, json=body).json()
    elapsed = time.perf_counter() - started
    assert answer["status"]["code"] == 200 and answer["records"][0]["_status"]["code"] == 200, answer
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:8000/")
    parser.add_argument("--token", required=True)
    parser.add_argument("--task", help="a trained recognition task; default: train a tiny one first")
    parser.add_argument("--calls", type=int, default=100, help="requests per endpoint and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--side", type=int, default=256, help="side of the JPEG sent")
    args = parser.parse_args()
    api = requests.Session()
    api.headers["Authorization"] = f"Token {args.token}"
    url = args.endpoint.rstrip("/") + "/"

    task_id = args.task or train_colours(api, url)
    top_node = {"type": "recognition", "task": task_id, "output_name": "category"}
    flow = api.post(url + "flows/v2/flow", json={"name": "flow-bench", "top_node": top_node}).json()
    assert flow["valid"], flow
    records = [{"_base64": colour_jpeg(999, 0, args.side)}]
    classify = (url + "recognition/v2/classify", {"task_id": task_id, "records": records})
    process = (url + "flows/v2/process", {"flow": flow["id"], "records": records})
    for _ in range(5):  # warm-up: model load, connections
        timed(api, *classify), timed(api, *process)

    runs = []
    for _ in range(args.runs):
        times: dict[str, list[float]] = {"classify": [], "flow": []}
        for _ in range(args.calls):
            times["classify"].append(timed(api, *classify))
            times["flow"].append(timed(api, *process))
        run = {name: {"p50": percentile(values, 50), "p95": percentile(values, 95)} for name, values in times.items()}
        run["overhead_p50"] = round(run["flow"]["p50"] / run["classify"]["p50"] - 1, 3)
        runs.append(run)
    api.delete(url + f"flows/v2/flow/{flow['id']}/")

    median = {
        name: {q: statistics.median(run[name][q] for run in runs) for q in ("p50", "p95")}
        for name in ("classify", "flow")
    }
    # each run pairs the two endpoints under the same load, so its ratio is the robust number
    overhead = statistics.median(run["overhead_p50"] for run in runs)
    report = {
        "task": task_id,
        "payload": f"1 record, {args.side}x{args.side} JPEG",
        "calls_per_run": args.calls,
        "runs": runs,
        "median_ms": median,
        "overhead_p50": overhead,
        "target_met": overhead < 0.10,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
