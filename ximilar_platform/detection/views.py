"""``detection/v2/task``, ``label`` and ``object``."""

from __future__ import annotations

from typing import Any

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.api.relations import relation_action
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.detection import services
from ximilar_platform.detection.filters import DetectionLabelFilterSet, DetectionObjectFilterSet
from ximilar_platform.detection.models import DetectionLabel, DetectionObject, DetectionTask
from ximilar_platform.detection.serializers import (
    DetectionLabelSerializer,
    DetectionObjectSerializer,
    DetectionTaskSerializer,
)
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.models import Label as RecognitionLabel
from ximilar_platform.recognition.models import Task as RecognitionTask
from ximilar_platform.training_jobs.views import TrainableTaskViewSet


class DetectionTaskViewSet(TrainableTaskViewSet):
    queryset = DetectionTask.objects.prefetch_related("labels").order_by("created", "id")
    serializer_class = DetectionTaskSerializer

    add_label = relation_action(
        "add-label", DetectionLabel, "label_id", services.add_label_to_task, names=("task", "label")
    )
    remove_label = relation_action(
        "remove-label", DetectionLabel, "label_id", services.remove_label_from_task, names=("task", "label")
    )
    add_image = relation_action(
        "add-image", TrainingImage, "image_id", services.add_negative_image, names=("task", "image")
    )
    remove_image = relation_action(
        "remove-image", TrainingImage, "image_id", services.remove_negative_image, names=("task", "image")
    )


class DetectionLabelViewSet(WorkspaceScopedViewSet):
    """Deleting a label deletes its objects (the foreign key cascades)."""

    queryset = DetectionLabel.objects.prefetch_related("recognition_tasks").order_by("created", "id")
    serializer_class = DetectionLabelSerializer
    filterset_class = DetectionLabelFilterSet

    add_task = relation_action(
        "add-task", RecognitionTask, "task_id", services.add_recognition_task, names=("label", "task")
    )
    remove_task = relation_action(
        "remove-task", RecognitionTask, "task_id", services.remove_recognition_task, names=("label", "task")
    )


class DetectionObjectViewSet(WorkspaceScopedViewSet):
    queryset = (
        DetectionObject.objects.select_related("image", "detection_label")
        .prefetch_related("object_labels__label", "image__image_labels__label")
        .order_by("created", "id")
    )
    serializer_class = DetectionObjectSerializer
    filterset_class = DetectionObjectFilterSet

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

    add_label = relation_action(
        "add-label", RecognitionLabel, "label_id", services.label_object, names=("obj", "label"), with_value=True
    )
    update_label = relation_action(
        "update-label", RecognitionLabel, "label_id", services.label_object, names=("obj", "label"), with_value=True
    )
    remove_label = relation_action(
        "remove-label", RecognitionLabel, "label_id", services.unlabel_object, names=("obj", "label")
    )
