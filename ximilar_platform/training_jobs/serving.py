"""What every prediction endpoint shares: the task and version a request names, and ``store_images``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.request import Request

from inference.images import DecodedImage, InvalidImage
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.core.api import records as envelope
from ximilar_platform.core.api.lookups import parse_uuid
from ximilar_platform.core.api.workspaces import requested_workspace_name, resolve_workspace
from ximilar_platform.images import services as image_services
from ximilar_platform.images.storage import image_limits, url_policy
from ximilar_platform.training_jobs.models import ModelVersion

M = TypeVar("M", bound=Model)


class NotTrained(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Task has no trained model."
    default_code = "not_trained"


def resolve_version(request: Request, task: Any, kind: str) -> ModelVersion:
    """``version`` null or absent means the task's production version."""
    return version_of(task, kind, request.data.get("version"))


def version_of(task: Any, kind: str, requested: Any) -> ModelVersion:
    """The version a request or a flow node names, or production's; NotFound or NotTrained otherwise."""
    number = task.production_version if requested in (None, "") else requested
    try:
        number = int(number)
    except (TypeError, ValueError) as error:
        raise NotFound(f"Version '{requested}' of this task does not exist.") from error
    if number < 1:
        raise NotTrained()
    version = ModelVersion.objects.filter(task_kind=kind, task_id=task.id, version=number).first()
    if version is None:
        raise NotFound(f"Version {number} of this task does not exist.")
    return version


def find_task(request: Request, model: type[M]) -> M:
    """The task in any of the user's workspaces, or in the one the request names.

    The workspace is resolved only when named: classify is the hot path, and the task id
    alone already proves membership.
    """
    task_id = parse_uuid(request.data.get("task_id") or request.data.get("task"), "task_id")
    return find_owned(request, model, task_id, "Task not found.")


def find_owned(request: Request, model: type[M], object_id: uuid.UUID, missing: str) -> M:
    """A row of ``model`` in one of the user's workspaces (the named one, if any), else 404 ``missing``."""
    found = model._default_manager.filter(id=object_id, workspace__members=request.user)
    if requested_workspace_name(request) is not None:
        workspace, explicit = resolve_workspace(request)
        if explicit:
            found = found.filter(workspace=workspace)
    row = found.first()
    if row is None:
        raise NotFound(missing)
    return row


@dataclass(frozen=True)
class Prediction:
    """A prediction request, read: the task, the version to serve, the records, each decoded or failed."""

    task: Any
    version: ModelVersion
    records: list[dict[str, Any]]
    decoded: list[DecodedImage | InvalidImage]

    @property
    def images(self) -> list:
        """The readable records' images, in order: the one batch a predictor runs on."""
        return [item.image for item in self.decoded if isinstance(item, DecodedImage)]


def read_prediction(request: Request, model: type[M], kind: str) -> Prediction:
    """The part every prediction endpoint shares: body shape, task, version (null: production), records."""
    if not isinstance(request.data, Mapping):
        raise ValidationError("The body must be a JSON object with task_id and records.")
    task = find_task(request, model)
    version = resolve_version(request, task, kind)
    records = envelope.parse_records(request.data, max_records=settings.MAX_RECORDS)
    return Prediction(task, version, records, decode_records(records))


def decode_records(records: list[dict[str, Any]]) -> list[DecodedImage | InvalidImage]:
    """Each record's image, decoded under the configured size limits and URL policy, or its error."""
    return envelope.decode_all(records, image_limits(), url_policy())


def store_image(workspace: Workspace, decoded: DecodedImage) -> uuid.UUID:
    """``store_images``: keep a predicted record as a training image (the existing one if a duplicate)."""
    options = image_services.ImageOptions(meta_data={})
    try:
        return image_services.ingest_training_image(workspace=workspace, decoded=decoded, options=options).id
    except image_services.ImageAlreadyExists as exists:
        return exists.image_id


def describe(images: list) -> list[list[float]]:
    """``descriptor: 1``: the generic visual descriptor of each image (`inference.descriptors`)."""
    from inference.descriptors import shared_descriptor  # torch: loaded only by requests that ask

    return shared_descriptor(num_threads=settings.INFERENCE_THREADS).describe(images)
