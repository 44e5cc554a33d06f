"""``manage.py add_workspace_member WORKSPACE_ID USERNAME``: share a workspace with a teammate."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ximilar_platform.accounts.models import Workspace
from ximilar_platform.accounts.services import add_workspace_member


class Command(BaseCommand):
    help = "Give a user access to a workspace."

    def add_arguments(self, parser) -> None:
        parser.add_argument("workspace_id")
        parser.add_argument("username")

    def handle(self, *args, workspace_id: str, username: str, **options) -> None:
        workspace = Workspace.objects.filter(id=workspace_id).first()
        user = get_user_model().objects.filter(username=username).first()
        if workspace is None or user is None:
            raise CommandError("Unknown workspace or user.")
        add_workspace_member(workspace=workspace, user=user)
        self.stdout.write(f"'{username}' is now a member of {workspace}.")
