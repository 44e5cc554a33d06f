"""Benchmark: retrieval quality of a similarity task before and after training, all through the API.

Data: the photos bundled in the scikit-image wheel (``skimage/data/*``, read with PIL; skimage is
never imported). An item is a region of one photo; its views are augmented crops of that region
(scale and offset jitter, rotation, colour jitter, blur, JPEG re-encoding). Items of the photos in
``HELD_OUT`` become test groups (``test_group``), so no held-out item shares a photo with a trained
one; the other items are split 80/20 by the worker (validation: unseen items of seen photos).

Against a server started with ``make run`` (its token is printed, and kept in DATA_DIR/demo_token):

    .venv/bin/pip install scikit-image==0.26.0     # only its data files are read
    .venv/bin/python bench/similarity_retrieval.py --token <API token>

About 173 items x 5 views of 96 px: 130 items of 10 photos are trained on or validated, 43 items
of 4 photos are held out. Trains one similarity task with every setting at its default and reports
the version's metrics (``similarity/training/v2/model``: trained vs ``baseline``, validation and
``test``), then measures retrieval on the same held-out sets through the API: each held-out view
queries (visualKNN) a search collection of its set, embedded once by the trained task and once by
the generic descriptor (a collection without task); precision@1 and MAP@R leave the query out. The
trained task's ``similarity/training/v2/descriptor`` vectors are scored locally as a check.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageEnhance, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.retrieval import retrieval_metrics  # noqa: E402
from training.spec import EmbeddingSample  # noqa: E402
from training.split import split_groups  # noqa: E402

PHOTOS = [
    "astronaut",
    "camera",
    "coffee",
    "hubble_deep_field",
    "ihc",
    "motorcycle_left",
    "retina",
    "brick",
    "grass",
    "page",
    "chelsea",
    "coins",
    "rocket",
    "gravel",
]
HELD_OUT = {"chelsea", "coins", "rocket", "gravel"}
REGION_FRACTION = 0.25  # of the photo's shorter side
MIN_REGION_STD = 20.0  # no flat regions (sky, black borders): their views match anything flat


def photo_paths() -> dict[str, Path]:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install scikit-image==0.26.0 (only its data files are read)")
    folder = Path(spec.submodule_search_locations[0]) / "data"
    return {name: next(folder.glob(f"{name}.*")) for name in PHOTOS}


def regions(photo: Image.Image, count: int, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """Up to `count` (centre x, centre y, side) squares that overlap each other little and are not flat."""
    side = REGION_FRACTION * min(photo.size)
    grey = np.asarray(photo.convert("L"), dtype=np.float32)
    found: list[tuple[float, float, float]] = []
    for _ in range(2000):
        x = rng.uniform(0.7 * side, photo.width - 0.7 * side)
        y = rng.uniform(0.7 * side, photo.height - 0.7 * side)
        if any(abs(x - fx) < 0.5 * side and abs(y - fy) < 0.5 * side for fx, fy, _ in found):
            continue
        patch = grey[int(y - side / 2) : int(y + side / 2), int(x - side / 2) : int(x + side / 2)]
        if patch.std() < MIN_REGION_STD:
            continue
        found.append((x, y, side))
        if len(found) == count:
            break
    return found


def view(photo: Image.Image, region: tuple[float, float, float], size: int, rng: np.random.Generator) -> bytes:
    """One augmented view of a region, as JPEG bytes."""
    x, y, side = region
    side *= rng.uniform(0.85, 1.15)
    x, y = x + rng.uniform(-0.1, 0.1) * side, y + rng.uniform(-0.1, 0.1) * side
    outer = 0.75 * side  # room to rotate without black corners where the photo allows
    crop = photo.crop((round(x - outer), round(y - outer), round(x + outer), round(y + outer)))
    crop = crop.rotate(rng.uniform(-10, 10), resample=Image.Resampling.BILINEAR)
    margin = (crop.width - side) / 2
    crop = crop.crop((round(margin), round(margin), round(margin + side), round(margin + side)))
    crop = crop.resize((size, size), Image.Resampling.BICUBIC)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        crop = enhancer(crop).enhance(rng.uniform(0.8, 1.2))
    if rng.random() < 0.5:
        crop = crop.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    buffer = io.BytesIO()
    crop.save(buffer, format="JPEG", quality=int(rng.integers(60, 96)))
    return buffer.getvalue()


def build_items(items: int, views: int, size: int, seed: int) -> list[dict]:
    """[{"name", "photo", "test", "views": [JPEG bytes]}], items spread over the photos by area."""
    rng = np.random.default_rng(seed)
    photos = {name: Image.open(path).convert("RGB") for name, path in photo_paths().items()}
    area = {name: np.sqrt(p.width * p.height) for name, p in photos.items()}
    result = []
    for name, photo in photos.items():
        count = max(4, round(items * area[name] / sum(area.values())))
        for number, region in enumerate(regions(photo, count, rng)):
            result.append(
                {
                    "name": f"{name}-{number}",
                    "photo": name,
                    "test": name in HELD_OUT,
                    "views": [view(photo, region, size, rng) for _ in range(views)],
                }
            )
    return result


def upload(api: requests.Session, url: str, payload: bytes) -> str:
    answer = api.post(
        url + "recognition/v2/training-image", json={"base64": base64.b64encode(payload).decode(), "noresize": True}
    ).json()
    return answer.get("id") or answer["detail"].split("image ID: ")[1].rstrip(").")  # a duplicate: its id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="http://localhost:8000/")
    parser.add_argument("--token", required=True)
    parser.add_argument("--items", type=int, default=200, help="about this many items (regions)")
    parser.add_argument("--views", type=int, default=5)
    parser.add_argument("--size", type=int, default=96, help="side of every view, px")
    parser.add_argument("--seed", type=int, default=0, help="of the data (regions and augmentations)")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    api = requests.Session()
    api.headers["Authorization"] = f"Token {args.token}"
    url = args.endpoint.rstrip("/") + "/"
    sim = url + "similarity/training/v2/"

    items = build_items(args.items, args.views, args.size, args.seed)
    report: dict = {
        "items": len(items),
        "views": args.views,
        "size": args.size,
        "test_items": sum(item["test"] for item in items),
        "photos": len(PHOTOS),
        "held_out_photos": sorted(HELD_OUT),
    }
    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        for item in items:
            item["ids"] = list(pool.map(lambda payload: upload(api, url, payload), item["views"]))
    report["upload_seconds"] = round(time.perf_counter() - started, 1)

    stamp = int(time.time())
    kind = api.post(sim + "type", json={"name": f"regions-{stamp}"}).json()
    for item in items:
        group = api.post(
            sim + "group", json={"name": item["name"], "type": kind["id"], "test_group": item["test"]}
        ).json()
        api.post(sim + f"group/{group['id']}/add-images", json={"images": item["ids"]}).raise_for_status()
        item["group"] = group["id"]
    task = api.post(sim + "task", json={"name": f"retrieval-bench-{stamp}"}).json()
    api.post(sim + f"task/{task['id']}/add-type", json={"type_id": kind["id"]}).raise_for_status()

    started = time.perf_counter()
    answer = api.post(sim + f"task/{task['id']}/train").json()
    assert "job" in answer, answer
    while True:
        state = api.get(sim + f"task/{task['id']}").json()
        if state["production_version"] >= 1 or state["last_train_status"] == "FAILED":
            break
        time.sleep(3)
    report["train_wall_seconds"] = round(time.perf_counter() - started, 1)
    job = api.get(sim + f"training-job?task={task['id']}").json()["results"][0]
    assert job["state"] == "succeeded", job
    model = api.get(sim + f"model?task={task['id']}").json()["results"][0]
    metrics = model["metrics"]
    report.update(
        task=task["id"],
        arch=model["arch"],
        image_size=model["image_size"],
        training_seconds=round(model["training_seconds"], 1),
        epochs_run=metrics.get("epochs_run"),
        best_epoch=metrics.get("best_epoch"),
        evaluated_on=metrics.get("evaluated_on"),
    )
    report["version_metrics"] = {
        name: summary(scores) for name, scores in (("validation", metrics), ("test", metrics.get("test", {})))
    }
    report["api_retrieval"] = api_retrieval(api, url, task["id"], held_out_sets(items), stamp)
    print(json.dumps(report, indent=2))


def summary(scores: dict) -> dict:
    keys = ("precision_at_1", "recall_at_5", "map_at_r")
    return {
        "groups": scores.get("groups"),
        "queries": scores.get("queries"),
        "trained": {k: round(scores[k], 3) for k in keys if k in scores},
        "baseline": {k: round(scores["baseline"][k], 3) for k in keys if k in scores.get("baseline", {})},
    }


def held_out_sets(items: list[dict]) -> dict[str, list[tuple[str, str, bytes]]]:
    """(image id, group, JPEG) of the worker's validation groups (same split, seed 0) and of the test groups."""
    samples = [
        EmbeddingSample(image_id=image_id, path="", group=item["group"], test=item["test"])
        for item in items
        for image_id in item["ids"]
    ]
    split = split_groups(samples)
    payload = {image_id: jpeg for item in items for image_id, jpeg in zip(item["ids"], item["views"], strict=True)}
    return {
        name: [(s.image_id, s.group, payload[s.image_id]) for s in getattr(split, name)]
        for name in ("validation", "test")
    }


