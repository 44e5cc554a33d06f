"""Benchmark: a scripted annotator (Playwright + Debian's Chromium, the browser tests' driver) boxes
50 images with 2 objects each in the web editor, without and then with the model's suggestions.

    make run                          # in one shell; note the API token and the web password
    .venv/bin/python bench/annotate.py --token <API token> --password <web password> [--runs 3]

Data: synthetic shapes (``tests/detection_shapes.py``: rectangles and circles on a noisy striped
texture), 160x160 px, 2 objects per image, a fresh set of ``--images`` per run. The annotator
knows the true boxes and works as a careful person does, keyboard first:

* without suggestions: per box, one drag and the label's number key (it labels the new box); then
  Enter (done, next).
* with suggestions: Shift+A (accept every suggestion scoring >= ``--threshold``), then per true
  box: nothing if an accepted box matches it (IoU >= 0.7, same label), a number key on the box if
  only the label is wrong, a drag if none matches; Delete on accepted boxes that match nothing;
  then Enter.

The manual runs come first; their images then train the task through the API with every setting
at its default (what a user does after the first batch), and a suggestion run predicts each
later set before it is annotated. Prints one JSON summary per mode: wall seconds from the first
image shown to every change saved, the input actions (drags, clicks, key presses) per image, and
the quality of the result read back through the API (true boxes matched by a saved object with
IoU >= 0.5 and the right label).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
# the tests' data generator and browser helpers (by folder: an installed package may be named ``tests``)
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "ximilar_platform" / "web")]

from browser import click_at, drag, showing  # noqa: E402
from detection_shapes import LABELS, shapes_image  # noqa: E402

KEYS = {name: str(i + 1) for i, name in enumerate(sorted(LABELS))}  # the editor numbers labels by name


def iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


class Api:
    def __init__(self, endpoint: str, token: str) -> None:
        self.base = endpoint.rstrip("/") + "/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def __call__(self, method: str, path: str, **body) -> dict:
        answer = self.session.request(method, self.base + path, json=body or None, timeout=60)
        assert answer.status_code < 400, (path, answer.status_code, answer.text[:300])
        return answer.json() if answer.content else {}


def make_set(api: Api, task: dict, count: int, seed: int) -> tuple[dict, list[tuple[str, list]]]:
    """Upload ``count`` images; a job holds them so the editor walks exactly these."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        picture, boxes = shapes_image(rng, 160, 160, objects=2)
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
        made = api(
            "POST", "recognition/v2/training-image", base64=base64.b64encode(buffer.getvalue()).decode(), noresize=True
        )
        images.append((made["id"], [(box.label, [box.xmin, box.ymin, box.xmax, box.ymax]) for box in boxes]))
    job = api("POST", "annotate/v2/job", task_id=task["id"], name=f"bench {seed}", images=[i for i, _ in images])
    return job, images


def shown_boxes(page) -> list[tuple[str, list[float]]]:
    """The saved-or-saving boxes the editor draws: what a person sees on the canvas."""
    return page.evaluate("""() => [...document.querySelectorAll('#boxes g.object')].map(g => {
        const r = g.querySelector('rect.body');
        const [x, y, w, h] = ['x', 'y', 'width', 'height'].map(k => Number(r.getAttribute(k)));
        return [g.dataset.label, [x, y, x + w, y + h]];
    })""")


