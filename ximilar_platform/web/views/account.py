"""Signing in and out, the API token, and the workspaces: switch, create, share."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ximilar_platform.accounts import services, tokens, usage
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.web.access import choose_workspace, owned_workspace, page
from ximilar_platform.web.feedback import reported
from ximilar_platform.web.views.notifications import card_context

login = auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True)
logout = auth_views.LogoutView.as_view()


@page
def account(request: HttpRequest) -> HttpResponse:
    context = {
        "section": "account",
        "title": "Account",
        "tokens": tokens.tokens_of(request.user).order_by("-created"),
        "usage": usage.usage_of([request.workspace], days=30)[0],
        "new_key": request.session.pop("new_api_key", None),
        "member_workspaces": Workspace.objects.for_user(request.user)
        .prefetch_related("members")
        .select_related("owner")
        .order_by("-is_default", "name"),
        **card_context(request),
    }
    return render(request, "web/account/account.html", context)


@page
@require_POST
def issue_token(request: HttpRequest) -> HttpResponse:
    """A new token beside the others; its key goes to the next page once, through the session."""
    days = request.POST.get("expires_in_days", "").strip()
    if days and not days.isdigit():
        messages.error(request, "Expires in: give a whole number of days, or leave it empty for never.")
        return redirect("web:account")
    with reported(request, "A new API token was issued: copy it now, it is shown only once."):
        _, key = tokens.issue_token(
            user=request.user,
            name=request.POST.get("name", "").strip()[:100],
            expires_in_days=int(days) if days else None,
        )
        request.session["new_api_key"] = key
    return redirect("web:account")


@page
@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    with reported(request):
        token = tokens.revoke_token(user=request.user, ref=str(token_id))
        messages.success(request, f"Token {token.prefix}… revoked: programs using it get 401 from now on.")
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