def api_retrieval(api: requests.Session, url: str, task_id: str, sets: dict, stamp: int) -> dict:
    """P@1 and MAP@R of visualKNN over a collection of each held-out set, generic vs trained embedder."""
    result: dict = {}
    for name, images in sets.items():
        groups = {image_id: group for image_id, group, _ in images}
        result[name] = {"images": len(images)}
        for embedder, task in (("generic", None), ("trained", task_id)):
            key = f"bench-{name}-{embedder}-{stamp}"
            api.post(
                url + "similarity/training/v2/collection", json={"key": key, "name": key, "task": task}
            ).raise_for_status()
            headers = {"collection-id": key}
            for start in range(0, len(images), 50):
                records = [
                    {"_id": image_id, "_base64": base64.b64encode(jpeg).decode()}
                    for image_id, _, jpeg in images[start : start + 50]
                ]
                answer = api.post(
                    url + "similarity/custom/v2/insert", json={"records": records}, headers=headers
                ).json()
                assert not answer["skipped_records"], answer["skipped_records"][:1]
            rankings = {}
            for image_id in groups:
                r = sum(g == groups[image_id] for g in groups.values()) - 1
                if r < 1:
                    continue
                answer = api.post(
                    url + "similarity/custom/v2/visualKNN",
                    headers=headers,
                    json={"query_record": {"_id": image_id}, "k": r + 1},
                ).json()
                rankings[image_id] = [hit["_id"] for hit in answer["answer_records"] if hit["_id"] != image_id][:r]
            result[name][embedder] = ranking_scores(rankings, groups)
        result[name]["trained_descriptor_check"] = descriptor_check(api, url, task_id, images)
    return result