def annotate(page, url: str, job: dict, images: list, label_ids: dict[str, str], suggestions: bool) -> dict:
    page.goto(f"{url}?job={job['id']}&order=oldest")
    names = {value: key for key, value in label_ids.items()}
    actions = 0
    started = None
    for image_id, truth in images:
        showing(page, image_id)
        if started is None:
            started = time.perf_counter()
        unmatched = list(truth)
        if suggestions:
            page.keyboard.press("Shift+A")
            actions += 1
            for label_id, box in shown_boxes(page):
                best = max(unmatched, key=lambda t: iou(t[1], box), default=None)
                if best is None or iou(best[1], box) < 0.7:
                    click_at(page, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
                    page.keyboard.press("Delete")
                    actions += 2
                    continue
                unmatched.remove(best)
                if names.get(label_id) != best[0]:
                    click_at(page, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
                    page.keyboard.press(KEYS[best[0]])
                    actions += 2
        for name, (x1, y1, x2, y2) in unmatched:  # draw, then label the new (selected) box
            drag(page, (x1, y1), (x2, y2))
            page.keyboard.press(KEYS[name])
            actions += 2
        page.keyboard.press("Enter")
        actions += 1
    page.wait_for_selector("#save-state[data-state=saved]", timeout=120_000)
    return {"seconds": time.perf_counter() - started, "actions": actions}


def quality(api: Api, images: list, label_ids: dict[str, str]) -> float:
    found = total = 0
    for image_id, truth in images:
        saved = [
            (o["detection_label"]["id"], o["data"])
            for o in api("GET", f"detection/v2/object?image={image_id}&page_size=100")["results"]
        ]
        for name, box in truth:
            total += 1
            found += any(label == label_ids[name] and iou(data, box) >= 0.5 for label, data in saved)
    return found / total


def wait(api: Api, path: str, done, every: float = 2.0) -> dict:
    while True:
        state = api("GET", path)
        if done(state):
            return state
        time.sleep(every)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:8000/")
    parser.add_argument("--token", required=True)
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", required=True)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    api = Api(args.endpoint, args.token)
    stamp = int(time.time())
    task = api("POST", "detection/v2/task", name=f"annotate bench {stamp}")
    label_ids = {}
    for name in sorted(LABELS):
        label = api("POST", "detection/v2/label", name=name, color="#e5484d" if name == "rect" else "#12a594")
        api("POST", f"detection/v2/task/{task['id']}/add-label", label_id=label["id"])
        label_ids[name] = label["id"]
    editor = api.base + f"app/detection/{task['id']}/annotate/work/"

    from playwright.sync_api import sync_playwright

    report: dict = {"images_per_run": args.images, "threshold": args.threshold, "manual": [], "suggested": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(api.base + "app/login/")
        page.fill("#id_username", args.user)
        page.fill("#id_password", args.password)
        page.click("button[type=submit]")
        page.wait_for_url(api.base + "app/")
        for run in range(args.runs):
            job, images = make_set(api, task, args.images, seed=stamp * 10 + run)
            result = annotate(page, editor, job, images, label_ids, suggestions=False)
            report["manual"].append({**result, "quality": quality(api, images, label_ids)})
            print(json.dumps({"manual run": run + 1, **report["manual"][-1]}), flush=True)

        started = time.perf_counter()
        api("POST", f"detection/v2/task/{task['id']}/train")
        trained = wait(
            api,
            f"detection/v2/task/{task['id']}",
            lambda t: t["production_version"] >= 1 or t["last_train_status"] == "FAILED",
            5,
        )
        assert trained["production_version"] >= 1, trained
        report["train_seconds"] = round(time.perf_counter() - started, 1)
        version = api("GET", f"detection/v2/model?task={task['id']}")["results"][0]
        report["version_metrics"] = {k: v for k, v in version.get("metrics", {}).items() if isinstance(v, float)}
        print(json.dumps({"trained": report["train_seconds"], **report["version_metrics"]}), flush=True)

        for run in range(args.runs):
            job, images = make_set(api, task, args.images, seed=stamp * 10 + 5 + run)
            started = time.perf_counter()
            made = api("POST", "annotate/v2/suggestion-run", task_id=task["id"], images=[i for i, _ in images])
            wait(api, f"annotate/v2/suggestion-run/{made['id']}", lambda r: r["state"] not in ("pending", "running"))
            predict_seconds = time.perf_counter() - started
            result = annotate(page, editor, job, images, label_ids, suggestions=True)
            report["suggested"].append(
                {**result, "quality": quality(api, images, label_ids), "suggestion_run_seconds": predict_seconds}
            )
            print(json.dumps({"suggested run": run + 1, **report["suggested"][-1]}), flush=True)
        browser.close()

    for mode in ("manual", "suggested"):
        runs = report[mode]
        report[f"{mode}_median"] = {
            "seconds": round(statistics.median(r["seconds"] for r in runs), 1),
            "actions_per_image": round(statistics.median(r["actions"] for r in runs) / args.images, 2),
            "quality": round(statistics.median(r["quality"] for r in runs), 3),
        }
    manual, suggested = report["manual_median"], report["suggested_median"]
    report["suggested_over_manual"] = {
        "seconds": round(suggested["seconds"] / manual["seconds"], 2),
        "actions": round(suggested["actions_per_image"] / manual["actions_per_image"], 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
