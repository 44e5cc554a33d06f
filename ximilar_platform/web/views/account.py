"""Signing in and out, the API token, and the workspaces: switch, create, share."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ximilar_platform.accounts import services
from ximilar_platform.accounts.models import ApiToken, Workspace
from ximilar_platform.web.access import choose_workspace, owned_workspace, page
from ximilar_platform.web.feedback import reported

login = auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view()


@page
def account(request: HttpRequest) -> HttpResponse:
    context = {
        "section": "account",
        "title": "Account",
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created"),
        "new_key": request.session.pop("new_api_key", None),
        "member_workspaces": Workspace.objects.for_user(request.user)
        .prefetch_related("members")
        .select_related("owner")
        .order_by("-is_default", "name"),
    }
    return render(request, "web/account/account.html", context)


@page
@require_POST
def regenerate_token(request: HttpRequest) -> HttpResponse:
    request.session["new_api_key"] = services.regenerate_token(user=request.user)
    messages.success(request, "A new API token was issued; the old one no longer works.")
    return redirect("web:account")


@page
@require_POST
def switch_workspace(request: HttpRequest) -> HttpResponse:
    workspace = choose_workspace(request, request.POST.get("workspace"))
    messages.info(request, f"Now working in {workspace.name}.")
    return redirect(request.POST.get("next") or "web:dashboard")


@page
@require_POST
def create_workspace(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()
    if not name:
        messages.error(request, "Give the workspace a name.")
        return redirect("web:account")
    workspace = services.create_workspace(user=request.user, name=name[:255])
    choose_workspace(request, workspace.id)
    messages.success(request, f"Workspace {workspace.name} created; you are working in it now.")
    return redirect("web:dashboard")


@page
@require_POST
def add_member(request: HttpRequest, workspace_id: str) -> HttpResponse:
    workspace = owned_workspace(request, workspace_id)
    username = request.POST.get("username", "")
    with reported(request, f"{username.strip()} is now a member of {workspace.name}."):
        services.add_member_by_username(workspace=workspace, by=request.user, username=username)
    return redirect("web:account")
