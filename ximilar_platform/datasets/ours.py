"""Our own two formats, which no library reads: a CSV of values (regression) and the lossless JSON.

CSV: ``labels.csv`` with a ``file_name`` column (relative to the CSV), an optional ``split`` column
(`records.SPLITS`; empty is train) and one column per value label, an empty cell meaning no value.

JSON: ``dataset.json`` beside ``images/``: the task, its labels (type, description, output name,
colour, the negative label of a tagging task), and per image its file, test and real flags,
meta_data, labels with values, and boxes with their label, meta_data and recognition labels.
A similarity task's adds its types and groups (`ours_groups`); its images are those the groups
hold, their boxes the detection objects the groups hold, ``labels`` those objects' labels.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from ximilar_platform.core.models import TaskKind
from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.formats import Screen, relative
from ximilar_platform.datasets.ours_groups import file_of, groups_json, read_groups
from ximilar_platform.datasets.records import SPLITS, TEST, TRAIN, Box, Dataset, LabelInfo, LabelValue, Sample

CSV_NAME, JSON_NAME = "labels.csv", "dataset.json"
FILE_COLUMNS = ("file_name", "filename", "file")
JSON_FORMAT, JSON_VERSION = "ximilar-platform-dataset", 1


def the_file(root: Path, name: str, pattern: str) -> Path:
    if (root / name).is_file():
        return root / name
    found = sorted(root.glob(pattern))
    if len(found) != 1:
        raise DatasetError(f"The archive needs one {name} at its root; it has {len(found)} {pattern} files.")
    return found[0]


def read_csv(root: Path, screen: Screen) -> Dataset:
    path = the_file(root, CSV_NAME, "*.csv")
    dataset = Dataset(kind=TaskKind.RECOGNITION, task_type="regression")
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = list(csv.DictReader(file))
            columns = list(rows[0].keys()) if rows else []
    except (UnicodeDecodeError, csv.Error) as error:
        raise DatasetError("The CSV cannot be read.", [{"file": path.name, "error": str(error)}]) from None
    file_column = next((name for name in FILE_COLUMNS if name in columns), None)
    if file_column is None:
        raise DatasetError(f"The CSV needs a {FILE_COLUMNS[0]} column.", [{"file": path.name, "error": "no file"}])
    labels = [name for name in columns if name not in (file_column, "split") and name]
    dataset.labels = [LabelInfo(name=name) for name in labels]
    for line, row in enumerate(rows, start=2):
        sample = csv_sample(row, file_column, labels, path, root)
        if isinstance(sample, str):
            dataset.errors.append({"file": f"{path.name}:{line}", "error": sample})
        else:
            dataset.samples.append(sample)
    return dataset


def csv_sample(row: dict[str, Any], file_column: str, labels: list[str], path: Path, root: Path) -> Sample | str:
    """The row's sample, or why the row is wrong."""
    split = (row.get("split") or TRAIN).strip().lower()
    if split not in SPLITS:
        return f"split must be one of {', '.join(SPLITS)}, not {split!r}"
    values = []
    for name in labels:
        cell = (row.get(name) or "").strip()
        if cell:
            try:
                number = float(cell)
            except ValueError:
                return f"{name}: {cell!r} is not a number"
            if not math.isfinite(number):
                return f"{name}: {cell!r} is not a finite number"
            values.append(LabelValue(name, number))
    file = (row.get(file_column) or "").strip()
    if not file:
        return "the row names no file"
    return Sample(path=relative(path.parent / file, root), test=SPLITS[split], labels=values)


def write_csv(dataset: Dataset, pool: Path, out: Path) -> None:
    names = [label.name for label in dataset.labels]
    (out / "images").mkdir(parents=True)
    with (out / CSV_NAME).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["file_name", "split", *names])
        for sample in dataset.samples:
            (pool / sample.path).replace(out / "images" / Path(sample.path).name)
            values = {label.name: label.value for label in sample.labels}
            cells = ["" if values.get(name) is None else repr(values[name]) for name in names]
            writer.writerow([f"images/{Path(sample.path).name}", TEST if sample.test else TRAIN, *cells])


