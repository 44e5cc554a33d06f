"""COCO, YOLO, Pascal VOC and class folders, read and written by supervision behind this adapter.

Each reader takes the root of an unpacked archive and gives a `records.Dataset`; each writer takes
one whose sample paths name image files in ``pool`` and lays them out under ``out`` with the
annotations. Subsets: a folder (or YOLO ``data.yaml`` entry) named ``train`` holds training images,
``val``/``valid``/``validation``/``test`` test images (`records.SPLITS`); exports write ``train`` and
``val``. Boxes come back rounded to 1/100 pixel, which keeps round trips exact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import yaml
from supervision.classification.core import Classifications
from supervision.dataset.core import ClassificationDataset, DetectionDataset
from supervision.detection.core import Detections

from ximilar_platform.core.models import TaskKind
from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.records import SPLITS, TEST, TRAIN, Box, Dataset, LabelInfo, LabelValue, Sample

Screen = Callable[[Path], str | None]  # why an image file cannot be read, or None


def split_folders(root: Path) -> list[tuple[Path, bool]]:
    """The subset folders of ``root`` with their test flag; ``root`` itself as training data when none."""
    found = [
        (child, SPLITS[child.name.lower()])
        for child in sorted(root.iterdir())
        if child.is_dir() and child.name.lower() in SPLITS
    ]
    return found or [(root, False)]


def relative(path: str | Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise DatasetError("The dataset names a file outside it.", [{"file": str(path), "error": "outside"}]) from None


def shown(error: Exception, root: Path) -> str:
    """A library's message without the worker's temporary folder in it."""
    return str(error).replace(f"{root.resolve()}{os.sep}", "").replace(f"{root}{os.sep}", "")


class _Collector:
    """Samples and label names gathered over the subsets, in the order they first appear."""

    def __init__(self, root: Path, kind: str, task_type: str = "") -> None:
        self.root, self.dataset = root, Dataset(kind=kind, task_type=task_type)
        self.names: dict[str, None] = {}
        self.seen: set[str] = set()

    def add(self, path: str, test: bool, labels: Iterable[str] = (), boxes: Iterable[Box] = ()) -> None:
        key = relative(path, self.root)
        if key in self.seen:  # a subset listed twice (YOLO's val: images/train): the first one counts
            return
        self.seen.add(key)
        labels = list(labels)
        boxes = list(boxes)
        for name in [*labels, *(box.label for box in boxes)]:
            self.names.setdefault(name, None)
        sample = Sample(path=key, test=test, labels=[LabelValue(name) for name in labels], boxes=boxes)
        self.dataset.samples.append(sample)

    def add_detections(self, found: DetectionDataset, test: bool) -> None:
        for path in found.image_paths:
            self.add(path, test, boxes=boxes_of(found.annotations[path], found.classes))

    def result(self) -> Dataset:
        self.dataset.labels = [LabelInfo(name=name) for name in self.names]
        return self.dataset


def boxes_of(detections: Detections, classes: list[str]) -> list[Box]:
    ids = [] if detections.class_id is None else detections.class_id.tolist()
    return [
        Box(label=classes[class_id], xyxy=tuple(round(float(v), 2) for v in xyxy))  # type: ignore[arg-type]
        for xyxy, class_id in zip(detections.xyxy.tolist(), ids, strict=True)
    ]


def read_with(root: Path, what: str, load: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call supervision; what it refuses becomes the dataset's error naming ``what``."""
    try:
        return load(*args, **kwargs)
    except (ValueError, KeyError, TypeError, IndexError, OSError, yaml.YAMLError) as error:
        raise DatasetError(f"{what} cannot be read.", [{"file": what, "error": shown(error, root)}]) from None


def read_coco(root: Path, screen: Screen) -> Dataset:
    """``<subset>/*.json`` (one per subset) with the images beside it or in ``<subset>/images``."""
    collected = _Collector(root, TaskKind.DETECTION)
    for folder, test in split_folders(root):
        files = sorted(folder.glob("*.json"))
        name = relative(folder, root) if folder != root else "."
        if len(files) != 1:
            raise DatasetError(f"The {name} folder needs one COCO .json file; it has {len(files)}.")
        images = folder / "images" if (folder / "images").is_dir() else folder
        boxes_only = boxes_only_copy(files[0], root)
        found = read_with(
            root, relative(files[0], root), DetectionDataset.from_coco, str(images), str(boxes_only), use_iscrowd=False
        )
        collected.add_detections(found, test)
    return collected.result()


