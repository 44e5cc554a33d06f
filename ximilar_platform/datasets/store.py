"""The rows of an import, written inside its one transaction: the task, labels, images, links and boxes.

A similarity task's types and groups are `groups`' (with the helpers here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Model

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.models import TaskKind, TrainableTask
from ximilar_platform.datasets.archives import DatasetError
from ximilar_platform.datasets.records import Dataset, LabelInfo
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask, ObjectLabel
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.images.services import ImageOptions, create_image_row
from ximilar_platform.recognition import services as recognition
from ximilar_platform.recognition.models import ImageLabel, Label, Task
from ximilar_platform.similarity.models import SimilarityTask

if TYPE_CHECKING:
    from ximilar_platform.datasets.importer import Staged

NAME_LIMIT = 255


def create_task(*, dataset: Dataset, workspace: Workspace, name: str) -> TrainableTask:
    """A task of the dataset's kind, named as the lossless format says, else after the archive."""
    info = dataset.task
    fields = {
        "name": str(info.get("name") or name or "Imported dataset")[:NAME_LIMIT],
        "description": str(info.get("description") or ""),
        "arch": str(info.get("arch") or "")[:64],
        "required_verifications": verifications(info.get("required_verifications")),
    }
    if dataset.kind == TaskKind.DETECTION:
        return DetectionTask.objects.create(workspace=workspace, **fields)
    if dataset.kind == TaskKind.SIMILARITY:
        return SimilarityTask.objects.create(workspace=workspace, **fields)
    task_type = dataset.task_type or Task.Type.MULTI_CLASS
    if task_type not in Task.Type.values:
        raise DatasetError(f"The archive's task type {task_type!r} is none of {', '.join(Task.Type.values)}.")
    return recognition.create_task(workspace=workspace, type=task_type, **fields)


def verifications(value: object) -> int:
    """The task's people per check, 1 to 10 as the model allows; 1 when the archive says nothing usable."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10 else 1


def lock(task: TrainableTask) -> None:
    """Take the task's row: two imports into one task at once would both create a label (or type) of one name."""
    type(task)._default_manager.select_for_update().filter(pk=task.pk).first()


def store_rows(*, dataset: Dataset, task: TrainableTask, staged: dict[str, Staged], by: Model | None) -> None:
    lock(task)
    labels = task_labels(dataset, task)
    images = image_rows(dataset, task.workspace, staged)
    if task.task_kind == TaskKind.DETECTION:
        store_boxes(dataset, task, labels, images, by)
    else:
        store_image_labels(dataset, labels, images)


def names_used(dataset: Dataset) -> list[LabelInfo]:
    """The dataset's labels, and any name its samples use that the list leaves out."""
    infos = {label.name: label for label in dataset.labels}
    for sample in dataset.samples:
        for name in [*(label.name for label in sample.labels), *(box.label for box in sample.boxes)]:
            infos.setdefault(name, LabelInfo(name=name))
    return list(infos.values())


def checked_name(name: str) -> str:
    if not name or len(name) > NAME_LIMIT:
        raise DatasetError(f"A label name must have 1 to {NAME_LIMIT} characters: {name[:80]!r}.")
    return name


def task_labels(dataset: Dataset, task: Any) -> dict[str, Model]:
    """Each label name to the task's label of that name, created (and attached) when the task lacks it."""
    have = {label.name: label for label in task.labels.order_by("created", "id")}
    negative = task.negative_labels.first() if task.task_kind == TaskKind.RECOGNITION else None
    found = {}
    for info in names_used(dataset):
        if info.negative and negative is not None:
            found[info.name] = negative
        elif info.name in have:
            found[info.name] = have[info.name]
        else:
            found[info.name] = have[info.name] = new_label(task, info)
            task.labels.add(found[info.name])
    return found


def new_label(task: Any, info: LabelInfo) -> Model:
    fields = {
        "workspace": task.workspace,
        "name": checked_name(info.name),
        "description": info.description,
        "output_name": info.output_name[:NAME_LIMIT],
    }
    if task.task_kind == TaskKind.DETECTION:
        return DetectionLabel.objects.create(color=info.color or "#FFFFFF", **fields)
    return Label.objects.create(type=task.label_type, **fields)


