"""Benchmark: a detector trained in-process under the CPU time budget, against the same data without it.

Data: `bench/detection_shapes.py`'s synthetic shapes (3 classes on textured backgrounds, every 20th
image a negative), written as PNGs and trained through `training.detection.train_detector` with
every setting at its default, as the API's worker would. Each configuration reports its plan (image
size, epochs run, best epoch), the job's seconds, validation mAP@0.5 (and per epoch) and mAP@0.5 on
60 fresh images through the published ONNX model (same matching as `bench/detection_shapes.py`).

    .venv/bin/python bench/detection_budget.py --images 150 --size 320              # budget (default 260 s)
    .venv/bin/python bench/detection_budget.py --images 150 --size 320 --budget 0   # the data's own plan

On a machine that other work shares, `--threads 1` keeps torch from waiting on a descheduled thread.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from detection_shapes import CLASSES, map50, scene  # noqa: E402

from inference.detection import DetectionPredictor  # noqa: E402
from training.detection import train_detector  # noqa: E402
from training.spec import Box, DetectionSample, DetectionSpec  # noqa: E402

FRESH = 60


def samples(folder: Path, images: int, size: int, seed: int) -> list[DetectionSample]:
    """The shapes of `detection_shapes.train_on_shapes` (same generator and order) as files and boxes."""
    rng, written = np.random.default_rng(seed), []
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(images):
        image, objects = scene(rng, size, negative=index % 20 == 0)
        path = folder / f"{index:05d}.png"
        image.save(path)
        boxes = tuple(Box(name, *map(float, box)) for name, box in objects)
        written.append(DetectionSample(f"{index:05d}", str(path), boxes))
    return written


def fresh_map50(artifact_dir: str, size: int) -> float:
    fresh = [scene(np.random.default_rng(10_000 + i), size) for i in range(FRESH)]
    predictor = DetectionPredictor(artifact_dir)
    found = [
        [{"id": o["label"], "prob": o["prob"], "bound_box": o["bound_box"]} for o in objects]
        for objects in predictor.predict([image for image, _ in fresh], keep_prob=0.05)
    ]
    return map50([objects for _, objects in fresh], found, {name: name for name in CLASSES})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=150)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=260, help="DETECTION_CPU_TIME_BUDGET; 0: none")
    parser.add_argument("--epochs", type=int, help="force epochs (DETECTION_EPOCHS)")
    parser.add_argument("--image-size", type=int, help="force the size (DETECTION_IMAGE_SIZE)")
    parser.add_argument("--threads", type=int, help="torch threads (TORCH_THREADS); default: all cores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="detection-budget-") as tmp:
        data = samples(Path(tmp) / "images", args.images, args.size, args.seed)
        spec = DetectionSpec(
            labels=CLASSES,
            device="cpu",
            cpu_time_budget=args.budget or None,
            epochs=args.epochs,
            image_size=args.image_size,
            num_threads=args.threads,
            work_dir=str(Path(tmp) / "work"),
        )
        started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        curve: list[float] = []
        result = train_detector(spec, data, Path(tmp) / "model", on_progress=lambda p: curve.append(round(p.metric, 3)))
        seconds, used = time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF)
        manifest = json.loads((Path(result.artifact_dir) / "manifest.json").read_text())
        metrics = result.metrics
        report = {
            "images": args.images,
            "size": args.size,
            "budget": args.budget or None,
            "image_size": manifest["preprocessing"]["image_size"],
            "epochs_run": metrics["epochs_run"],
            "best_epoch": metrics["best_epoch"],
            "stopped": metrics["stopped"],
            "epoch_seconds": round(metrics["epoch_seconds"], 2),
            "training_seconds": round(seconds, 1),
            "cpu_seconds": round(used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime, 1),
            "validation_map50": round(metrics["map50"], 3),
            "validation_map50_95": round(metrics["map50_95"], 3),
            "fresh_map50": round(fresh_map50(result.artifact_dir, args.size), 3),
            "validation_map50_per_epoch": curve,
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
