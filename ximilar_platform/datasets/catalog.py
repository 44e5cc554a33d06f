"""The formats by name: what each is called, which tasks it serves, and the task an import creates.

No format library is imported here, so the API and the web app can list and check formats; the
readers and writers are looked up in `converters` by the worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from ximilar_platform.core.models import TaskKind

DETECTION, SIMILARITY = (TaskKind.DETECTION, ""), (TaskKind.SIMILARITY, "")
CATEGORIES, TAGS, VALUES = ((TaskKind.RECOGNITION, kind) for kind in ("multi_class", "multi_label", "regression"))


@dataclass(frozen=True)
class Format:
    name: str
    title: str
    serves: frozenset[tuple[str, str]]  # (task kind, recognition task type)
    creates: tuple[str, str] | None  # the task a new import makes; None: the archive says


FORMATS = {
    item.name: item
    for item in (
        Format("coco", "COCO", frozenset({DETECTION}), DETECTION),
        Format("yolo", "YOLO (Ultralytics)", frozenset({DETECTION}), DETECTION),
        Format("voc", "Pascal VOC", frozenset({DETECTION}), DETECTION),
        Format("class_folders", "Class folders", frozenset({CATEGORIES, TAGS}), CATEGORIES),
        Format("csv", "CSV of values", frozenset({VALUES}), VALUES),
        Format("json", "JSON (lossless)", frozenset({DETECTION, CATEGORIES, TAGS, VALUES, SIMILARITY}), None),
    )
}


def shape_of(kind: str, task_type: str = "") -> tuple[str, str]:
    return (kind, task_type if kind == TaskKind.RECOGNITION else "")


def formats_for(kind: str, task_type: str = "") -> list[Format]:
    """The formats a task of this kind and type is exported as (and imported from)."""
    return [item for item in FORMATS.values() if shape_of(kind, task_type) in item.serves]
