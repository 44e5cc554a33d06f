"""Web app tests: a signed-in browser session (Django's test client) per user."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import ApiUser


def signed_in(user: ApiUser) -> Client:
    client = Client()
    client.force_login(user.user)
    return client


@pytest.fixture
def web(alice: ApiUser) -> Client:
    return signed_in(alice)


@pytest.fixture
def bob_web(bob: ApiUser) -> Client:
    return signed_in(bob)


# the tiny models the flow tests train once per session, registered as versions of real tasks
from tests.ximilar_platform.flows.conftest import colour_model, embedder_model, models  # noqa: E402, F401
