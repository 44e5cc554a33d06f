"""Benchmark: decoding a big JPEG at full size against libjpeg's reduced scales (``PREDICT_DECODE_MIN_SIDE``).

In-process, no server:

    .venv/bin/python bench/jpeg_draft.py [--width 4000 --height 3000 --calls 20 --runs 3]

The photo is synthetic but photo-like (smooth colour fields, edges and sensor noise), saved as a
quality-90 JPEG. Each run times ``decode_bytes`` ``--calls`` times per setting, then the same plus
the classifier's 224 px squash (``inference.preprocess.to_batch``), which is what a classify
request pays per image; it reports each setting's median per run and the median of the runs.
The draft sides: 1024 is what the serving path asks for by default (``PREDICT_DECODE_MIN_SIDE``,
for any model up to 512 px input); 448 is what it asks for a 224 px classifier with
``PREDICT_DECODE_MIN_SIDE`` lowered to 0 < side <= 448.

``--train-size 64`` times instead what a training pays per image when it decodes its images once
(``training.data.load_pixels``): the decode and the squash to the model's input, at full size and
at the smallest scale that keeps twice the input side (what ``load_pixels`` does).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from inference.images import decode_bytes
from inference.preprocess import squash, to_batch

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def photo_jpeg(width: int, height: int) -> bytes:
    """Blurred colour blobs with hard-edged shapes and per-pixel noise, as JPEG quality 90."""
    rng = np.random.default_rng(0)
    small = Image.fromarray(rng.integers(0, 256, (height // 100, width // 100, 3), dtype=np.uint8))
    image = small.resize((width, height), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(20))
    pen = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        side = int(rng.integers(50, 600))
        pen.rectangle([x, y, x + side, y + side // 2], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    noisy = np.asarray(image, dtype=np.int16) + rng.normal(0, 6, (height, width, 3)).astype(np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def one_run(data: bytes, drafts: dict[str, tuple[int, int] | None], calls: int) -> dict[str, float]:
    """Median ms per setting; the settings take turns call by call, so that load elsewhere hits them alike."""
    times: dict[str, list[float]] = {}
    for _ in range(calls):
        for name, draft in drafts.items():
            times.setdefault(f"{name} decode", []).append(seconds(lambda d=draft: decode_bytes(data, draft_size=d)))
            times.setdefault(f"{name} decode+224", []).append(
                seconds(lambda d=draft: to_batch([decode_bytes(data, draft_size=d).image], 224, MEAN, STD))
            )
    return {key: round(statistics.median(values) * 1000, 1) for key, values in times.items()}


def training_run(data: bytes, size: int, calls: int) -> dict[str, float]:
    """Median ms of decode + squash to ``size``: full size against ``load_pixels``' reduced scale, taking turns."""
    draft = (2 * size, 2 * size)
    times: dict[str, list[float]] = {"full": [], f"draft {2 * size}": []}
    for _ in range(calls):
        times["full"].append(seconds(lambda: squash(decode_bytes(data).image, size)))
        times[f"draft {2 * size}"].append(seconds(lambda: squash(decode_bytes(data, draft_size=draft).image, size)))
    return {key: round(statistics.median(values) * 1000, 2) for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=20, help="decodes per setting and run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=0, help="time a training's decode for this input side")
    args = parser.parse_args()
    data = photo_jpeg(args.width, args.height)
    if args.train_size:
        runs = [training_run(data, args.train_size, args.calls) for _ in range(args.runs)]
        medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(json.dumps({"jpeg_bytes": len(data), "runs_ms": runs, "median_ms": medians}, indent=2))
        return
    drafts = {"full": None, "draft 1024": (1024, 1024), "draft 448": (448, 448)}
    sizes = {name: decode_bytes(data, draft_size=draft).image.size for name, draft in drafts.items()}
    runs = [one_run(data, drafts, args.calls) for _ in range(args.runs)]
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    report = {"jpeg_bytes": len(data), "decoded_sizes": sizes, "runs_ms": runs, "median_ms": medians}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
