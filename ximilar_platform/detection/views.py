"""``detection/v2/task``, ``label`` and ``object``."""

from __future__ import annotations

from typing import Any

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.api.relations import link_action, relation_action
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

    add_label = link_action("add-label", DetectionLabel, "label_id", "labels")
    remove_label = link_action("remove-label", DetectionLabel, "label_id", "labels", remove=True)
    # negative images: images showing none of the task's objects, which teach it "nothing here"
    add_image = link_action("add-image", TrainingImage, "image_id", "negative_images")
    remove_image = link_action("remove-image", TrainingImage, "image_id", "negative_images", remove=True)


class DetectionLabelViewSet(WorkspaceScopedViewSet):
    """Deleting a label deletes its objects (the foreign key cascades)."""

    queryset = DetectionLabel.objects.prefetch_related("recognition_tasks").order_by("created", "id")
    serializer_class = DetectionLabelSerializer
    filterset_class = DetectionLabelFilterSet

    # a recognition task that classifies this label's objects (flows use it)
    add_task = link_action("add-task", RecognitionTask, "task_id", "recognition_tasks")
    remove_task = link_action("remove-task", RecognitionTask, "task_id", "recognition_tasks", remove=True)


class DetectionObjectViewSet(WorkspaceScopedViewSet):
    queryset = (
        DetectionObject.objects.select_related("image", "detection_label", "created_by", "updated_by")
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
        image = serializer.validated_data["image"]
        serializer.save(workspace=image.workspace, created_by=self.request.user, updated_by=self.request.user)

    def perform_update(self, serializer: DetectionObjectSerializer) -> None:
        serializer.save(workspace=serializer.validated_data["image"].workspace, updated_by=self.request.user)

    add_label = relation_action(
        "add-label", RecognitionLabel, "label_id", services.label_object, names=("obj", "label"), with_value=True
    )
    update_label = relation_action(
        "update-label", RecognitionLabel, "label_id", services.label_object, names=("obj", "label"), with_value=True
    )
    remove_label = relation_action(
        "remove-label", RecognitionLabel, "label_id", services.unlabel_object, names=("obj", "label")
    )
