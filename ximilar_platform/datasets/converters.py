"""Each format's reader and writer (`catalog.FORMATS` names them); imported by the worker only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ximilar_platform.datasets import formats, ours
from ximilar_platform.datasets.records import Dataset

Reader = Callable[[Path, formats.Screen], Dataset]
Writer = Callable[[Dataset, Path, Path], None]

READERS: dict[str, Reader] = {
    "coco": formats.read_coco,
    "yolo": formats.read_yolo,
    "voc": formats.read_voc,
    "class_folders": formats.read_class_folders,
    "csv": ours.read_csv,
    "json": ours.read_json,
}
WRITERS: dict[str, Writer] = {
    "coco": formats.write_coco,
    "yolo": formats.write_yolo,
    "voc": formats.write_voc,
    "class_folders": formats.write_class_folders,
    "csv": ours.write_csv,
    "json": ours.write_json,
}