def boxes_only_copy(annotations: Path, root: Path) -> Path:
    """The COCO file without segmentations, which supervision would rasterise into masks we do not keep."""
    document = read_with(root, relative(annotations, root), lambda: json.loads(annotations.read_bytes()))
    if not isinstance(document, dict) or not isinstance(document.get("annotations", []), list):
        raise DatasetError("The COCO file is not a COCO object.", [{"file": relative(annotations, root)}])
    unknown_categories(document, annotations.parent, root)
    for annotation in document.get("annotations", []):
        if isinstance(annotation, dict):
            annotation.pop("segmentation", None)
    copy = annotations.with_name(f".{annotations.stem}.boxes.json")
    copy.write_text(json.dumps(document))
    return copy


def unknown_categories(document: dict, folder: Path, root: Path) -> None:
    """Boxes whose ``category_id`` the file's ``categories`` do not name, each blamed on its image."""
    categories = {entry.get("id") for entry in document.get("categories", []) if isinstance(entry, dict)}
    images = {
        entry.get("id"): str(entry.get("file_name")) for entry in document.get("images", []) if isinstance(entry, dict)
    }
    errors = [
        {
            "file": relative(folder / images[annotation.get("image_id")], root)
            if annotation.get("image_id") in images
            else relative(folder, root),
            "error": f"box {annotation.get('id')} has category {annotation.get('category_id')!r}, "
            "which the file's categories do not name",
        }
        for annotation in document.get("annotations", [])
        if isinstance(annotation, dict) and annotation.get("category_id") not in categories
    ]
    if errors:
        raise DatasetError("Some boxes name a category the COCO file does not define.", errors)


def read_yolo(root: Path, screen: Screen) -> Dataset:
    """Ultralytics: ``data.yaml`` naming the classes and its ``train``/``val``/``test`` image folders."""
    configs = [root / "data.yaml"] if (root / "data.yaml").is_file() else sorted(root.glob("*.yaml"))
    if len(configs) != 1:
        raise DatasetError(f"A YOLO dataset needs one data.yaml at its root; it has {len(configs)}.")
    config = read_with(root, configs[0].name, lambda: yaml.safe_load(configs[0].read_text()))
    if not isinstance(config, dict):
        raise DatasetError("data.yaml is not a mapping.", [{"file": configs[0].name, "error": "not a mapping"}])
    collected = _Collector(root, TaskKind.DETECTION)
    for images, test in yolo_subsets(root, config):
        labels = yolo_labels_folder(images)
        found = read_with(root, configs[0].name, DetectionDataset.from_yolo, str(images), str(labels), str(configs[0]))
        collected.add_detections(found, test)
    return collected.result()


def yolo_subsets(root: Path, config: dict[str, Any]) -> list[tuple[Path, bool]]:
    """The image folders ``data.yaml`` names, found inside the archive (its ``path`` is the author's)."""
    subsets = []
    for key, test in (("train", False), ("val", True), ("test", True)):
        entries = config.get(key) or []
        for entry in [entries] if isinstance(entries, str) else entries:
            folder = inside(root, str(entry))
            if folder is None:
                raise DatasetError(
                    f"data.yaml's {key} folder is not in the archive.", [{"file": "data.yaml", "error": str(entry)}]
                )
            subsets.append((folder, test))
    if not subsets:
        raise DatasetError("data.yaml names no train or val folder.", [{"file": "data.yaml", "error": "no subsets"}])
    return subsets


def inside(root: Path, entry: str) -> Path | None:
    """``entry`` as a folder of the archive: as written, or without the ``../`` and ``./`` it starts with."""
    parts = PurePosixPath(entry.replace("\\", "/")).parts
    while parts and parts[0] in ("..", ".", "/"):
        parts = parts[1:]
    for candidate in (root / entry, root.joinpath(*parts)):
        resolved = candidate.resolve()
        if resolved.is_dir() and resolved.is_relative_to(root.resolve()):
            return resolved
    return None


