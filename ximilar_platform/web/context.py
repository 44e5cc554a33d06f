"""Template context every page needs: the user's workspaces for the switcher."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ximilar_platform.accounts.models import Workspace


def navigation(request: HttpRequest) -> dict[str, Any]:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"workspaces": Workspace.objects.for_user(request.user).order_by("-is_default", "name")}
