"""A prediction request, read: the task and version it names, and its records, each decoded or failed.

Request-level problems (no task, no trained version, too many records) raise and answer 4xx with
a non-200 ``status.code``; an unreadable record fails alone in the answer (`serving.responses`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.request import Request

from inference.images import DecodedImage, InvalidImage, decode_record
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.accounts.usage import count_records
from ximilar_platform.core.api.lookups import parse_uuid
from ximilar_platform.core.api.workspaces import requested_workspace_name, resolve_workspace
from ximilar_platform.core.models import TrainableTask
from ximilar_platform.images.storage import image_limits, url_policy
from ximilar_platform.serving.memo import Remembered
from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.training_jobs.models import ModelVersion
from ximilar_platform.training_jobs.traffic import versions_for

M = TypeVar("M", bound=Model)

versions: Remembered[ModelVersion] = Remembered()  # (kind, task id, number) -> the version row
post_save.connect(versions.forget, sender=ModelVersion, dispatch_uid="forget-versions-saved")
post_delete.connect(versions.forget, sender=ModelVersion, dispatch_uid="forget-versions-deleted")
# (task model, id, user, workspace named) -> the task: its production version and split come with it
tasks: Remembered[Any] = Remembered()


def forget_tasks(sender: type, **_: object) -> None:
    """A task saved or deleted here (a deploy, a split, a rename) or a workspace's members changed."""
    if issubclass(sender, TrainableTask) or sender is Workspace.members.through:
        tasks.forget()


post_save.connect(forget_tasks, dispatch_uid="forget-tasks-saved")
post_delete.connect(forget_tasks, dispatch_uid="forget-tasks-deleted")
m2m_changed.connect(forget_tasks, sender=Workspace.members.through, dispatch_uid="forget-tasks-members")


