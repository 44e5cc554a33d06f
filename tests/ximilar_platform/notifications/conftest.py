from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ximilar_platform.notifications.receiver import Receiver, running_receiver


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.URL_FETCH_ALLOW_LOOPBACK = True
    with running_receiver() as state:
        yield state


@pytest.fixture
def task(api) -> dict:
    return api.post("/recognition/v2/task", {"name": "dogs"}, format="json").json()