def yolo_labels_folder(images: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``; else labels lie beside."""
    parts = list(images.parts)
    if "images" not in parts:
        return images
    index = len(parts) - 1 - parts[::-1].index("images")
    parts[index] = "labels"
    return Path(*parts)


def read_voc(root: Path, screen: Screen) -> Dataset:
    """``<subset>/Annotations/*.xml`` and ``<subset>/JPEGImages`` (or both in one folder), paired by stem.

    supervision decodes every annotated image with OpenCV to learn its size, so each is first read by
    our decoder (``screen``) under its limits; one it refuses is left out with its error.
    """
    collected = _Collector(root, TaskKind.DETECTION)
    for folder, test in split_folders(root):
        annotations = folder / "Annotations" if (folder / "Annotations").is_dir() else folder
        images = next((folder / name for name in ("JPEGImages", "images") if (folder / name).is_dir()), folder)
        for path in sorted(images.iterdir()):
            if path.is_file() and (annotations / f"{path.stem}.xml").is_file() and (problem := screen(path)):
                collected.dataset.errors.append({"file": relative(path, root), "error": problem})
                path.unlink()
        found = read_with(
            root, relative(annotations, root), DetectionDataset.from_pascal_voc, str(images), str(annotations)
        )
        collected.add_detections(found, test)
    return collected.result()


def read_class_folders(root: Path, screen: Screen) -> Dataset:
    """``<label>/<image>``, optionally under subset folders (``train/<label>/<image>``)."""
    collected = _Collector(root, TaskKind.RECOGNITION, "multi_class")
    folders = [child for child in root.iterdir() if child.is_dir() and not child.name.startswith(".")]
    subsets = split_folders(root) if folders and all(f.name.lower() in SPLITS for f in folders) else [(root, False)]
    for folder, test in subsets:
        found = read_with(root, relative(folder, root), ClassificationDataset.from_folder_structure, str(folder))
        for path in found.image_paths:
            collected.add(path, test, labels=[found.classes[int(found.annotations[path].class_id[0])]])
    return collected.result()


def detections(boxes: list[Box], classes: list[str]) -> Detections:
    if not boxes:
        return Detections.empty()
    index = {name: number for number, name in enumerate(classes)}
    return Detections(
        xyxy=np.array([box.xyxy for box in boxes], dtype=np.float32),
        class_id=np.array([index[box.label] for box in boxes], dtype=int),
    )


def subsets_of(dataset: Dataset) -> list[tuple[str, list[Sample]]]:
    """The samples of each subset an export writes: ``train`` and, when there are test images, ``val``."""
    train = [sample for sample in dataset.samples if not sample.test]
    test = [sample for sample in dataset.samples if sample.test]
    return [(name, samples) for name, samples in ((TRAIN, train), (TEST, test)) if samples or name == TRAIN]


def place(samples: list[Sample], pool: Path, folder: Path) -> list[str]:
    """Move the samples' image files from the pool into ``folder``; their new paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for sample in samples:
        target = folder / Path(sample.path).name
        os.replace(pool / sample.path, target)
        paths.append(str(target))
    return paths


def detection_dataset(dataset: Dataset, samples: list[Sample], paths: list[str]) -> DetectionDataset:
    classes = [label.name for label in dataset.labels]
    annotations = {path: detections(sample.boxes, classes) for path, sample in zip(paths, samples, strict=True)}
    return DetectionDataset(classes=classes, images=paths, annotations=annotations)


def write_coco(dataset: Dataset, pool: Path, out: Path) -> None:
    """``train/`` and ``val/``, each with its images and ``_annotations.coco.json`` (ids from 1)."""
    for name, samples in subsets_of(dataset):
        paths = place(samples, pool, out / name)
        detection_dataset(dataset, samples, paths).as_coco(annotations_path=str(out / name / "_annotations.coco.json"))


def write_yolo(dataset: Dataset, pool: Path, out: Path) -> None:
    """Ultralytics: ``images/<subset>``, ``labels/<subset>`` and ``data.yaml`` (val is train when no test images)."""
    written = []
    for name, samples in subsets_of(dataset):
        paths = place(samples, pool, out / "images" / name)
        detection_dataset(dataset, samples, paths).as_yolo(annotations_directory_path=str(out / "labels" / name))
        written.append(name)
    config = {
        "path": ".",
        "train": f"images/{TRAIN}",
        "val": f"images/{TEST if TEST in written else TRAIN}",
        "names": {number: label.name for number, label in enumerate(dataset.labels)},
    }
    (out / "data.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))


def write_voc(dataset: Dataset, pool: Path, out: Path) -> None:
    """``<subset>/JPEGImages`` and ``<subset>/Annotations`` (VOC keeps whole pixels)."""
    for name, samples in subsets_of(dataset):
        paths = place(samples, pool, out / name / "JPEGImages")
        detection_dataset(dataset, samples, paths).as_pascal_voc(
            annotations_directory_path=str(out / name / "Annotations")
        )


def write_class_folders(dataset: Dataset, pool: Path, out: Path) -> None:
    """``<subset>/<label>/<image>``; an image with several labels is in each of their folders."""
    classes = [label.name for label in dataset.labels]
    for folder in classes:
        if folder in ("", ".", "..") or folder.startswith(".") or any(c in folder for c in "/\\\x00"):
            raise DatasetError(f"The label {folder!r} cannot be a folder name; rename it or export as JSON.")
    index = {name: number for number, name in enumerate(classes)}
    for name, samples in subsets_of(dataset):
        images, annotations = [], {}
        for sample in samples:
            for number, label in enumerate(sample.labels):
                source = pool / str(number) / sample.path  # one path per copy: supervision keys by path
                source.parent.mkdir(parents=True, exist_ok=True)
                os.link(pool / sample.path, source)
                images.append(str(source))
                annotations[str(source)] = Classifications(class_id=np.array([index[label.name]]))
        ClassificationDataset(classes=classes, images=images, annotations=annotations).as_folder_structure(
            str(out / name)
        )
