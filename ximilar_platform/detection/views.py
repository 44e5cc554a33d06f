"""``detection/v2/task``, ``label``, ``object``, ``model`` and ``training-job``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.api.lookups import get_in_workspace, parse_uuid
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.detection import services
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.detection.serializers import (
    DetectionLabelSerializer,
    DetectionObjectSerializer,
    DetectionTaskSerializer,
)
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import Label as RecognitionLabel
from ximilar_platform.recognition.models import Task as RecognitionTask
from ximilar_platform.training_jobs import views as versions
from ximilar_platform.training_jobs.models import TaskKind


class DetectionTaskViewSet(versions.TrainableTaskViewSet):
    task_kind = TaskKind.DETECTION
    queryset = DetectionTask.objects.prefetch_related("labels").order_by("created", "id")
    serializer_class = DetectionTaskSerializer

    def perform_create(self, serializer: DetectionTaskSerializer) -> None:
        serializer.save(workspace=self.request.workspace)

    def _label(self, task: DetectionTask) -> DetectionLabel:
        return get_in_workspace(
            DetectionLabel, self.request.data.get("label_id"), workspace_id=task.workspace_id, field="label_id"
        )

    def _image(self, task: DetectionTask) -> TrainingImage:
        return get_in_workspace(
            TrainingImage, self.request.data.get("image_id"), workspace_id=task.workspace_id, field="image_id"
        )

    def _respond(self) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["post"], url_path="add-label")
    def add_label(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        task.labels.add(self._label(task))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="remove-label")
    def remove_label(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        task.labels.remove(self._label(task))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="add-image")
    def add_image(self, request: Request, pk: str) -> Response:
        """Add a negative image: one showing none of the task's objects."""
        task = self.get_object()
        services.add_negative_image(task=task, image=self._image(task))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="remove-image")
    def remove_image(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        services.remove_negative_image(task=task, image=self._image(task))
        return self._respond()


class DetectionLabelViewSet(WorkspaceScopedViewSet):
    """Deleting a label deletes its objects (the foreign key cascades)."""

    queryset = DetectionLabel.objects.prefetch_related("recognition_tasks").order_by("created", "id")
    serializer_class = DetectionLabelSerializer

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        params = self.request.query_params
        if params.get("task"):
            queryset = queryset.filter(tasks__id=parse_uuid(params["task"], "task"))
        if params.get("search"):
            queryset = queryset.filter(name__icontains=params["search"])
        return queryset

    def perform_create(self, serializer: DetectionLabelSerializer) -> None:
        serializer.save(workspace=self.request.workspace)

    def _task(self, label: DetectionLabel) -> RecognitionTask:
        return get_in_workspace(
            RecognitionTask, self.request.data.get("task_id"), workspace_id=label.workspace_id, field="task_id"
        )

    @action(detail=True, methods=["post"], url_path="add-task")
    def add_task(self, request: Request, pk: str) -> Response:
        """Attach a recognition task that classifies this label's objects (used by flows)."""
        label = self.get_object()
        label.recognition_tasks.add(self._task(label))
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["post"], url_path="remove-task")
    def remove_task(self, request: Request, pk: str) -> Response:
        label = self.get_object()
        label.recognition_tasks.remove(self._task(label))
        return Response(self.get_serializer(self.get_object()).data)


class DetectionObjectViewSet(WorkspaceScopedViewSet):
    queryset = DetectionObject.objects.select_related("image", "detection_label").prefetch_related(
        "object_labels__label", "image__image_labels__label"
    ).order_by("created", "id")
    serializer_class = DetectionObjectSerializer

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        params = self.request.query_params
        filters = {"image": "image_id", "detection_label": "detection_label_id",
                   "object_detection_label": "detection_label_id", "task": "detection_label__tasks__id",
                   "object_labels": "object_labels__label_id"}
        for name, field in filters.items():
            if params.get(name):
                queryset = queryset.filter(**{field: parse_uuid(params[name], name)})
        return queryset.distinct() if params.get("task") or params.get("object_labels") else queryset

    def get_serializer_context(self) -> dict[str, Any]:
        """Where a referenced image may live: the named workspace, else any of the user's."""
        context = super().get_serializer_context()
        request = self.request
        explicit = getattr(request, "workspace_explicit", False)
        context["workspaces"] = [request.workspace] if explicit else Workspace.objects.for_user(request.user)
        return context

    def perform_create(self, serializer: DetectionObjectSerializer) -> None:
        serializer.save(workspace=serializer.validated_data["image"].workspace)

    def perform_update(self, serializer: DetectionObjectSerializer) -> None:
        serializer.save(workspace=serializer.validated_data["image"].workspace)

    def _label(self, obj: DetectionObject) -> RecognitionLabel:
        return get_in_workspace(
            RecognitionLabel, self.request.data.get("label_id"), workspace_id=obj.workspace_id, field="label_id"
        )

    def _respond(self) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["post"], url_path="add-label")
    def add_label(self, request: Request, pk: str) -> Response:
        obj = self.get_object()
        services.label_object(obj=obj, label=self._label(obj), value=request.data.get("value"))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="update-label")
    def update_label(self, request: Request, pk: str) -> Response:
        obj = self.get_object()
        services.label_object(obj=obj, label=self._label(obj), value=request.data.get("value"))
        return self._respond()

    @action(detail=True, methods=["post"], url_path="remove-label")
    def remove_label(self, request: Request, pk: str) -> Response:
        obj = self.get_object()
        services.unlabel_object(obj=obj, label=self._label(obj))
        return self._respond()


class ModelVersionViewSet(versions.ModelVersionViewSet):
    task_kind = TaskKind.DETECTION


class TrainingJobViewSet(versions.TrainingJobViewSet):
    task_kind = TaskKind.DETECTION
