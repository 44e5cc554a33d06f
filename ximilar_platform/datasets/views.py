"""``datasets/v2/export``, ``datasets/v2/import`` (202 with the job) and ``datasets/v2/job`` (progress, download)."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.core.api.exceptions import Conflict
from ximilar_platform.core.api.lookups import parse_uuid
from ximilar_platform.core.api.viewsets import WorkspaceMixin, WorkspaceScopedViewSet
from ximilar_platform.core.models import TrainableTask
from ximilar_platform.datasets import services
from ximilar_platform.datasets.catalog import FORMATS
from ximilar_platform.datasets.models import DatasetJob
from ximilar_platform.datasets.serializers import DatasetJobSerializer, job_json
from ximilar_platform.serving.requests import find_owned

FORMAT = serializers.ChoiceField(choices=list(FORMATS))


def task_named(request: Request, value: Any) -> TrainableTask:
    """The recognition, detection or similarity task a body names, in one of the user's workspaces; 404 otherwise."""
    task_id = parse_uuid(value, "task")
    for model in services.TASK_MODELS.values():
        if model._default_manager.filter(pk=task_id).exists():
            return find_owned(request, model, task_id, "Task not found.")
    raise NotFound("Task not found (datasets hold recognition, detection and similarity tasks).")


class ExportView(WorkspaceMixin, APIView):
    @extend_schema(
        request=inline_serializer("DatasetExport", {"task": serializers.UUIDField(), "format": FORMAT}),
        responses={202: DatasetJobSerializer},
    )
    def post(self, request: Request) -> Response:
        task = task_named(request, request.data.get("task"))
        job = services.start_export(task=task, format=request.data.get("format"), by=request.user)
        return Response(job_json(job, request), status=status.HTTP_202_ACCEPTED)


class ImportView(WorkspaceMixin, APIView):
    takes_archive = True  # the body may be a whole dataset: DATASET_MAX_BYTES (core.api.parsers)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "DatasetImport",
                {
                    "file": serializers.FileField(required=False),
                    "url": serializers.URLField(required=False),
                    "format": FORMAT,
                    "task": serializers.UUIDField(required=False),
                },
            )
        },
        responses={202: DatasetJobSerializer},
    )
    def post(self, request: Request) -> Response:
        data = request.data
        task = task_named(request, data.get("task")) if data.get("task") not in (None, "") else None
        url = data.get("url") or ""
        if not isinstance(url, str):
            raise ValidationError({"url": ["Give the archive's URL as text."]})
        job = services.start_import(
            workspace=task.workspace if task else request.workspace,
            format=data.get("format"),
            task=task,
            by=request.user,
            upload=request.FILES.get("file"),
            url=url,
        )
        return Response(job_json(job, request), status=status.HTTP_202_ACCEPTED)


class DatasetJobViewSet(WorkspaceScopedViewSet):
    """The state, progress and per-file errors of imports and exports; an export's zip at ``download``;
    ``cancel`` stops one that has not ended (a running one at its next progress report, nothing imported)."""

    queryset = DatasetJob.objects.order_by("-created", "id")
    serializer_class = DatasetJobSerializer
    http_method_names = ["get", "head", "post"]

    @extend_schema(exclude=True)  # the route exists only to answer 405 with the way to start a job
    def create(self, request: Request) -> Response:
        raise MethodNotAllowed("POST", "Dataset jobs are created by POST datasets/v2/import or datasets/v2/export.")

    @extend_schema(request=None, responses={200: DatasetJobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        job = self.get_object()
        if not job.cancel(by=request.user.get_username()):
            raise Conflict(f"This dataset job already ended ({job.state}).")
        return Response(job_json(job, request))

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str) -> FileResponse:
        job = self.get_object()
        if services.download_url(job, request) is None:
            raise NotFound("This job has no archive to download (not a finished export).")
        name = job.archive.rsplit("/", 1)[-1]
        return FileResponse(default_storage.open(job.archive, "rb"), as_attachment=True, filename=name)
