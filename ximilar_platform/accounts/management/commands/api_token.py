"""``manage.py api_token create|list|revoke USERNAME``: an operator's way to the token API."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import APIException

from ximilar_platform.accounts import tokens


class Command(BaseCommand):
    help = "Create (the key is the last line), list (prefixes) or revoke (by id or prefix) a user's API tokens."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("username")
        parser.add_argument("token", nargs="?", help="revoke: the token's id or prefix, as `list` shows them")
        parser.add_argument("--name", default="", help="create: what the token is for")
        parser.add_argument("--expires-in-days", type=int, default=None, help="create: omit for no expiry")

    def handle(self, *args, action: str, username: str, token: str | None, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user named '{username}'.")
        try:
            if action == "create":
                issued, key = tokens.issue_token(
                    user=user, name=options["name"], expires_in_days=options["expires_in_days"]
                )
                self.stdout.write(f"Token {issued.id} ({issued.prefix}…) expires: {issued.expires or 'never'}")
                self.stdout.write(key)
            elif action == "list":
                for found in tokens.tokens_of(user):
                    used = found.last_used.isoformat() if found.last_used else "never"
                    self.stdout.write(
                        f"{found.id}\t{found.prefix}\t{found.name or '-'}\tlast used {used}\t"
                        f"expires {found.expires.isoformat() if found.expires else 'never'}"
                    )
            else:
                if not token:
                    raise CommandError("Name the token to revoke: its id or prefix (see `api_token list`).")
                revoked = tokens.revoke_token(user=user, ref=token)
                self.stdout.write(f"Revoked token {revoked.prefix}… of '{username}'.")
        except APIException as error:
            details = error.detail if isinstance(error.detail, list) else [error.detail]
            raise CommandError(" ".join(str(detail) for detail in details)) from error
