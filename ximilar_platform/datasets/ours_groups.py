"""The similarity part of the lossless JSON: a task's types and groups, members named by file.

Written sorted (members by file, nested groups by index), so one task always gives one file. A
group that is wrong (an unknown type or file, images beside groups, a loop of groups holding each
other) is an error of its own, listed with the others; nothing is imported then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.formats import relative
from ximilar_platform.datasets.records import Dataset, GroupInfo, Sample, TypeInfo


def file_of(sample: Sample) -> str:
    """Where an exported image lies in the archive (and how the groups name it)."""
    return f"images/{Path(sample.path).name}"


def groups_json(dataset: Dataset) -> dict[str, Any]:
    return {
        "types": [vars(info) for info in dataset.types],
        "groups": [
            {
                "name": group.name,
                "description": group.description,
                "type": group.type,
                "test": group.test,
                "meta_data": group.meta_data,
                "images": sorted(file_of(sample) for sample in group.images),
                "objects": [
                    {"file": file, "object": number}
                    for file, number in sorted((file_of(sample), number) for sample, number in group.objects)
                ],
                "groups": sorted(group.groups),
            }
            for group in dataset.groups
        ],
    }


def read_groups(document: dict[str, Any], dataset: Dataset, root: Path) -> None:
    """The document's types and groups into ``dataset``; each wrong group into its errors."""
    dataset.types = type_infos(document.get("types"))
    items = document.get("groups") or []
    if not isinstance(items, list):
        raise DatasetError("dataset.json's groups must be a list.")
    types = {info.name for info in dataset.types}
    samples = {sample.path: sample for sample in dataset.samples}
    errors = []
    for number, item in enumerate(items):
        try:
            dataset.groups.append(group_info(item, types, samples, root, len(items)))
        except (TypeError, ValueError) as error:
            errors.append({"file": f"groups[{number}]", "error": str(error)})
    if not errors:  # a loop is only looked for among groups that are all right
        errors = [
            {"file": f"groups[{number}]", "error": "it is in, or held by, a loop of groups holding each other"}
            for number in in_loops(dataset.groups)
        ]
    dataset.errors += errors


def type_infos(value: Any) -> list[TypeInfo]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"] for item in value
    ):
        raise DatasetError("dataset.json's types must be a list of objects with a name.")
    names = [item["name"] for item in value]
    if len(set(names)) != len(names):
        raise DatasetError("dataset.json names a similarity type twice.")
    return [
        TypeInfo(
            name=item["name"], description=str(item.get("description") or ""), in_task=bool(item.get("in_task", True))
        )
        for item in value
    ]


def group_info(item: Any, types: set[str], samples: dict[str, Sample], root: Path, count: int) -> GroupInfo:
    if not isinstance(item, dict):
        raise ValueError("each group must be an object")
    if not isinstance(item.get("type"), str) or item["type"] not in types:
        raise ValueError(f"the type {item.get('type')!r} is not among the types")
    name, description, meta = item.get("name", ""), item.get("description", ""), item.get("meta_data") or {}
    if not isinstance(name, str) or not isinstance(description, str):
        raise ValueError("name and description must be text")
    if not isinstance(meta, dict):
        raise ValueError("meta_data must be an object")
    children = list_of(item, "groups")
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < count for n in children):
        raise ValueError(f"groups must be indexes of groups, 0 to {count - 1}")
    group = GroupInfo(
        type=item["type"],
        name=name,
        description=description,
        test=bool(item.get("test", False)),
        meta_data=meta,
        images=[member(file, samples, root) for file in list_of(item, "images")],
        objects=[object_member(ref, samples, root) for ref in list_of(item, "objects")],
        groups=children,
    )
    if children and (group.images or group.objects):
        raise ValueError("a group holds images and objects, or groups, not both")
    return group


def list_of(item: dict[str, Any], key: str) -> list[Any]:
    value = item.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list")
    return value


def member(file: Any, samples: dict[str, Sample], root: Path) -> Sample:
    if not isinstance(file, str):
        raise ValueError("a member image is named by its file")
    sample = samples.get(relative(root / file, root))
    if sample is None:
        raise ValueError(f"{file} is not among the images")
    return sample


def object_member(ref: Any, samples: dict[str, Sample], root: Path) -> tuple[Sample, int]:
    if not isinstance(ref, dict):
        raise ValueError('a member object is {"file", "object"}')
    sample, number = member(ref.get("file"), samples, root), ref.get("object")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < len(sample.boxes):
        raise ValueError(f"{ref.get('file')} has no object {number!r}")
    return sample, number


def in_loops(groups: list[GroupInfo]) -> list[int]:
    """The groups that hold themselves, or are held by such a group (whatever is left when no holder is)."""
    holders = [0] * len(groups)
    for group in groups:
        for child in set(group.groups):
            holders[child] += 1
    free = [number for number, count in enumerate(holders) if count == 0]
    while free:
        for child in set(groups[free.pop()].groups):
            holders[child] -= 1
            if holders[child] == 0:
                free.append(child)
    return [number for number, count in enumerate(holders) if count]
