from __future__ import annotations

import pytest

from ximilar_platform.recognition.models import Label, Task

TASKS = "/recognition/v2/task"
LABELS = "/recognition/v2/label"


def create(api, url: str, **data) -> dict:
    response = api.post(url, data, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_new_task_is_untrained(api, alice) -> None:
    task = create(api, TASKS, name="dogs", description="d", type="multi_class")
    assert task["production_version"] == -1
    assert task["last_train_status"] == "NOT_TRAINED"
    assert task["workspace"] == str(alice.workspace.id) and task["labels"] == []


def test_new_task_keeps_its_architecture_and_verifications(api) -> None:
    """Every field the task JSON takes on create is stored (arch once answered 500, issue 12's fuzzer)."""
    task = create(api, TASKS, name="dogs", arch="resnet18", required_verifications=3)
    assert (task["arch"], task["required_verifications"]) == ("resnet18", 3)
    assert api.get(f"{TASKS}/{task['id']}").json()["arch"] == "resnet18"


def test_tagging_task_gets_its_negative_label(api) -> None:
    task = create(api, TASKS, name="tags", type="multi_label")
    labels = api.get(f"{LABELS}/?task={task['id']}").json()["results"]
    assert len(labels) == 1
    assert labels[0]["negative_for_task"] == task["id"] and labels[0]["type"] == "tag"
    response = api.post(f"{TASKS}/{task['id']}/remove-label", {"label_id": labels[0]["id"]}, format="json")
    assert response.status_code == 400
    api.delete(f"{TASKS}/{task['id']}")
    assert not Label.objects.filter(id=labels[0]["id"]).exists()


@pytest.mark.parametrize(
    ("task_type", "label_type"), [("multi_class", "category"), ("multi_label", "tag"), ("regression", "value")]
)
def test_task_accepts_labels_of_its_type(api, task_type: str, label_type: str) -> None:
    task = create(api, TASKS, name="t", type=task_type)
    label = create(api, LABELS, name="l", type=label_type)
    response = api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": label["id"]}, format="json")
    assert response.status_code == 200
    assert label["id"] in [item["id"] for item in response.json()["labels"]]
    assert Task.objects.get(id=task["id"]).labels.filter(id=label["id"]).exists()


@pytest.mark.parametrize(
    ("task_type", "label_type"), [("multi_class", "tag"), ("multi_label", "value"), ("regression", "category")]
)
def test_task_refuses_labels_of_another_type(api, task_type: str, label_type: str) -> None:
    task = create(api, TASKS, name="t", type=task_type)
    label = create(api, LABELS, name="l", type=label_type)
    response = api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": label["id"]}, format="json")
    assert response.status_code == 400
    assert (
        f"takes {dict(multi_class='category', multi_label='tag', regression='value')[task_type]}"
        in response.json()["detail"]
    )
    assert not Task.objects.get(id=task["id"]).labels.filter(id=label["id"]).exists()


def test_add_label_accepts_form_data_like_the_seed_curl(api) -> None:
    task = create(api, TASKS, name="t")
    label = create(api, LABELS, name="l")
    response = api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": label["id"]})
    assert response.status_code == 200
    response = api.post(f"{TASKS}/{task['id']}/remove-label", {"label_id": label["id"]})
    assert response.status_code == 200 and response.json()["labels"] == []


def test_add_label_with_bad_or_unknown_id(api) -> None:
    task = create(api, TASKS, name="t")
    assert api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": "nope"}, format="json").status_code == 400
    unknown = api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": "1e0d87a4-3c1b-4b5e-9c53-6f5c1d2e3f4a"})
    assert unknown.status_code == 404 and unknown.json()["detail"] == "Label not found."


def test_task_type_cannot_change_but_name_can(api) -> None:
    task = create(api, TASKS, name="t")
    assert api.patch(f"{TASKS}/{task['id']}", {"type": "regression"}, format="json").status_code == 400
    renamed = api.patch(f"{TASKS}/{task['id']}", {"name": "renamed"}, format="json")
    assert renamed.status_code == 200 and Task.objects.get(id=task["id"]).name == "renamed"


def test_label_crud_and_filters(api) -> None:
    task = create(api, TASKS, name="t")
    red = create(api, LABELS, name="red apple", output_name="red", description="a")
    create(api, LABELS, name="green pear")
    api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": red["id"]}, format="json")
    assert red["images_count"] == 0 and red["tasks_count"] == 0 and red["type"] == "category"
    assert [x["name"] for x in api.get(f"{LABELS}/?search=apple").json()["results"]] == ["red apple"]
    by_task = api.get(f"{LABELS}/?task={task['id']}").json()["results"]
    assert [x["id"] for x in by_task] == [red["id"]] and by_task[0]["tasks_count"] == 1
    updated = api.put(f"{LABELS}/{red['id']}", {"name": "ripe apple", "output_name": ""}, format="json").json()
    assert updated["name"] == "ripe apple" and updated["output_name"] == ""
    assert api.delete(f"{LABELS}/{red['id']}").status_code == 204
    assert not Task.objects.get(id=task["id"]).labels.exists()


def test_label_type_is_locked_while_a_task_uses_it(api) -> None:
    task = create(api, TASKS, name="t")
    label = create(api, LABELS, name="l")
    api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": label["id"]}, format="json")
    response = api.patch(f"{LABELS}/{label['id']}", {"type": "tag"}, format="json")
    assert response.status_code == 400 and Label.objects.get(id=label["id"]).type == "category"


def test_label_add_task_and_remove_task(api) -> None:
    task = create(api, TASKS, name="t")
    label = create(api, LABELS, name="l")
    assert (
        api.post(f"{LABELS}/{label['id']}/add-task", {"task_id": task["id"]}, format="json").json()["tasks_count"] == 1
    )
    assert (
        api.post(f"{LABELS}/{label['id']}/remove-task", {"task_id": task["id"]}, format="json").json()["tasks_count"]
        == 0
    )


def test_other_workspaces_objects_are_404_and_unchanged(alice, bob) -> None:
    task = create(bob.client, TASKS, name="bob's")
    label = create(bob.client, LABELS, name="bob's label")
    my_task = create(alice.client, TASKS, name="mine")
    for method, url in [
        ("get", f"{TASKS}/{task['id']}"),
        ("patch", f"{TASKS}/{task['id']}"),
        ("delete", f"{TASKS}/{task['id']}"),
        ("get", f"{LABELS}/{label['id']}"),
        ("delete", f"{LABELS}/{label['id']}/wipe"),
    ]:
        response = getattr(alice.client, method)(url, {"name": "stolen"}, format="json")
        assert response.status_code == 404 and response.json()["detail"] == "Not found."
    response = alice.client.post(f"{TASKS}/{my_task['id']}/add-label", {"label_id": label["id"]}, format="json")
    assert response.status_code == 404
    assert alice.client.get(TASKS).json()["count"] == 1
    assert Task.objects.get(id=task["id"]).name == "bob's" and Label.objects.filter(id=label["id"]).exists()
    response = alice.client.get(f"{TASKS}?workspace={bob.workspace.id}")
    assert response.status_code == 404 and response.json()["detail"] == "Workspace not found."


def test_workspace_parameter_selects_a_shared_workspace(alice, bob) -> None:
    from ximilar_platform.accounts.services import create_workspace

    team = create_workspace(user=bob.user, name="team")
    team.members.add(alice.user)
    created = alice.client.post(TASKS, {"name": "team task", "workspace": str(team.id)}, format="json").json()
    assert created["workspace"] == str(team.id)
    assert alice.client.get(TASKS).json()["count"] == 0
    assert alice.client.get(f"{TASKS}?workspace={team.id}").json()["count"] == 1
    assert bob.client.get(f"{TASKS}?workspace={team.id}").json()["count"] == 1
    assert alice.client.get(f"{TASKS}?workspace=Default").json()["count"] == 0
    assert alice.client.get(f"{TASKS}/{created['id']}").status_code == 200
    assert alice.client.get(f"{TASKS}/{created['id']}?workspace={alice.workspace.id}").status_code == 404
