"""Creating users, their default workspace and tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from ximilar_platform.accounts.models import ApiToken, Workspace


@transaction.atomic
def create_api_user(*, username: str, email: str = "") -> tuple[AbstractBaseUser, str]:
    """Create a user with a default workspace and return it with a new API key."""
    user = get_user_model().objects.create_user(username=username, email=email)
    ensure_default_workspace(user=user)
    _, key = ApiToken.issue(user, name="default")
    return user, key


def ensure_default_workspace(*, user: AbstractBaseUser) -> Workspace:
    """The user's default workspace, made on first use; two first requests at once make one."""
    workspace = Workspace.objects.filter(owner=user, is_default=True).first()
    if workspace is not None:
        return workspace
    try:
        with transaction.atomic():  # the one-default-per-owner constraint decides a race
            workspace = Workspace.objects.create(name="Default", owner=user, is_default=True)
            workspace.members.add(user)
    except IntegrityError:
        workspace = Workspace.objects.get(owner=user, is_default=True)
    return workspace


def create_workspace(*, user: AbstractBaseUser, name: str) -> Workspace:
    workspace = Workspace.objects.create(name=name, owner=user)
    workspace.members.add(user)
    return workspace


def add_workspace_member(*, workspace: Workspace, user: AbstractBaseUser) -> None:
    workspace.members.add(user)


def add_member_by_username(*, workspace: Workspace, by: AbstractBaseUser, username: str) -> AbstractBaseUser:
    """The owner shares a workspace with another user, named by username."""
    if workspace.owner_id != by.pk:
        raise ValidationError({"username": ["Only the workspace's owner can add members."]})
    member = get_user_model().objects.filter(username=username.strip()).first()
    if member is None:
        raise ValidationError({"username": [f"There is no user named '{username.strip()}'."]})
    workspace.members.add(member)
    return member
