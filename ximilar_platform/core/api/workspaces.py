"""Resolve the ``workspace`` a request names: a UUID, the literal ``Default``, or nothing.

A workspace the user is not a member of answers 404, exactly like one that does not
exist, so ids of other tenants leak nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.accounts.services import ensure_default_workspace

DEFAULT_NAMES = {"", "default"}


def requested_workspace_name(request: Request) -> str | None:
    value = request.query_params.get("workspace")
    if value is None and isinstance(request.data, Mapping):
        value = request.data.get("workspace")
    return None if value is None else str(value).strip()


def resolve_workspace(request: Request) -> tuple[Workspace, bool]:
    """Return the request's workspace and whether the request named one explicitly."""
    name = requested_workspace_name(request)
    if name is None or name.lower() in DEFAULT_NAMES:
        return ensure_default_workspace(user=request.user), False
    try:
        workspace_id = uuid.UUID(name)
    except ValueError as error:
        raise NotFound("Workspace not found.") from error
    workspace = Workspace.objects.for_user(request.user).filter(id=workspace_id).first()
    if workspace is None:
        raise NotFound("Workspace not found.")
    return workspace, True
