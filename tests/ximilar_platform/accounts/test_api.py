from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from ximilar_platform.accounts.models import ApiToken, Workspace
from ximilar_platform.accounts.services import create_workspace


def test_request_without_token_answers_401_json(db) -> None:
    response = APIClient().get("/recognition/v2/task")
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == {"code": 401, "text": body["detail"]}
    assert response["WWW-Authenticate"] == "Token"


def test_wrong_token_answers_401_json(alice) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = client.get("/recognition/v2/task")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


@pytest.mark.parametrize("keyword", ["Token", "JWT", "token"])
def test_token_and_jwt_keywords_authenticate(alice, keyword: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {alice.token}")
    assert client.get("/account/v2/user").json()["username"] == "alice"


def test_only_a_hash_of_the_token_is_stored(alice) -> None:
    token = ApiToken.objects.get(user=alice.user)
    assert token.key_hash != alice.token and alice.token not in token.key_hash
    assert len(alice.token) == 40 and token.prefix == alice.token[:8]


def test_create_api_user_prints_a_working_token_last(db) -> None:
    out = io.StringIO()
    call_command("create_api_user", "carol", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    user = client.get("/account/v2/user").json()
    assert user["username"] == "carol"
    assert Workspace.objects.get(owner__username="carol", is_default=True).id.hex == user["default_workspace"].replace(
        "-", ""
    )


def test_user_endpoint_describes_the_user(alice) -> None:
    body = alice.client.get("/account/v2/user/").json()
    assert body["id"] == alice.user.id and body["default_workspace"] == str(alice.workspace.id)


def test_workspace_list_shows_only_memberships(alice, bob) -> None:
    shared = create_workspace(user=bob.user, name="team")
    shared.members.add(alice.user)
    names = {w["name"]: w for w in alice.client.get("/account/v2/workspace").json()}
    assert set(names) == {"Default", "team"}
    assert names["Default"]["is_default"] and names["team"]["owner"] == "bob"


def test_workspace_can_be_created(alice) -> None:
    response = alice.client.post("/account/v2/workspace", {"name": "second"}, format="json")
    assert response.status_code == 201
    assert Workspace.objects.for_user(alice.user).filter(name="second").exists()


def test_config_answers_json(alice) -> None:
    response = alice.client.get("/account/v2/config/recognition?version=2")
    assert response.status_code == 200
    assert response.json() == {"type": "recognition", "version": "2", "config": {}}
