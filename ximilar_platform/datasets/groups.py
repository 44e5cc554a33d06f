"""A similarity task's types and groups: its dataset for an export, its rows in an import (JSON only).

An export holds the groups of the task's types and, to any depth, the groups they hold (whose
types go along, not attached to the task on import). Its images are those the groups hold and
those of the objects they hold; an image's boxes are its member objects, sorted by label and box,
so a group names an object by image and index the same way every time. An import finds each
type by name (the task's, else the workspace's oldest, else a new one) and each object's label
(the workspace's oldest detection label of that name, else a new one), reuses an object a reused
image already has (same label and box), and creates every group, in the archive's order.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db.models import Model

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.exporter import Progress, boxes_of, copy_images, described, label_info, unique
from ximilar_platform.datasets.records import Dataset, GroupInfo, LabelInfo, Sample, TypeInfo
from ximilar_platform.datasets.store import NAME_LIMIT, checked_name, image_rows, lock, names_used, object_labels
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, ObjectLabel
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.similarity.models import SimilarityGroup, SimilarityTask, SimilarityType

if TYPE_CHECKING:
    from ximilar_platform.datasets.importer import Staged

Images = SimilarityGroup.images.through
Objects = SimilarityGroup.detection_objects.through
Children = SimilarityGroup.groups.through


def group_snapshot(task: SimilarityTask, pool: Path, on_progress: Progress) -> Dataset:
    """The task's types and groups, their images' files copied into ``pool``."""
    dataset = described(task)
    groups = held_groups(task)
    dataset.types = type_infos(task, groups)
    index = {group.id: number for number, group in enumerate(groups)}
    held_images = Images.objects.filter(similaritygroup_id__in=list(index))
    images = list(held_images.values_list("similaritygroup_id", "trainingimage_id"))
    held_objects = Objects.objects.filter(similaritygroup_id__in=list(index))
    objects = list(held_objects.values_list("similaritygroup_id", "detectionobject_id"))
    samples, places = object_samples([object_id for _, object_id in objects], dataset)
    for _, image_id in images:
        samples.setdefault(image_id, Sample(path=""))
    dataset.groups = [
        GroupInfo(
            type=group.type.name,
            name=group.name,
            description=group.description,
            test=group.test_group,
            meta_data=group.meta_data or {},
        )
        for group in groups
    ]
    for group_id, image_id in images:
        dataset.groups[index[group_id]].images.append(samples[image_id])
    for group_id, object_id in objects:
        image_id, number = places[object_id]
        dataset.groups[index[group_id]].objects.append((samples[image_id], number))
    children = Children.objects.filter(from_similaritygroup_id__in=list(index))
    for parent, child in children.values_list("from_similaritygroup_id", "to_similaritygroup_id"):
        dataset.groups[index[parent]].groups.append(index[child])
    rows = TrainingImage.objects.filter(id__in=list(samples)).order_by("created", "id")
    copy_images(dataset, list(rows), samples, pool, on_progress)
    return dataset


def held_groups(task: SimilarityTask) -> list[SimilarityGroup]:
    """The groups of the task's types and every group they hold, at any depth; oldest first."""
    found = set(SimilarityGroup.objects.filter(type__in=task.types.all()).values_list("id", flat=True))
    frontier = found
    while frontier:
        held = Children.objects.filter(from_similaritygroup_id__in=frontier)
        frontier = set(held.values_list("to_similaritygroup_id", flat=True)) - found
        found |= frontier
    return list(SimilarityGroup.objects.filter(id__in=found).select_related("type").order_by("created", "id"))


def type_infos(task: SimilarityTask, groups: list[SimilarityGroup]) -> list[TypeInfo]:
    own = list(task.types.order_by("created", "id"))
    others = sorted({group.type for group in groups} - set(own), key=lambda kind: (kind.created, str(kind.id)))
    unique([kind.name for kind in [*own, *others]], "similarity type")
    return [TypeInfo(kind.name, kind.description, in_task=kind in own) for kind in [*own, *others]]


def object_samples(object_ids: list[Any], dataset: Dataset) -> tuple[dict[Any, Sample], dict[Any, tuple[Any, int]]]:
    """A sample per image of the objects, which are its boxes; where each object went (image, index)."""
    objects = DetectionObject.objects.filter(id__in=object_ids)
    boxes = sorted(boxes_of(objects, dataset), key=lambda pair: (pair[1].label, pair[1].xyxy, str(pair[0].id)))
    labels = sorted({obj.detection_label for obj, _ in boxes}, key=lambda label: (label.created, str(label.id)))
    unique([label.name for label in labels], "detection label")
    dataset.labels = [label_info(label) for label in labels]
    samples: dict[Any, Sample] = {}
    places = {}
    for obj, box in boxes:
        sample = samples.setdefault(obj.image_id, Sample(path=""))
        places[obj.id] = (obj.image_id, len(sample.boxes))
        sample.boxes.append(box)
    return samples, places


