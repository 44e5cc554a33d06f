"""``recognition/v2/task``, ``label``, ``model`` and ``training-job``."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.core.api.lookups import get_in_workspace, parse_uuid
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.images import services as image_services
from ximilar_platform.recognition import services
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.recognition.serializers import LabelSerializer, TaskSerializer
from ximilar_platform.training_jobs import views as versions
from ximilar_platform.training_jobs.models import TaskKind


class TaskViewSet(versions.TrainableTaskViewSet):
    task_kind = TaskKind.RECOGNITION
    queryset = Task.objects.prefetch_related("labels").order_by("created", "id")
    serializer_class = TaskSerializer

    def perform_create(self, serializer: TaskSerializer) -> None:
        serializer.instance = services.create_task(workspace=self.request.workspace, **serializer.validated_data)

    def _label(self, task: Task) -> Label:
        return get_in_workspace(Label, self.request.data.get("label_id"), workspace_id=task.workspace_id, field="label_id")

    @action(detail=True, methods=["post"], url_path="add-label")
    def add_label(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        services.add_label_to_task(task=task, label=self._label(task))
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["post"], url_path="remove-label")
    def remove_label(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        services.remove_label_from_task(task=task, label=self._label(task))
        return Response(self.get_serializer(self.get_object()).data)


class LabelViewSet(WorkspaceScopedViewSet):
    queryset = Label.objects.annotate(
        images_count=Count("image_labels", distinct=True), tasks_count=Count("tasks", distinct=True)
    ).order_by("created", "id")
    serializer_class = LabelSerializer

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        params = self.request.query_params
        if params.get("task"):
            queryset = queryset.filter(tasks__id=parse_uuid(params["task"], "task"))
        if params.get("search"):
            queryset = queryset.filter(name__icontains=params["search"])
        if params.get("type"):
            queryset = queryset.filter(type=params["type"])
        return queryset

    def _task(self, label: Label) -> Task:
        return get_in_workspace(Task, self.request.data.get("task_id"), workspace_id=label.workspace_id, field="task_id")

    @action(detail=True, methods=["delete"])
    def wipe(self, request: Request, pk: str) -> Response:
        image_services.wipe_label(label=self.get_object())
        return Response(status=204)

    @action(detail=True, methods=["post"], url_path="add-task")
    def add_task(self, request: Request, pk: str) -> Response:
        label = self.get_object()
        services.add_label_to_task(task=self._task(label), label=label)
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["post"], url_path="remove-task")
    def remove_task(self, request: Request, pk: str) -> Response:
        label = self.get_object()
        services.remove_label_from_task(task=self._task(label), label=label)
        return Response(self.get_serializer(self.get_object()).data)


class ModelVersionViewSet(versions.ModelVersionViewSet):
    task_kind = TaskKind.RECOGNITION


class TrainingJobViewSet(versions.TrainingJobViewSet):
    task_kind = TaskKind.RECOGNITION
