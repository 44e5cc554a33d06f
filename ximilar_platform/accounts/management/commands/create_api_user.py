"""``manage.py create_api_user NAME``: a user, their default workspace, and a token (last line)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ximilar_platform.accounts.services import create_api_user


class Command(BaseCommand):
    help = "Create an API user with a default workspace and print its new token as the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, email: str, **options) -> None:
        if get_user_model().objects.filter(username=username).exists():
            raise CommandError(f"User '{username}' already exists.")
        user, key = create_api_user(username=username, email=email)
        self.stdout.write(f"Created user '{user.username}' with a default workspace.")
        self.stdout.write(key)