def write_json(dataset: Dataset, pool: Path, out: Path) -> None:
    (out / "images").mkdir(parents=True)
    images = []
    for sample in dataset.samples:
        (pool / sample.path).replace(out / "images" / Path(sample.path).name)
        images.append(
            {
                "file": file_of(sample),
                "test": sample.test,
                "real": sample.real,
                "meta_data": sample.meta_data or {},
                "labels": [label_json(label) for label in sample.labels],
                "objects": [
                    {
                        "label": box.label,
                        "box": list(box.xyxy),
                        "meta_data": box.meta_data,
                        "labels": [label_json(label) for label in box.labels],
                    }
                    for box in sample.boxes
                ],
            }
        )
    document = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "kind": dataset.kind,
        "task": {**dataset.task, "type": dataset.task_type} if dataset.task_type else dataset.task,
        "labels": [vars(label) for label in dataset.labels],
        "object_labels": [vars(label) for label in dataset.object_labels],
        "images": images,
    }
    if dataset.kind == TaskKind.SIMILARITY:
        document |= groups_json(dataset)
    (out / JSON_NAME).write_text(json.dumps(document, indent=1, ensure_ascii=False))


def label_json(label: LabelValue) -> dict[str, Any]:
    return {"name": label.name, "value": label.value}


def read_json(root: Path, screen: Screen) -> Dataset:
    path = the_file(root, JSON_NAME, "*.json")
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as error:
        raise DatasetError("dataset.json is not JSON.", [{"file": path.name, "error": str(error)}]) from None
    if not isinstance(document, dict) or document.get("format") != JSON_FORMAT:
        raise DatasetError(f"dataset.json is not a dataset of this service (format {JSON_FORMAT!r}).")
    if document.get("version") != JSON_VERSION:
        raise DatasetError(f"dataset.json has version {document.get('version')!r}; this service reads {JSON_VERSION}.")
    kind = document.get("kind")
    if not isinstance(kind, str) or kind not in TaskKind.values:
        raise DatasetError(f"dataset.json's kind must be one of {', '.join(TaskKind.values)}, not {kind!r}.")
    task = dict_of(document.get("task"))
    dataset = Dataset(
        kind=kind,
        task_type=str(task.pop("type", "")) if kind == TaskKind.RECOGNITION else "",
        task=task,
        labels=label_infos(document.get("labels")),
        object_labels=label_infos(document.get("object_labels")),
    )
    for number, image in enumerate(document.get("images") or []):
        try:
            dataset.samples.append(json_sample(image, root))
        except (TypeError, ValueError, KeyError) as error:
            file = image.get("file") if isinstance(image, dict) else None
            dataset.errors.append({"file": str(file or f"images[{number}]"), "error": str(error)})
    if kind == TaskKind.SIMILARITY:
        read_groups(document, dataset, root)
    return dataset


def dict_of(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DatasetError("dataset.json holds a list or value where an object belongs.")
    return value


def label_infos(value: Any) -> list[LabelInfo]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) and item.get("name") for item in value):
        raise DatasetError("dataset.json's labels must be a list of objects with a name.")
    fields = LabelInfo.__dataclass_fields__
    return [LabelInfo(**{key: item[key] for key in fields if key in item}) for item in value]


def json_sample(image: Any, root: Path) -> Sample:
    if not isinstance(image, dict) or not isinstance(image.get("file"), str):
        raise ValueError("each image needs a file")
    meta = image.get("meta_data") or {}
    if not isinstance(meta, dict):
        raise ValueError("meta_data must be an object")
    return Sample(
        path=relative(root / image["file"], root),
        test=bool(image.get("test", False)),
        real=bool(image.get("real", False)),
        meta_data=meta,
        labels=label_values(image.get("labels")),
        boxes=[json_box(item) for item in image.get("objects") or []],
    )


def json_box(item: Any) -> Box:
    if not isinstance(item, dict) or not isinstance(item.get("label"), str):
        raise ValueError("each object needs a label")
    box = item.get("box")
    if not isinstance(box, list) or len(box) != 4 or not all(isinstance(v, int | float) for v in box):
        raise ValueError("each object needs a box [xmin, ymin, xmax, ymax]")
    meta = item.get("meta_data") or {}
    if not isinstance(meta, dict):
        raise ValueError("an object's meta_data must be an object")
    xmin, ymin, xmax, ymax = (float(value) for value in box)
    return Box(item["label"], (xmin, ymin, xmax, ymax), meta_data=meta, labels=label_values(item.get("labels")))


def label_values(value: Any) -> list[LabelValue]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("labels must be a list")
    found = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ValueError("each label needs a name")
        number = item.get("value")
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number)
        ):
            raise ValueError(f"the value of {item['name']!r} must be a finite number")
        found.append(LabelValue(item["name"], None if number is None else float(number)))
    return found
