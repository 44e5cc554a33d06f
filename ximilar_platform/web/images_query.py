"""The image grid's selection: the filters a person picks, as one queryset over the workspace's images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Cast
from django.http import Http404, QueryDict

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.detection.models import DetectionObject, DetectionTask
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import ImageLabel, Label, Task
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.web.access import as_uuid


@dataclass
class ImageFilters:
    """What the grid shows; every field empty shows every image of the workspace."""

    label: Label | None = None
    unlabelled: bool = False
    test: str = ""  # "", "yes", "no"
    task: Any = None
    search: str = ""

    def query_string(self, **overrides: Any) -> str:
        values = {
            "label": self.label.id if self.label else "",
            "unlabelled": "1" if self.unlabelled else "",
            "test": self.test,
            "task": self.task.id if self.task else "",
            "search": self.search,
            **overrides,
        }
        query = QueryDict(mutable=True)
        query.update({key: str(value) for key, value in values.items() if value not in ("", None)})
        return query.urlencode()


def read_filters(params: QueryDict, workspace: Workspace) -> ImageFilters:
    """The filters named in the query string; ids of other workspaces are ignored like unknown ones."""
    filters = ImageFilters(
        unlabelled=params.get("unlabelled") == "1",
        test=params.get("test", ""),
        search=params.get("search", "").strip()[:200],
    )
    if params.get("label"):
        filters.label = Label.objects.filter(workspace=workspace, id=_id(params["label"])).first()
    if params.get("task"):
        for model in (Task, DetectionTask, SimilarityTask):
            filters.task = model.objects.filter(workspace=workspace, id=_id(params["task"])).first()
            if filters.task is not None:
                break
    return filters


def _id(value: str) -> Any:
    try:
        return as_uuid(value)
    except Http404:  # a malformed id filters nothing rather than failing the page
        return None


def select_images(workspace: Workspace, filters: ImageFilters) -> QuerySet[TrainingImage]:
    images = TrainingImage.objects.filter(workspace=workspace)
    if filters.label is not None:
        images = images.filter(image_labels__label=filters.label)
    if filters.unlabelled:
        images = images.filter(image_labels__isnull=True)
    if filters.test in ("yes", "no"):
        images = images.filter(test_image=filters.test == "yes")
    if filters.task is not None:
        images = images.filter(task_images(filters.task)).distinct()
    if filters.search:
        images = images.annotate(meta_text=Cast("meta_data", TextField())).filter(meta_text__icontains=filters.search)
    return images.order_by("-created", "id")


def task_images(task: Any) -> Q:
    """The images a task trains on: labelled with its labels, boxed with its labels, or in its groups."""
    if isinstance(task, Task):
        return Q(image_labels__label__tasks=task)
    if isinstance(task, DetectionTask):
        return Q(detection_objects__detection_label__tasks=task) | Q(negative_for_detection_tasks=task)
    return Q(similarity_groups__type__tasks=task)


def with_labels(images: QuerySet[TrainingImage]) -> QuerySet[TrainingImage]:
    """What a thumbnail's caption shows: its labels (values too) and how many boxes it has."""
    labels = ImageLabel.objects.select_related("label").order_by("label__created")
    boxes = DetectionObject.objects.filter(image=OuterRef("pk")).values("image").annotate(n=Count("id")).values("n")
    return images.prefetch_related(Prefetch("image_labels", queryset=labels)).annotate(box_count=Subquery(boxes))
