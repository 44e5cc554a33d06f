"""``account/v2/...``: the current user, their workspaces and per-service configuration."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ximilar_platform.accounts import services, tokens, usage
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.accounts.serializers import ApiTokenSerializer, UserSerializer, WorkspaceSerializer


class UserView(APIView):
    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        services.ensure_default_workspace(user=request.user)
        return Response(UserSerializer(request.user).data)


class WorkspaceListView(APIView):
    """A plain JSON list, the shape later official clients read (API_CONTRACT.md §0.6)."""

    @extend_schema(responses=WorkspaceSerializer(many=True))
    def get(self, request: Request) -> Response:
        services.ensure_default_workspace(user=request.user)
        workspaces = Workspace.objects.for_user(request.user).select_related("owner")
        return Response(WorkspaceSerializer(workspaces, many=True).data)

    @extend_schema(request=WorkspaceSerializer, responses={201: WorkspaceSerializer})
    def post(self, request: Request) -> Response:
        serializer = WorkspaceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = services.create_workspace(user=request.user, name=serializer.validated_data["name"])
        return Response(WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)


class ConfigView(APIView):
    """Ximilar serves per-service UI configuration here; a self-hosted install has none yet."""

    def get(self, request: Request, config_type: str) -> Response:
        return Response({"type": config_type, "version": request.query_params.get("version"), "config": {}})


class TokenListView(APIView):
    """``account/v2/token``: the user's API tokens (prefixes only); POST issues one, its key shown once."""

    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        found = tokens.tokens_of(request.user)
        return Response(ApiTokenSerializer(found, many=True, context={"request": request}).data)

    @extend_schema(request=ApiTokenSerializer, responses={201: ApiTokenSerializer})
    def post(self, request: Request) -> Response:
        serializer = ApiTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, key = tokens.issue_token(
            user=request.user,
            name=serializer.validated_data.get("name", ""),
            expires_in_days=serializer.validated_data.get("expires_in_days"),
        )
        body = {**ApiTokenSerializer(token, context={"request": request}).data, "key": key}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    """``account/v2/token/<id or prefix>``: DELETE revokes it, at once on every API process."""

    @extend_schema(responses=ApiTokenSerializer)
    def get(self, request: Request, ref: str) -> Response:
        token = tokens.find_token(user=request.user, ref=ref)
        return Response(ApiTokenSerializer(token, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, ref: str) -> Response:
        tokens.revoke_token(user=request.user, ref=ref)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UsageView(APIView):
    """``account/v2/usage?days=30``: records each of the user's workspaces sent per service and day."""

    @extend_schema(
        parameters=[OpenApiParameter("days", OpenApiTypes.INT, description=f"1 to {usage.MAX_DAYS}; default 30.")]
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("days", "30")
        if not raw.isdigit() or not 1 <= int(raw) <= usage.MAX_DAYS:
            raise ValidationError({"days": [f"Give a number of days from 1 to {usage.MAX_DAYS}."]})
        services.ensure_default_workspace(user=request.user)
        workspaces = list(Workspace.objects.for_user(request.user).order_by("created", "id"))
        return Response({"days": int(raw), "workspaces": usage.usage_of(workspaces, int(raw))})
