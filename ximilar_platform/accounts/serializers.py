from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ximilar_platform.accounts.models import ApiToken, Workspace
from ximilar_platform.accounts.tokens import MAX_EXPIRES_IN_DAYS


class WorkspaceSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = Workspace
        fields = ["id", "name", "created", "owner", "meta_data", "is_default"]
        read_only_fields = ["created", "is_default"]


class UserSerializer(serializers.ModelSerializer):
    default_workspace = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "date_joined", "default_workspace"]

    def get_default_workspace(self, user) -> str | None:
        workspace = Workspace.objects.filter(owner=user, is_default=True).values_list("id", flat=True).first()
        return str(workspace) if workspace else None


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed: its prefix, never its key; ``current`` marks the one this request used."""

    current = serializers.SerializerMethodField()
    expires_in_days = serializers.IntegerField(
        write_only=True,
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EXPIRES_IN_DAYS,
        help_text="Days until it expires; omit: never.",
    )

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created", "last_used", "expires", "current", "expires_in_days"]
        read_only_fields = ["prefix", "created", "last_used", "expires"]

    def get_current(self, token: ApiToken) -> bool:
        request = self.context.get("request")
        return request is not None and isinstance(request.auth, ApiToken) and request.auth.pk == token.pk
