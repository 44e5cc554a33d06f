"""Tasks of every kind with images, labels, values, flags and boxes, and helpers to run dataset jobs."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.storage import default_storage

from inference.images import decode_bytes
from tests.conftest import ApiUser
from tests.factories import image_bytes
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask, ObjectLabel
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.images.services import ImageOptions, ingest_training_image
from ximilar_platform.recognition import services as recognition
from ximilar_platform.recognition.models import ImageLabel, Label
from ximilar_platform.similarity.models import SimilarityGroup, SimilarityTask, SimilarityType

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200), (90, 90, 90)]


def add_image(user: ApiUser, index: int, *, test: bool = False, size=(120, 90), meta=None) -> TrainingImage:
    options = ImageOptions(meta_data=meta or {"n": index}, test_image=test)
    decoded = decode_bytes(image_bytes(COLOURS[index % len(COLOURS)], (size[0] + index, size[1])))
    return ingest_training_image(workspace=user.workspace, decoded=decoded, options=options)


def make_recognition(user: ApiUser, task_type: str, names: list[str]) -> tuple[Any, list[Label]]:
    task = recognition.create_task(workspace=user.workspace, name=f"{task_type} task", type=task_type)
    labels = []
    for name in names:
        label = Label.objects.create(workspace=user.workspace, name=name, type=task.label_type)
        task.labels.add(label)
        labels.append(label)
    return task, labels


@pytest.fixture
def categories(alice: ApiUser) -> Any:
    task, (cat, dog) = make_recognition(alice, "multi_class", ["cat", "dog"])
    for index, label in enumerate([cat, cat, dog, dog]):
        ImageLabel.objects.create(image=add_image(alice, index, test=index == 3), label=label)
    return task


@pytest.fixture
def tags(alice: ApiUser) -> Any:
    """A tagging task: an image with two tags, one with one, one marked by the task's negative label."""
    task, (sky, sea) = make_recognition(alice, "multi_label", ["sky", "sea"])
    negative = task.negative_labels.get()
    for index, labels in enumerate([[sky, sea], [sea], [negative]]):
        image = add_image(alice, index, test=index == 1)
        for label in labels:
            ImageLabel.objects.create(image=image, label=label)
    return task


@pytest.fixture
def values(alice: ApiUser) -> Any:
    task, (price, weight) = make_recognition(alice, "regression", ["price", "weight"])
    for index in range(3):
        image = add_image(alice, index, test=index == 2)
        ImageLabel.objects.create(image=image, label=price, value=10.5 * (index + 1))
        if index != 1:
            ImageLabel.objects.create(image=image, label=weight, value=-0.25 + index)
    return task


@pytest.fixture
def boxes(alice: ApiUser) -> DetectionTask:
    """Cars and people on four images (one a test image), a negative image, and labelled boxes."""
    task = DetectionTask.objects.create(workspace=alice.workspace, name="street")
    car = DetectionLabel.objects.create(workspace=alice.workspace, name="car", color="#FF0000")
    person = DetectionLabel.objects.create(workspace=alice.workspace, name="person", description="walking")
    task.labels.add(car, person)
    red = Label.objects.create(workspace=alice.workspace, name="red")
    age = Label.objects.create(workspace=alice.workspace, name="age", type=Label.Type.VALUE)
    shapes = [
        [(car, [10, 5, 60, 40]), (person, [70, 20, 100, 80])],
        [(car, [0, 0, 30, 30])],
        [(person, [5, 5, 50, 85])],
    ]
    shapes.append([(car, [20.5, 10.25, 80, 60]), (car, [1, 2, 3, 4])])
    for index, objects in enumerate(shapes):
        image = add_image(alice, index, test=index == 3)
        for label, data in objects:
            obj = DetectionObject.objects.create(
                workspace=alice.workspace, image=image, detection_label=label, data=data, meta_data={"by": index}
            )
            if index == 0 and label == car:
                ObjectLabel.objects.create(object=obj, label=red)
                ObjectLabel.objects.create(object=obj, label=age, value=3.5)
    task.negative_images.add(add_image(alice, 5))
    return task


@pytest.fixture
def groups(alice: ApiUser) -> SimilarityTask:
    """Products: two leaf groups of images (one a test group), one holding a labelled box, and a group
    of groups that also holds a group of a type the task does not train on."""
    workspace = alice.workspace
    task = SimilarityTask.objects.create(workspace=workspace, name="products", description="same product")
    product = SimilarityType.objects.create(workspace=workspace, name="product", description="one item")
    colour = SimilarityType.objects.create(workspace=workspace, name="colour")
    task.types.add(product)
    images = [add_image(alice, index, test=index == 2) for index in range(5)]
    bag = DetectionLabel.objects.create(workspace=workspace, name="bag", color="#00FF00")
    box = DetectionObject.objects.create(
        workspace=workspace, image=images[4], detection_label=bag, data=[5, 5, 60, 50], meta_data={"seen": "shop"}
    )
    ObjectLabel.objects.create(object=box, label=Label.objects.create(workspace=workspace, name="leather"))

    def group(name: str, kind: SimilarityType, **fields: Any) -> SimilarityGroup:
        return SimilarityGroup.objects.create(workspace=workspace, type=kind, name=name, **fields)

    shoe = group("shoe", product, meta_data={"sku": 7})
    shoe.images.add(images[0], images[1])
    boot = group("boot", product, test_group=True, description="a test group")
    boot.images.add(images[2], images[3])
    handbag = group("handbag", product)
    handbag.images.add(images[3])
    handbag.detection_objects.add(box)
    red = group("red things", colour)
    red.images.add(images[0], images[4])
    group("footwear", product).groups.add(shoe, boot, red)
    return task


