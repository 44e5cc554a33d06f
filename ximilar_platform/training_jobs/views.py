"""Tasks, versions and training jobs over HTTP, the same for every kind; each kind's urls mount them."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from ximilar_platform.core.api.filters import NameSearchFilterSet, UUIDFilter
from ximilar_platform.core.api.viewsets import WorkspaceScopedViewSet
from ximilar_platform.training_jobs import export, traffic
from ximilar_platform.training_jobs.estimates import expected_training_seconds
from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob, TrainStatus
from ximilar_platform.training_jobs.serializers import (
    ModelVersionSerializer,
    TrainableTaskSerializer,
    TrainingJobSerializer,
)
from ximilar_platform.training_jobs.services import cancel_training, delete_version, deploy_version, start_training
from ximilar_platform.training_jobs.status import with_train_status


class TrainableTaskViewSet(WorkspaceScopedViewSet):
    """Tasks of one kind: ``?search=``, ``train``, ``PATCH production_version`` (deploy) and ``traffic`` (A/B)."""

    filterset_class = NameSearchFilterSet
    throttle_scope: str | None = None  # "train" for the train action (core.api.throttles)

    def get_queryset(self) -> QuerySet:
        return with_train_status(super().get_queryset(), self.queryset.model.task_kind)

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"estimate": self.action != "list"}

    def perform_update(self, serializer: TrainableTaskSerializer) -> None:
        number = serializer.validated_data.pop("production_version", None)
        changes_split = "traffic" in serializer.validated_data
        split = serializer.validated_data.pop("traffic", None)
        with transaction.atomic():
            task = serializer.save()
            if number is not None:
                serializer.instance = task = deploy_version(task=task, number=number)
            if changes_split:
                serializer.instance = traffic.set_split(task=task, value=split)

    @extend_schema(
        parameters=[OpenApiParameter("days", OpenApiTypes.INT, description=f"1 to {traffic.MAX_DAYS}; default 30.")],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"], url_path="traffic", url_name="traffic")
    def traffic_counts(self, request: Request, pk: str) -> Response:
        """The split, and per version and UTC day (``?days=``, default 30): records and mean confidence."""
        days = traffic.parse_days(request.query_params.get("days", "30"))
        return Response(traffic.traffic_report(self.get_object(), days=days))

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "TrainStarted",
                {
                    "id": serializers.UUIDField(),
                    "status": serializers.CharField(),
                    "job": TrainingJobSerializer(),
                    "expected_training_seconds": serializers.IntegerField(allow_null=True),
                },
            )
        },
    )
    @action(detail=True, methods=["post"], throttle_scope="train")
    def train(self, request: Request, pk: str) -> Response:
        """Check the data rules and queue a training job: 202 with the job and its expected seconds, else 400 or 409."""
        task = self.get_object()
        job = start_training(task=task, by=request.user)
        body = {
            "id": pk,
            "status": TrainStatus.WAITING,
            "job": TrainingJobSerializer(job).data,
            "expected_training_seconds": expected_training_seconds(task),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


class TaskRowsFilterSet(django_filters.FilterSet):
    task = UUIDFilter(field_name="task_id")


class TaskScopedReadViewSet(WorkspaceScopedViewSet):
    """Read (and delete) rows that belong to a task of one kind, filtered by ``?task=``."""

    task_kind: str
    http_method_names = ["get", "delete", "head", "options"]
    filterset_class = TaskRowsFilterSet

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().filter(task_kind=self.task_kind)


class ModelVersionViewSet(TaskScopedReadViewSet):
    """``<kind>/v2/model``: trained versions; a non-production version can be deleted."""

    queryset = ModelVersion.objects.order_by("created", "id")
    serializer_class = ModelVersionSerializer

    def perform_destroy(self, instance: ModelVersion) -> None:
        delete_version(version=instance)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> StreamingHttpResponse:
        """The version as a zip that runs without this service (``training_jobs.export``)."""
        return export.zip_response(self.get_object())


class TrainingJobViewSet(TaskScopedReadViewSet):
    """``<kind>/v2/training-job``: state, progress and errors of training runs; ``cancel`` stops one."""

    queryset = TrainingJob.objects.select_related("version").order_by("-created", "id")
    serializer_class = TrainingJobSerializer
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(exclude=True)  # the route exists only to answer 405 with the way to start a job
    def create(self, request: Request) -> Response:
        raise MethodNotAllowed("POST", "Jobs are created by POST <kind>/v2/task/<id>/train.")

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """A waiting job never starts; a running one stops after its current epoch. 409 if it ended."""
        job = self.get_object()
        cancel_training(job=job, by=request.user.get_username())
        return Response(self.get_serializer(job).data)


def register_kind_routes(router: SimpleRouter, prefix: str, kind: str, basename: str) -> None:
    """``<prefix>/model`` and ``<prefix>/training-job`` of one task kind."""
    for path, base in (("model", ModelVersionViewSet), ("training-job", TrainingJobViewSet)):
        viewset = type(f"{kind.title()}{base.__name__}", (base,), {"task_kind": kind})
        router.register(f"{prefix}/{path}", viewset, basename=f"{basename}-{path}")
