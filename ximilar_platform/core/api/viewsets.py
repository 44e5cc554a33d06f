"""Base classes that scope every query to the workspaces of the requesting user.

Object permissions are skipped on list views (DRF docs), so the scoping lives in
``get_queryset`` (netbox's ``BaseViewSet.restrict()``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from ximilar_platform.core.api.workspaces import resolve_workspace

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class WorkspaceMixin(APIView):
    """Sets ``request.workspace`` (and ``request.workspace_explicit``) after authentication."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        request.workspace, request.workspace_explicit = resolve_workspace(request)


class WorkspaceScopedViewSet(WorkspaceMixin, viewsets.ModelViewSet):
    """CRUD over one workspace-owned model.

    Lists show the requested workspace (default: the user's default one). Ids resolve in
    any workspace the user belongs to unless the request names a workspace, because
    Ximilar lets per-object calls omit it ("adding a label doesn't require the workspace").
    """

    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        request = self.request
        if self.detail and not request.workspace_explicit:
            return queryset.filter(workspace__members=request.user)
        return queryset.filter(workspace=request.workspace)

    def perform_create(self, serializer: Any) -> None:
        serializer.save(workspace=self.request.workspace)