class NotTrained(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Task has no trained model."
    default_code = "not_trained"


@dataclass(frozen=True)
class Batch:
    """A request's records, each decoded or failed, in order."""

    records: list[dict[str, Any]]
    decoded: list[DecodedImage | InvalidImage]

    @property
    def images(self) -> list:
        """The readable records' images, in order: the one batch a model runs on."""
        return [item.image for item in self.decoded if isinstance(item, DecodedImage)]

    @property
    def full_sizes(self) -> list[tuple[int, int]]:
        """The full size of each of `images`, which may have been decoded smaller (`draft_side`)."""
        return [item.full_size for item in self.decoded if isinstance(item, DecodedImage)]


@dataclass(frozen=True)
class Prediction(Batch):
    """A batch plus the task it names and the version to serve.

    ``served``: each record's version when the task's traffic split chose them (`serving.split`);
    empty when ``version`` serves every record.
    """

    task: Any = None
    version: ModelVersion | None = None
    served: list[ModelVersion] = field(default_factory=list)


def read_prediction(request: Request, kind: str) -> Prediction:
    """The part every prediction endpoint shares: body shape, task, version (null: production), records."""
    if not isinstance(request.data, Mapping):
        raise ValidationError("The body must be a JSON object with task_id and records.")
    task = find_task(request, adapter_for(kind).task_model)
    version = version_of(task, request.data.get("version"))
    records = parse_records(request.data, max_records=settings.MAX_RECORDS)
    count_records(workspace_id=task.workspace_id, service=kind, records=len(records))
    served = versions_for(task, records, request.data.get("version"))
    sides = [draft_side(one, request.data) for one in {version, *served}]  # the largest input of the versions
    decoded = decode_records(records, draft_side=max(sides) if None not in sides else None)
    return Prediction(records, decoded, task=task, version=version, served=served)


def draft_side(version: ModelVersion, data: Mapping) -> int | None:
    """The side a prediction's JPEGs may be decoded down to (libjpeg's 1/2..1/8 scales), or None: full size.

    At least twice the model's input side and ``PREDICT_DECODE_MIN_SIDE``, so that the model sees
    the picture it would see at full size while far fewer pixels are decoded. Never with
    ``store_images``: a kept training image is stored at full size.
    """
    if data.get("store_images") or settings.PREDICT_DECODE_MIN_SIDE <= 0:
        return None
    input_side = int(version.manifest.get("preprocessing", {}).get("image_size") or 0)
    return max(settings.PREDICT_DECODE_MIN_SIDE, 2 * input_side)


def parse_records(data: Any, *, max_records: int) -> list[dict[str, Any]]:
    records = data.get("records") if isinstance(data, Mapping) else None
    if not isinstance(records, list) or not records:
        raise ValidationError({"records": ["Give a non-empty list of records."]})
    if len(records) > max_records:
        raise ValidationError({"records": [f"At most {max_records} records per request; got {len(records)}."]})
    if not all(isinstance(record, dict) for record in records):
        raise ValidationError({"records": ["Every record must be a JSON object."]})
    return records


def decode_records(
    records: list[dict[str, Any]], *, draft_side: int | None = None
) -> list[DecodedImage | InvalidImage]:
    """Each record's image, decoded under the configured size limits and URL policy, or its error.

    The request's images together hold at most ``REQUEST_MAX_PIXELS``: each record may use what the
    ones before it left (checked from the image header, before its pixels are decoded). Likewise its
    URL downloads together take at most ``REQUEST_URL_FETCH_BUDGET`` seconds. JPEGs may be decoded
    smaller, down to ``draft_side`` (see `decode_or_error`).
    """
    left, deadline = settings.REQUEST_MAX_PIXELS, url_fetch_deadline()
    decoded: list[DecodedImage | InvalidImage] = []
    for record in records:
        found = decode_or_error(record, max_pixels=left, url_deadline=deadline, draft_side=draft_side)
        if isinstance(found, DecodedImage):
            left -= found.image.width * found.image.height
        decoded.append(found)
    return decoded


def url_fetch_deadline() -> float | None:
    """When the URL downloads of a request that starts now must be over (None: REQUEST_URL_FETCH_BUDGET is 0)."""
    budget = settings.REQUEST_URL_FETCH_BUDGET
    return time.monotonic() + budget if budget > 0 else None


def decode_or_error(
    record: dict[str, Any],
    max_pixels: int | None = None,
    url_deadline: float | None = None,
    draft_side: int | None = None,
) -> DecodedImage | InvalidImage:
    """The record's image, or its error.

    ``max_pixels`` and ``url_deadline`` (what a request has left of its pixels and of its download
    time) tighten the image limit and the URL timeout. A JPEG is decoded at the smallest of
    libjpeg's scales that keeps both its sides at least ``draft_side`` (its ``full_size`` says
    how big it is): only for images that are predicted on, never for images that are stored.
    """
    limits, policy = image_limits(), url_policy()
    if max_pixels is not None and max_pixels < limits.max_pixels:
        limits = replace(limits, max_pixels=max(max_pixels, 0))
    if url_deadline is not None:
        policy = replace(policy, timeout=max(min(policy.timeout, url_deadline - time.monotonic()), 0.0))
    try:
        return decode_record(record, limits, policy, draft_size=(draft_side, draft_side) if draft_side else None)
    except InvalidImage as error:
        if error.status == 413 and limits.max_pixels < settings.IMAGE_MAX_PIXELS:
            return InvalidImage(
                f"The request's images together hold more than REQUEST_MAX_PIXELS ({settings.REQUEST_MAX_PIXELS}) "
                "pixels; send fewer or smaller images per request.",
                status=413,
            )
        if error.code == "url_timeout" and policy.timeout < settings.URL_FETCH_TIMEOUT:
            return InvalidImage(
                "The request's URL downloads together took more than REQUEST_URL_FETCH_BUDGET "
                f"({settings.REQUEST_URL_FETCH_BUDGET:g} seconds); send fewer _url records per request, "
                "or send the images as _base64.",
                code="url_timeout",
            )
        return error


def version_of(task: TrainableTask, requested: Any) -> ModelVersion:
    """The version a request or a flow node names, or production's; NotFound or NotTrained otherwise."""
    number = task.production_version if requested in (None, "") else requested
    try:
        number = int(number)
    except (TypeError, ValueError) as error:
        raise NotFound(f"Version '{requested}' of this task does not exist.") from error
    if number < 1:
        raise NotTrained()
    version = versions.get(
        (task.task_kind, task.id, number),  # the queryset is built only on a miss: building it costs
        lambda: ModelVersion.objects.filter(task_kind=task.task_kind, task_id=task.id, version=number).first(),
    )
    if version is None:
        raise NotFound(f"Version {number} of this task does not exist.")
    return version


def find_task(request: Request, model: type[M]) -> M:
    """The task in any of the user's workspaces, or in the one the request names.

    The workspace is resolved only when named: classify is the hot path, and the task id
    alone already proves membership. A task found is remembered (`tasks`) with who found it.
    """
    task_id = parse_uuid(request.data.get("task_id") or request.data.get("task"), "task_id")
    key = (model, task_id, request.user.pk, requested_workspace_name(request))
    found = tasks.get(key, lambda: find_owned(request, model, task_id, "Task not found."))
    assert found is not None  # find_owned raises rather than answering None
    return found


def find_owned(request: Request, model: type[M], object_id: uuid.UUID, missing: str) -> M:
    """A row of ``model`` in one of the user's workspaces (the named one, if any), else 404 ``missing``."""
    found = model._default_manager.filter(id=object_id, workspace__members=request.user)
    if requested_workspace_name(request) is not None:
        workspace, explicit = resolve_workspace(request)
        if explicit:
            found = found.filter(workspace=workspace)
    row = next(iter(found.order_by()[:1]), None)  # one row by its id: no ORDER BY to build or run
    if row is None:
        raise NotFound(missing)
    return row
