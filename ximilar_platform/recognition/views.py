"""``recognition/v2/task`` and ``recognition/v2/label``."""

from __future__ import annotations

from django.db.models import Count
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.core.api.relations import relation_action
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.recognition import image_labels, services
from ximilar_platform.recognition.filters import LabelFilterSet
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.recognition.serializers import LabelSerializer, TaskSerializer
from ximilar_platform.training_jobs.views import TrainableTaskViewSet


class TaskViewSet(TrainableTaskViewSet):
    queryset = Task.objects.prefetch_related("labels").order_by("created", "id")
    serializer_class = TaskSerializer

    def perform_create(self, serializer: TaskSerializer) -> None:
        serializer.instance = services.create_task(workspace=self.request.workspace, **serializer.validated_data)

    add_label = relation_action("add-label", Label, "label_id", services.add_label_to_task, names=("task", "label"))
    remove_label = relation_action(
        "remove-label", Label, "label_id", services.remove_label_from_task, names=("task", "label")
    )


class LabelViewSet(WorkspaceScopedViewSet):
    queryset = Label.objects.annotate(
        images_count=Count("image_labels", distinct=True), tasks_count=Count("tasks", distinct=True)
    ).order_by("created", "id")
    serializer_class = LabelSerializer
    filterset_class = LabelFilterSet

    @action(detail=True, methods=["delete"])
    def wipe(self, request: Request, pk: str) -> Response:
        image_labels.wipe_label(label=self.get_object())
        return Response(status=204)

    add_task = relation_action("add-task", Task, "task_id", services.add_label_to_task, names=("label", "task"))
    remove_task = relation_action(
        "remove-task", Task, "task_id", services.remove_label_from_task, names=("label", "task")
    )
