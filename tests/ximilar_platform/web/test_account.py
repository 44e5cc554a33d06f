"""Signing in and out, the demo password, the API token and workspaces in the web app."""

from __future__ import annotations

import stat

from django.test import Client
from rest_framework.test import APIClient

from ximilar_platform.accounts.demo import ensure_demo_password
from ximilar_platform.accounts.models import ApiToken, Workspace
from ximilar_platform.recognition.models import Task


def test_pages_ask_for_a_sign_in_and_a_password_signs_in(alice) -> None:
    browser = Client()
    assert browser.get("/app/images/")["Location"] == "/app/login/?next=/app/images/"
    alice.user.set_password("s3cret-enough")
    alice.user.save()
    wrong = browser.post("/app/login/", {"username": "alice", "password": "nope"})
    assert wrong.status_code == 200 and "do not match" in wrong.content.decode()
    right = browser.post("/app/login/", {"username": "alice", "password": "s3cret-enough", "next": "/app/images/"})
    assert right.status_code == 302 and right["Location"] == "/app/images/"
    assert browser.get("/app/").status_code == 200
    assert browser.post("/app/logout/").status_code == 302
    assert browser.get("/app/")["Location"].startswith("/app/login/")


def test_sign_in_refuses_a_post_without_its_csrf_token(alice) -> None:
    alice.user.set_password("s3cret-enough")
    alice.user.save()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/app/login/", {"username": "alice", "password": "s3cret-enough"}).status_code == 403


def test_the_demo_password_is_kept_and_still_signs_in(db, tmp_path) -> None:
    path = tmp_path / "demo_password"
    first = ensure_demo_password(username="demo", password_file=path)
    assert ensure_demo_password(username="demo", password_file=path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Client().login(username="demo", password=first)
    path.write_text("tampered")
    fresh = ensure_demo_password(username="demo", password_file=path)
    assert fresh != first and Client().login(username="demo", password=fresh)


def test_a_new_token_is_shown_once_and_revoking_one_leaves_the_others(web, alice) -> None:
    old = APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Token {alice.token}")
    web.post("/app/account/token/", {"name": "sync script", "expires_in_days": "30"})
    page = web.get("/app/account/").content.decode()
    key = page.split('id="new-api-key" class="mono" style="word-break:break-all">')[1].split("<")[0]
    assert "sync script" in page and key[:8] in page
    new = APIClient()
    new.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert new.get("/account/v2/user").status_code == 200 and old.get("/account/v2/user").status_code == 200
    assert key not in web.get("/app/account/").content.decode()  # shown once
    first = ApiToken.objects.get(user=alice.user, prefix=alice.token[:8])
    revoked = web.post(f"/app/account/token/{first.id}/revoke/", follow=True).content.decode()
    assert f"Token {first.prefix}… revoked" in revoked
    assert old.get("/account/v2/user").status_code == 401 and new.get("/account/v2/user").status_code == 200
    assert list(ApiToken.objects.filter(user=alice.user).values_list("name", flat=True)) == ["sync script"]


def test_bad_token_forms_say_why_and_issue_nothing(web, bob, alice) -> None:
    answer = web.post("/app/account/token/", {"expires_in_days": "soon"}, follow=True).content.decode()
    assert "whole number of days" in answer
    answer = web.post("/app/account/token/", {"expires_in_days": "0"}, follow=True).content.decode()
    assert "from 1 to 3650" in answer
    bobs = ApiToken.objects.get(user=bob.user)
    assert "Token not found." in web.post(f"/app/account/token/{bobs.id}/revoke/", follow=True).content.decode()
    assert ApiToken.objects.count() == 2


def test_the_account_page_shows_the_workspaces_usage(web, alice) -> None:
    alice.client.post(
        "/similarity/custom/v2/insert",
        {"records": [{"_id": "a", "_descriptor": [1.0, 0.0]}, {"_id": "b", "_descriptor": [0.0, 1.0]}]},
        format="json",
        HTTP_COLLECTION_ID="shop",
    )
    page = web.get("/app/account/").content.decode()
    assert '<strong id="usage-today">2</strong> records today' in page and "<td>search</td>" in page


def test_a_new_workspace_becomes_the_current_one_and_scopes_the_pages(web, alice) -> None:
    Task.objects.create(workspace=alice.workspace, name="in default")
    web.post("/app/account/workspaces/", {"name": "Shop"})
    shop = Workspace.objects.get(name="Shop")
    dashboard = web.get("/app/").content.decode()
    assert "in default" not in dashboard and "Shop" in dashboard
    web.post("/app/account/workspaces/switch/", {"workspace": str(alice.workspace.id)})
    assert "in default" in web.get("/app/").content.decode()
    assert shop.members.filter(id=alice.user.id).exists()


def test_only_the_owner_adds_members_and_unknown_users_are_named(web, bob_web, alice, bob) -> None:
    answer = web.post(f"/app/account/workspaces/{alice.workspace.id}/members/", {"username": "nobody"}, follow=True)
    assert "There is no user named &#x27;nobody&#x27;." in answer.content.decode()
    web.post(f"/app/account/workspaces/{alice.workspace.id}/members/", {"username": "bob"})
    assert alice.workspace.members.filter(id=bob.user.id).exists()
    refused = bob_web.post(f"/app/account/workspaces/{alice.workspace.id}/members/", {"username": "alice"}, follow=True)
    assert "Only the workspace&#x27;s owner can add members." in refused.content.decode()


def test_switching_to_a_workspace_of_someone_else_answers_404(web, bob) -> None:
    answer = web.post("/app/account/workspaces/switch/", {"workspace": str(bob.workspace.id)})
    assert answer.status_code == 404 and "does not exist" in answer.content.decode()
