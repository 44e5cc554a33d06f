"""A dataset between a file format and the database: plain dataclasses, no Django, no format.

Readers (``formats``, ``ours``) turn an unpacked archive into a `Dataset`; the importer stores it.
The exporter snapshots a task into one and writers turn it into files. Boxes are
``[xmin, ymin, xmax, ymax]`` in pixels of the image file they come with. A similarity task's
groups name their members as the samples themselves, so a member follows its file's path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Subfolder names of a split, and whether its images are test images (`TrainingImage.test_image`).
SPLITS = {"train": False, "val": True, "valid": True, "validation": True, "test": True}
TRAIN, TEST = "train", "val"  # the names exports give the two subsets


@dataclass(frozen=True)
class LabelValue:
    """A recognition label on an image or a box, by name; ``value`` for value (regression) labels."""

    name: str
    value: float | None = None


@dataclass
class Box:
    label: str
    xyxy: tuple[float, float, float, float]
    meta_data: dict[str, Any] = field(default_factory=dict)
    labels: list[LabelValue] = field(default_factory=list)


@dataclass
class Sample:
    """One image file of the dataset (``path`` relative to its root) and what it carries."""

    path: str
    test: bool = False
    labels: list[LabelValue] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    meta_data: dict[str, Any] | None = None  # None: the format has none (an existing image keeps its own)
    real: bool = False


@dataclass
class LabelInfo:
    """A label of the task: what the lossless format keeps beyond its name."""

    name: str
    type: str = ""
    description: str = ""
    output_name: str = ""
    color: str = ""
    negative: bool = False  # the negative label of a tagging task


@dataclass
class TypeInfo:
    """A similarity type; ``in_task`` is False for the type of a nested group that the task does not train on."""

    name: str
    description: str = ""
    in_task: bool = True


@dataclass
class GroupInfo:
    """A similarity group: images and boxes (by sample and index in its ``boxes``), or groups (by index)."""

    type: str
    name: str = ""
    description: str = ""
    test: bool = False
    meta_data: dict[str, Any] = field(default_factory=dict)
    images: list[Sample] = field(default_factory=list)
    objects: list[tuple[Sample, int]] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)  # indexes in `Dataset.groups`


@dataclass
class Dataset:
    kind: str  # TaskKind
    task_type: str = ""  # a recognition task's type; "" for detection
    labels: list[LabelInfo] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    task: dict[str, Any] = field(default_factory=dict)  # name, description, arch... (lossless format only)
    object_labels: list[LabelInfo] = field(default_factory=list)  # recognition labels used on boxes
    errors: list[dict[str, str]] = field(default_factory=list)  # per file: {"file", "error"}
    types: list[TypeInfo] = field(default_factory=list)  # a similarity task's (lossless format only)
    groups: list[GroupInfo] = field(default_factory=list)