def store_groups(*, dataset: Dataset, task: SimilarityTask, staged: dict[str, Staged], by: Model | None) -> None:
    """The images, types, member objects and groups, inside the import's transaction."""
    lock(task)
    images = image_rows(dataset, task.workspace, staged)
    types = task_types(dataset, task)
    objects = member_objects(dataset, task.workspace, images, by)
    rows = []
    for info in dataset.groups:  # one insert each: their creation order is the archive's, which exports keep
        if len(info.name) > NAME_LIMIT:
            raise DatasetError(f"A group's name has more than {NAME_LIMIT} characters: {info.name[:80]!r}.")
        rows.append(
            SimilarityGroup.objects.create(
                workspace=task.workspace,
                type=types[info.type],
                name=info.name,
                description=info.description,
                meta_data=info.meta_data,
                test_group=info.test,
            )
        )
    pairs = [(row.id, info) for row, info in zip(rows, dataset.groups, strict=True)]
    image_links = {(group, images[sample.path]): None for group, info in pairs for sample in info.images}
    object_links = {(group, objects[(sample.path, n)]): None for group, info in pairs for sample, n in info.objects}
    child_links = {(group, rows[n].id): None for group, info in pairs for n in info.groups}
    Images.objects.bulk_create([Images(similaritygroup_id=g, trainingimage_id=i) for g, i in image_links])
    Objects.objects.bulk_create([Objects(similaritygroup_id=g, detectionobject_id=o) for g, o in object_links])
    Children.objects.bulk_create([Children(from_similaritygroup_id=g, to_similaritygroup_id=c) for g, c in child_links])


def task_types(dataset: Dataset, task: SimilarityTask) -> dict[str, SimilarityType]:
    """Each type by name: the task's, else the workspace's oldest, else a new one; the task gets its own."""
    have: dict[str, SimilarityType] = {}
    for kind in task.types.order_by("created", "id"):
        have.setdefault(kind.name, kind)
    found = {}
    for info in dataset.types:
        kind = have.get(info.name) or (
            SimilarityType.objects.filter(workspace=task.workspace, name=info.name).order_by("created", "id").first()
        )
        found[info.name] = kind or SimilarityType.objects.create(
            workspace=task.workspace, name=checked_name(info.name), description=info.description
        )
    task.types.add(*[found[info.name] for info in dataset.types if info.in_task])
    return found


def member_objects(
    dataset: Dataset, workspace: Workspace, images: dict[str, Any], by: Model | None
) -> dict[tuple[str, int], Any]:
    """Each box (its sample's path, its index) as an object: one its image has (same label, box), else a new one."""
    if not any(sample.boxes for sample in dataset.samples):
        return {}
    labels = {info.name: detection_label(workspace, info) for info in names_used(dataset)}
    on_images = DetectionObject.objects.filter(image_id__in=set(images.values()), detection_label__in=labels.values())
    have = {(obj.image_id, obj.detection_label_id, tuple(obj.data)): obj.id for obj in on_images}
    recognition = object_labels(dataset, workspace)
    found, new, links = {}, [], []
    for sample in dataset.samples:
        for number, box in enumerate(sample.boxes):
            key = (images[sample.path], labels[box.label].id, tuple(box.xyxy))
            if key not in have:
                obj = DetectionObject(
                    workspace=workspace,
                    image_id=key[0],
                    detection_label=labels[box.label],
                    data=list(box.xyxy),
                    meta_data=box.meta_data,
                    created_by=by,
                    updated_by=by,
                )
                new.append(obj)
                have[key] = obj.id
                links += [ObjectLabel(object=obj, label=recognition[i.name], value=i.value) for i in box.labels]
            found[(sample.path, number)] = have[key]
    DetectionObject.objects.bulk_create(new)
    ObjectLabel.objects.bulk_create(links)
    return found


def detection_label(workspace: Workspace, info: LabelInfo) -> DetectionLabel:
    found = DetectionLabel.objects.filter(workspace=workspace, name=info.name).order_by("created", "id").first()
    return found or DetectionLabel.objects.create(
        workspace=workspace,
        name=checked_name(info.name),
        description=info.description,
        output_name=info.output_name[:NAME_LIMIT],
        color=info.color or "#FFFFFF",
    )
