"""The token API and ``manage.py api_token``: issue (key once), list (prefix only), revoke, expire."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import ApiUser
from ximilar_platform.accounts.models import ApiToken

TOKENS = "/account/v2/token"


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_issue_shows_the_key_once_and_it_authenticates(api: APIClient) -> None:
    created = api.post(TOKENS, {"name": "ci", "expires_in_days": 7}, format="json")
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert len(key) == 40 and body["prefix"] == key[:8] and body["name"] == "ci"
    expires = timezone.datetime.fromisoformat(body["expires"].replace("Z", "+00:00"))
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)
    assert client_with(key).get("/account/v2/user").json()["username"] == "alice"
    listed = api.get(TOKENS).json()
    assert [token["name"] for token in listed] == ["default", "ci"]
    assert all("key" not in token for token in listed) and key not in str(listed)
    assert [token["current"] for token in listed] == [True, False]


def test_revoked_token_is_refused_on_the_next_request(alice: ApiUser) -> None:
    key = alice.client.post(TOKENS, {"name": "script"}, format="json").json()["key"]
    script = client_with(key)
    assert script.get("/recognition/v2/task").status_code == 200
    token_id = ApiToken.objects.get(prefix=key[:8]).id
    assert alice.client.delete(f"{TOKENS}/{token_id}").status_code == 204
    refused = script.get("/recognition/v2/task")
    assert refused.status_code == 401 and refused.json()["detail"] == "Invalid token."
    assert alice.client.get("/recognition/v2/task").status_code == 200  # the other token still works


def test_a_token_can_be_revoked_by_prefix_even_the_one_in_use(alice: ApiUser) -> None:
    assert alice.client.delete(f"{TOKENS}/{alice.token[:8]}").status_code == 204
    assert alice.client.get(TOKENS).status_code == 401


def test_another_users_token_is_not_found_and_stays(alice: ApiUser, bob: ApiUser) -> None:
    bobs = ApiToken.objects.get(user=bob.user)
    for ref in (str(bobs.id), bobs.prefix):
        assert alice.client.delete(f"{TOKENS}/{ref}").status_code == 404
        assert alice.client.get(f"{TOKENS}/{ref}").status_code == 404
    assert bob.client.get(TOKENS).status_code == 200


def test_expired_token_answers_401_saying_so(alice: ApiUser) -> None:
    key = alice.client.post(TOKENS, {"expires_in_days": 1}, format="json").json()["key"]
    ApiToken.objects.filter(prefix=key[:8]).update(expires=timezone.now() - timedelta(seconds=1))
    response = client_with(key).get("/recognition/v2/task")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


@pytest.mark.parametrize("bad", [{"expires_in_days": 0}, {"expires_in_days": "soon"}, {"name": "x" * 101}])
def test_bad_token_requests_answer_400_and_issue_nothing(api: APIClient, bad: dict) -> None:
    response = api.post(TOKENS, bad, format="json")
    assert response.status_code == 400 and response.json()["fields"]
    assert ApiToken.objects.count() == 1


def test_management_command_creates_lists_and_revokes(alice: ApiUser) -> None:
    out = io.StringIO()
    call_command("api_token", "create", "alice", "--name", "ops", "--expires-in-days", "30", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert client_with(key).get("/account/v2/user").status_code == 200
    out = io.StringIO()
    call_command("api_token", "list", "alice", stdout=out)
    assert key[:8] in out.getvalue() and key not in out.getvalue() and "ops" in out.getvalue()
    call_command("api_token", "revoke", "alice", key[:8], stdout=io.StringIO())
    assert client_with(key).get("/account/v2/user").status_code == 401
    with pytest.raises(CommandError, match="Token not found"):
        call_command("api_token", "revoke", "alice", key[:8], stdout=io.StringIO())
    with pytest.raises(CommandError, match="1 to 3650"):
        call_command("api_token", "create", "alice", "--expires-in-days", "0", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no user named"):
        call_command("api_token", "list", "nobody", stdout=io.StringIO())


def test_a_known_token_costs_no_query_and_a_revocation_elsewhere_lands_within_the_cache_time(
    settings, alice: ApiUser
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.TOKEN_CACHE_SECONDS = 3
    key = alice.client.post(TOKENS, {"name": "remembered"}, format="json").json()["key"]
    client = client_with(key)
    assert client.get("/account/v2/user").status_code == 200  # read once, last_used written
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/account/v2/user").status_code == 200
    assert not [query for query in queries if "accounts_apitoken" in query["sql"]]
    # another API process revokes it: no signal reaches this one, which trusts its memory a moment longer
    ApiToken.objects.filter(prefix=key[:8])._raw_delete(ApiToken.objects.db)
    assert client.get("/account/v2/user").status_code == 200
    time.sleep(3.1)
    assert client.get("/account/v2/user").status_code == 401