def ranking_scores(rankings: dict[str, list[str]], groups: dict[str, str]) -> dict:
    first, precisions = [], []
    for query, found in rankings.items():
        hits = np.array([groups[key] == groups[query] for key in found], dtype=float)
        first.append(hits[0])
        precisions.append(float((np.cumsum(hits) / np.arange(1, len(hits) + 1) * hits).sum() / len(hits)))
    return {
        "precision_at_1": round(float(np.mean(first)), 3),
        "map_at_r": round(float(np.mean(precisions)), 3),
        "queries": len(rankings),
    }


def descriptor_check(api: requests.Session, url: str, task_id: str, images: list) -> dict:
    """The same metrics from ``similarity/training/v2/descriptor`` vectors (10 records per request)."""
    vectors = []
    for start in range(0, len(images), 10):
        records = [{"_base64": base64.b64encode(jpeg).decode()} for _, _, jpeg in images[start : start + 10]]
        answer = api.post(
            url + "similarity/training/v2/descriptor", json={"task_id": task_id, "version": None, "records": records}
        ).json()
        vectors += [record["_descriptor"] for record in answer["records"]]
    scores = retrieval_metrics(np.array(vectors, dtype=np.float32), [group for _, group, _ in images])
    return {"precision_at_1": round(scores["precision_at_1"], 3), "map_at_r": round(scores["map_at_r"], 3)}


if __name__ == "__main__":
    main()
