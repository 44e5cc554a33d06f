"""``account/v2/...``: the current user, their workspaces and per-service configuration."""

from __future__ import annotations

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.accounts import services
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.accounts.serializers import UserSerializer, WorkspaceSerializer


class UserView(APIView):
    def get(self, request: Request) -> Response:
        services.ensure_default_workspace(user=request.user)
        return Response(UserSerializer(request.user).data)


class WorkspaceListView(APIView):
    """A plain JSON list, the shape later official clients read (API_CONTRACT.md §0.6)."""

    def get(self, request: Request) -> Response:
        services.ensure_default_workspace(user=request.user)
        workspaces = Workspace.objects.for_user(request.user).select_related("owner")
        return Response(WorkspaceSerializer(workspaces, many=True).data)

    def post(self, request: Request) -> Response:
        serializer = WorkspaceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = services.create_workspace(user=request.user, name=serializer.validated_data["name"])
        return Response(WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)


class ConfigView(APIView):
    """Ximilar serves per-service UI configuration here; a self-hosted install has none yet."""

    def get(self, request: Request, config_type: str) -> Response:
        return Response({"type": config_type, "version": request.query_params.get("version"), "config": {}})
