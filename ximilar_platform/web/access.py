"""Who may see a page: a signed-in user, in the workspace chosen in their session.

Every object a page names is looked up in that workspace; another tenant's id, or one of another
of the user's workspaces, answers 404 like an id that does not exist (the API's rule).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.accounts.services import ensure_default_workspace

M = TypeVar("M", bound=Model)
SESSION_KEY = "workspace_id"


def current_workspace(request: HttpRequest) -> Workspace:
    """The workspace chosen in the session, if the user is still a member; else their default one."""
    chosen = request.session.get(SESSION_KEY)
    if chosen:
        workspace = Workspace.objects.for_user(request.user).filter(id=chosen).first()
        if workspace is not None:
            return workspace
    return ensure_default_workspace(user=request.user)


def choose_workspace(request: HttpRequest, workspace_id: Any) -> Workspace:
    workspace = owned_workspace(request, workspace_id)
    request.session[SESSION_KEY] = str(workspace.id)
    return workspace


def owned_workspace(request: HttpRequest, workspace_id: Any) -> Workspace:
    workspace = Workspace.objects.for_user(request.user).filter(id=as_uuid(workspace_id)).first()
    if workspace is None:
        raise Http404("No such workspace.")
    return workspace


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A web app view: signed in (else to the login page), with ``request.workspace`` set."""

    @login_required
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.workspace = current_workspace(request)  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped


def owned(model: type[M], object_id: Any, request: HttpRequest, **filters: Any) -> M:
    """The row of ``model`` with this id in the request's workspace, else 404."""
    found = model._default_manager.filter(id=as_uuid(object_id), workspace=request.workspace, **filters).first()
    if found is None:
        raise Http404(f"No such {model._meta.verbose_name}.")
    return found


def maybe(model: type[M], object_id: Any, request: HttpRequest) -> M | None:
    """The row of ``model`` with this id in the request's workspace; None for no, a bad or a foreign id."""
    try:
        return owned(model, object_id, request)
    except Http404:
        return None


def uuids(values: list[str]) -> list[uuid.UUID]:
    """The well-formed ids among ``values`` (a form's checkboxes); others are ignored."""
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


def as_uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as error:
        raise Http404("Not found.") from error
