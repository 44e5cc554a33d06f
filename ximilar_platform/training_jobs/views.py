"""Versions and training jobs over HTTP; each task kind's urls mount subclasses naming the kind."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ximilar_platform.core.api.lookups import parse_uuid
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob, TrainStatus
from ximilar_platform.training_jobs.serializers import ModelVersionSerializer, TrainingJobSerializer
from ximilar_platform.training_jobs.services import delete_version, fail_stale_jobs, start_training, task_model


class TrainableTaskViewSet(WorkspaceScopedViewSet):
    """Tasks of one kind: ``?search=`` on the name, and ``train``; reads see lost workers' jobs failed."""

    task_kind: str

    def get_queryset(self) -> QuerySet:
        fail_stale_jobs()  # pollers of last_train_status see a lost worker's job as failed
        queryset = super().get_queryset()
        search = self.request.query_params.get("search")
        return queryset.filter(name__icontains=search) if search else queryset

    @action(detail=True, methods=["post"])
    def train(self, request: Request, pk: str) -> Response:
        """Check the data rules and queue a training job: 202 with the job, 400 or 409 otherwise."""
        job = start_training(task=self.get_object(), kind=self.task_kind)
        body = {"id": pk, "status": TrainStatus.WAITING, "job": TrainingJobSerializer(job).data}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class TaskScopedReadViewSet(WorkspaceScopedViewSet):
    """Read (and delete) rows that belong to a task of one kind, filtered by ``?task=``."""

    task_kind: str
    http_method_names = ["get", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset().filter(task_kind=self.task_kind)
        if self.request.query_params.get("task"):
            queryset = queryset.filter(task_id=parse_uuid(self.request.query_params["task"], "task"))
        return queryset


class ModelVersionViewSet(TaskScopedReadViewSet):
    """``<kind>/v2/model``: trained versions; a non-production version can be deleted."""

    queryset = ModelVersion.objects.order_by("created", "id")
    serializer_class = ModelVersionSerializer

    def perform_destroy(self, instance: ModelVersion) -> None:
        task = task_model(instance.task_kind).objects.filter(id=instance.task_id).first()
        if task and task.production_version == instance.version:
            raise ValidationError("This version is in production; deploy another version before deleting it.")
        delete_version(version=instance)


class TrainingJobViewSet(TaskScopedReadViewSet):
    """``<kind>/v2/training-job``: state, progress and errors of training runs."""

    queryset = TrainingJob.objects.select_related("version").order_by("-created", "id")
    serializer_class = TrainingJobSerializer
    http_method_names = ["get", "head", "options"]

    def get_queryset(self) -> QuerySet:
        fail_stale_jobs()
        return super().get_queryset()
