from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ximilar_platform.accounts.models import Workspace


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
