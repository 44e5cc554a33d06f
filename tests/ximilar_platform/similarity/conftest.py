"""Similarity tests train tiny embedders: resnet18 at 32 px, a few epochs, 32-d outputs."""

from __future__ import annotations

import pytest

from tests.factories import item_view_base64

GROUPS = "/similarity/training/v2/group"
TASKS = "/similarity/training/v2/task"


@pytest.fixture(autouse=True)
def quick_training(settings) -> None:
    settings.TRAINING_ARCH = "resnet18"
    settings.TRAINING_IMAGE_SIZE = 32
    settings.TRAINING_EPOCHS = 4
    settings.TORCH_THREADS = 1
    settings.SIMILARITY_DIMENSION = 32
    settings.TRAINING_HEARTBEAT_SECONDS = 3600  # the test transaction holds SQLite's write lock


@pytest.fixture
def trained_task(api, django_capture_on_commit_callbacks) -> dict:
    """A similarity task trained (inline) on 10 synthetic items of 4 views each: its JSON after training."""
    kind = api.post("/similarity/training/v2/type", {"name": "item"}, format="json").json()
    task = api.post(TASKS, {"name": "items"}, format="json").json()
    api.post(f"{TASKS}/{task['id']}/add-type", {"type_id": kind["id"]}, format="json")
    for item in range(10):
        group = api.post(GROUPS, {"name": f"item {item}", "type": kind["id"]}, format="json").json()
        ids = [
            api.post("/recognition/v2/training-image", {"base64": item_view_base64(item, view)}, format="json").json()[
                "id"
            ]
            for view in range(4)
        ]
        api.post(f"{GROUPS}/{group['id']}/add-images", {"images": ids}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(f"{TASKS}/{task['id']}/train")
    assert answer.status_code == 202, answer.json()
    return api.get(f"{TASKS}/{task['id']}").json()