def stored_sha(image: TrainingImage) -> str:
    with default_storage.open(image.file.name, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def task_content(task: Any) -> dict[str, Any]:
    """What a task holds, keyed by its images' stored bytes: flags, labels with values, boxes (or groups)."""
    content: dict[str, Any] = {}
    if isinstance(task, SimilarityTask):
        return group_content(task)
    if hasattr(task, "negative_images"):
        labels = list(task.labels.all())
        images = TrainingImage.objects.filter(detection_objects__detection_label__in=labels).distinct()
        for image in [*images, *task.negative_images.all()]:
            objects = image.detection_objects.filter(detection_label__in=labels)
            content[stored_sha(image)] = {
                "test": image.test_image,
                "meta": image.meta_data,
                "boxes": sorted(
                    (
                        obj.detection_label.name,
                        [float(v) for v in obj.data],
                        obj.meta_data,
                        sorted((link.label.name, link.value) for link in obj.object_labels.all()),
                    )
                    for obj in objects
                ),
            }
        return {"labels": sorted((label.name, label.color, label.description) for label in labels), "images": content}
    for image in TrainingImage.objects.filter(image_labels__label__in=task.labels.all()).distinct():
        links = image.image_labels.filter(label__in=task.labels.all())
        content[stored_sha(image)] = {
            "test": image.test_image,
            "labels": sorted((link.label.name, link.value) for link in links),
        }
    return {"labels": sorted(label.name for label in task.labels.all()), "images": content}


@dataclass
class Jobs:
    """Runs dataset jobs over the API, their on-commit messages executed (Celery runs eagerly)."""

    user: ApiUser
    capture: Any

    def export(self, task: Any, fmt: str) -> bytes:
        with self.capture(execute=True):
            answer = self.user.client.post("/datasets/v2/export", {"task": str(task.id), "format": fmt}, format="json")
        assert answer.status_code == 202, answer.json()
        job = self.user.client.get(f"/datasets/v2/job/{answer.json()['id']}").json()
        assert job["state"] == "succeeded", job
        download = self.user.client.get(job["download_url"])
        assert download.status_code == 200
        return b"".join(download.streaming_content)

    def start_import(self, archive: bytes, fmt: str, task: Any = None, name: str = "imported.zip") -> dict:
        body: dict[str, Any] = {"file": io.BytesIO(archive), "format": fmt}
        body["file"].name = name
        if task is not None:
            body["task"] = str(task.id)
        with self.capture(execute=True):
            answer = self.user.client.post("/datasets/v2/import", body, format="multipart")
        assert answer.status_code == 202, answer.json()
        return self.user.client.get(f"/datasets/v2/job/{answer.json()['id']}").json()

    def import_(self, archive: bytes, fmt: str, task: Any = None) -> dict:
        job = self.start_import(archive, fmt, task)
        assert job["state"] == "succeeded", job
        return job


@pytest.fixture
def jobs(alice: ApiUser, django_capture_on_commit_callbacks) -> Jobs:
    return Jobs(alice, django_capture_on_commit_callbacks)


@pytest.fixture
def bob_jobs(bob: ApiUser, django_capture_on_commit_callbacks) -> Jobs:
    return Jobs(bob, django_capture_on_commit_callbacks)


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def files_of(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def group_content(task: SimilarityTask) -> dict[str, Any]:
    """A similarity task's types and the groups of them, and of theirs, by name: members by stored bytes."""
    types = {kind.name: (kind.description, True) for kind in task.types.all()}
    found, groups = SimilarityGroup.objects.filter(type__in=task.types.all()), {}
    while found:
        held = []
        for group in found:
            types.setdefault(group.type.name, (group.type.description, False))
            groups[group.name] = {
                "type": group.type.name,
                "test": group.test_group,
                "description": group.description,
                "meta": group.meta_data,
                "images": sorted(stored_sha(image) for image in group.images.all()),
                "objects": sorted(
                    (
                        stored_sha(obj.image),
                        (obj.detection_label.name, obj.detection_label.color),
                        obj.data,
                        sorted(obj.recognition_labels.values_list("name", flat=True)),
                        obj.meta_data,
                    )
                    for obj in group.detection_objects.all()
                ),
                "groups": sorted(child.name for child in group.groups.all()),
            }
            held += [child for child in group.groups.all() if child.name not in groups]
        found = held
    images = {sha for group in groups.values() for sha in group["images"]}
    images |= {obj[0] for group in groups.values() for obj in group["objects"]}
    shown = TrainingImage.objects.filter(workspace=task.workspace)
    return {
        "labels": sorted(types.items()),
        "images": {
            stored_sha(image): {"test": image.test_image, "meta": image.meta_data}
            for image in shown
            if stored_sha(image) in images
        },
        "groups": groups,
    }
