"""Detection samples to a YOLO-format dataset on disk: decode, split by image, write images and label files.

Layout (what ultralytics expects): `images/{train,val,test}/NNNNNN.jpg` with one
`labels/<split>/NNNNNN.txt` each, a line `class cx cy w h` per box, normalised to 0..1; an
empty file is a negative image. ultralytics writes `labels/<split>.cache` next to them, so the
dataset directory must be writable.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from inference.images import InvalidImage, decode_bytes, encode_image, resize_to_max_side
from training.data import LOAD_LIMITS, file_sha256, resolve_device
from training.spec import Box, DetectionSample, DetectionSpec, Sample
from training.split import split_samples

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class DetectionSplit:
    """Three disjoint lists, each sorted by image id."""

    train: list[DetectionSample]
    validation: list[DetectionSample]
    test: list[DetectionSample]


@dataclass(frozen=True)
class YoloDataset:
    """A written dataset: `data_yaml` is what ultralytics' `data=` takes."""

    data_yaml: Path
    split: DetectionSplit
    unreadable: list[str]
    longer_sides: list[int]  # of the readable images, as decoded


def split_detection(samples: Sequence[DetectionSample], *, seed: int = 0) -> DetectionSplit:
    """Hold out about 20 % of the non-test images, stratified by which labels an image shows.

    This is `training.split.split_samples` over each image's set of box labels (negative
    images form their own stratum), so it is deterministic and order-independent, and every
    label on 2+ images has an image on both sides.
    """
    by_id = {s.image_id: s for s in samples}
    proxies = [Sample(s.image_id, s.path, tuple(sorted({b.label for b in s.boxes})), test=s.test) for s in samples]
    split = split_samples(proxies, task_type="multi_label", seed=seed)
    return DetectionSplit(*([by_id[p.image_id] for p in part] for part in (split.train, split.validation, split.test)))


def label_lines(boxes: Sequence[Box], width: int, height: int, classes: dict[str, int]) -> list[str]:
    """YOLO label lines `class cx cy w h` (normalised) for the boxes of known labels, clipped to the image.

    Boxes outside `classes`, or with no area left after clipping, are dropped.
    """
    lines = []
    for box in boxes:
        if box.label not in classes:
            continue
        x0, x1 = sorted((min(max(box.xmin, 0.0), width), min(max(box.xmax, 0.0), width)))
        y0, y1 = sorted((min(max(box.ymin, 0.0), height), min(max(box.ymax, 0.0), height)))
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        cx, cy, w, h = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width, (y1 - y0) / height
        lines.append(f"{classes[box.label]} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def export_yolo_dataset(
    samples: Sequence[DetectionSample],
    labels: Sequence[str],
    root: Path,
    *,
    max_side: int,
    seed: int = 0,
    workers: int = 2,
) -> YoloDataset:
    """Decode every image once, write the readable ones under `root` and split them.

    Images are stored as JPEG with the longer side at most `max_side` (ultralytics shrinks them
    to the training size anyway); label coordinates are normalised, so resizing keeps them valid.
    With no validation split (too few images), validation uses the training images.
    """
    pool = root / "pool"
    pool.mkdir(parents=True, exist_ok=True)
    ordered = sorted(samples, key=lambda s: s.image_id)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as executor:
        sizes = list(executor.map(lambda i: _store(ordered[i], pool / f"{i:06d}.jpg", max_side), range(len(ordered))))
    readable = [s for s, size in zip(ordered, sizes, strict=True) if size is not None]
    info = {s.image_id: (pool / f"{i:06d}", size) for i, (s, size) in enumerate(zip(ordered, sizes, strict=True))}
    split = split_detection(readable, seed=seed)
    classes = {label: i for i, label in enumerate(labels)}
    for name, members in zip(SPLITS, (split.train, split.validation, split.test), strict=True):
        (root / "images" / name).mkdir(parents=True, exist_ok=True)
        (root / "labels" / name).mkdir(parents=True, exist_ok=True)
        for sample in members:
            stem, size = info[sample.image_id]
            assert size is not None  # only readable images are split
            width, height = size
            os.replace(stem.with_suffix(".jpg"), root / "images" / name / f"{stem.name}.jpg")
            lines = label_lines(sample.boxes, width, height, classes)
            (root / "labels" / name / f"{stem.name}.txt").write_text("".join(f"{line}\n" for line in lines))
    data = {
        "path": str(root.resolve()),
        "train": "images/train",
        "val": "images/val" if split.validation else "images/train",
        **({"test": "images/test"} if split.test else {}),
        "names": dict(enumerate(labels)),
    }
    data_yaml = root / "data.yaml"
    data_yaml.write_text(json.dumps(data, indent=2))  # JSON is YAML, and needs no YAML writer here
    unreadable = [s.image_id for s, size in zip(ordered, sizes, strict=True) if size is None]
    longer_sides = [max(size) for size in sizes if size is not None]
    return YoloDataset(data_yaml=data_yaml, split=split, unreadable=unreadable, longer_sides=longer_sides)


def _store(sample: DetectionSample, target: Path, max_side: int) -> tuple[int, int] | None:
    """Write the oriented RGB image as JPEG; its decoded (width, height), or None when it cannot be read."""
    try:
        image = decode_bytes(Path(sample.path).read_bytes(), LOAD_LIMITS).image
    except (OSError, InvalidImage):
        return None
    target.write_bytes(encode_image(resize_to_max_side(image, max_side), "JPEG", quality=95))
    return image.size


def detection_data_hash(spec: DetectionSpec, samples: Sequence[DetectionSample]) -> str:
    """sha256 of the spec and of every sample's id, file content, boxes and test flag (see `training.data.data_hash`).

    Settings that change speed or where files go (`num_threads`, `work_dir`), not the model, are left out.
    """
    digest = hashlib.sha256()
    settings = asdict(replace(spec, device=resolve_device(spec.device), num_threads=None, work_dir=None))
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for sample in sorted(samples, key=lambda s: s.image_id):
        boxes = sorted([b.label, b.xmin, b.ymin, b.xmax, b.ymax] for b in sample.boxes)
        digest.update(json.dumps([sample.image_id, file_sha256(sample.path), boxes, sample.test]).encode() + b"\n")
    return digest.hexdigest()