def image_rows(dataset: Dataset, workspace: Workspace, staged: dict[str, Staged]) -> dict[str, Any]:
    """Each sample's image id: a row made for its staged files, or the image the workspace had."""
    ids: dict[str, Any] = {}
    test_of: dict[bool, list] = {True: [], False: []}
    for sample in dataset.samples:
        item = staged[sample.path]
        if item.image_id is None and item.files is not None:
            options = ImageOptions(meta_data=sample.meta_data or {}, test_image=sample.test, real=sample.real)
            item.image_id = create_image_row(workspace=workspace, stored=item.files, options=options).id
        else:
            test_of[sample.test].append(item.image_id)
        ids[sample.path] = item.image_id
    for test, reused in test_of.items():
        TrainingImage.objects.filter(id__in=reused).update(test_image=test)
    return ids


def store_image_labels(dataset: Dataset, labels: dict[str, Any], images: dict[str, Any]) -> None:
    links: dict[tuple[Any, Any], float | None] = {}
    for sample in dataset.samples:
        for item in sample.labels:
            label = labels[item.name]
            if item.value is not None and label.type != Label.Type.VALUE:
                raise DatasetError(
                    f"{sample.path}: only value labels take a value; '{label.name}' is a {label.type} label."
                )
            links[(images[sample.path], label.id)] = item.value
    ImageLabel.objects.bulk_create(
        [ImageLabel(image_id=image, label_id=label, value=value) for (image, label), value in links.items()],
        update_conflicts=True,
        unique_fields=["image", "label"],
        update_fields=["value"],
    )


def store_boxes(dataset: Dataset, task: Any, labels: dict[str, Any], images: dict[str, Any], by: Model | None) -> None:
    """The boxes (not those a reused image already has), their recognition labels, and negative images."""
    on_task = DetectionObject.objects.filter(detection_label__in=list(labels.values()))
    have = {(obj.image_id, obj.detection_label_id, tuple(obj.data)) for obj in on_task}  # to skip boxes added again
    recognition_labels = object_labels(dataset, task.workspace)
    objects, links, empty = [], [], []
    for sample in dataset.samples:
        image = images[sample.path]
        if not sample.boxes:
            empty.append(image)
        for box in sample.boxes:
            key = (image, labels[box.label].id, tuple(box.xyxy))
            if key in have:
                continue
            have.add(key)
            obj = DetectionObject(
                workspace=task.workspace,
                image_id=image,
                detection_label=labels[box.label],
                data=list(box.xyxy),
                meta_data=box.meta_data,
                created_by=by,
                updated_by=by,
            )
            objects.append(obj)
            links += [
                ObjectLabel(object=obj, label=recognition_labels[item.name], value=item.value) for item in box.labels
            ]
    DetectionObject.objects.bulk_create(objects)
    ObjectLabel.objects.bulk_create(links)
    boxed = set(
        DetectionObject.objects.filter(detection_label__in=task.labels.all()).values_list("image_id", flat=True)
    )
    task.negative_images.add(*[image for image in empty if image not in boxed])


def object_labels(dataset: Dataset, workspace: Workspace) -> dict[str, Label]:
    """Recognition labels on boxes by name: the workspace's oldest of that name, else a new one."""
    infos = {label.name: label for label in dataset.object_labels}
    for sample in dataset.samples:
        for box in sample.boxes:
            for item in box.labels:
                infos.setdefault(
                    item.name, LabelInfo(name=item.name, type=Label.Type.VALUE if item.value is not None else "")
                )
    return {name: find_or_create_label(workspace, info) for name, info in infos.items()}


def find_or_create_label(workspace: Workspace, info: LabelInfo) -> Label:
    found = Label.objects.filter(workspace=workspace, name=info.name).order_by("created", "id").first()
    if found is not None:
        return found
    kind = info.type if info.type in Label.Type.values else Label.Type.CATEGORY
    return Label.objects.create(
        workspace=workspace,
        name=checked_name(info.name),
        type=kind,
        description=info.description,
        output_name=info.output_name[:NAME_LIMIT],
    )
