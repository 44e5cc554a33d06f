"""Flow CRUD, tenancy, structural 400s and the validity reasons computed on read."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import colour_image_base64
from ximilar_platform.detection.models import DetectionTask
from ximilar_platform.flows.models import Flow
from ximilar_platform.recognition.models import Task
from ximilar_platform.training_jobs.models import ModelVersion

FLOWS = "/flows/v2/flow"
PROCESS = "/flows/v2/process"


def recognition(task_id, **extra) -> dict:
    return {"type": "recognition", "task": str(task_id), "output_name": "category", **extra}


def nested(flow_id) -> dict:
    return {"type": "flow", "flow": str(flow_id)}


def create(api, top_node: dict, name: str = "flow", **extra):
    return api.post(FLOWS, {"name": name, "top_node": top_node, **extra}, format="json")


@pytest.fixture
def task(alice) -> Task:
    return Task.objects.create(workspace=alice.workspace, name="colours")


def test_flows_are_created_read_updated_and_deleted(api, task) -> None:
    created = create(api, recognition(task.id), description="colour", image_size=256)
    assert created.status_code == 201
    flow = created.json()
    assert set(flow) >= {"id", "name", "description", "workspace", "top_node", "valid", "image_size"}
    assert flow["top_node"] == {"type": "recognition", "task": str(task.id), "version": None, "output_name": "category"}
    listed = api.get(f"{FLOWS}/").json()
    assert listed["count"] == 1 and listed["next"] is None and listed["results"][0]["id"] == flow["id"]
    definition = api.get(f"{FLOWS}/{flow['id']}/json").json()
    assert definition == {
        "id": flow["id"],
        "type": "flow",
        "name": "flow",
        "description": "colour",
        "top_node": flow["top_node"],
    }
    changed = api.patch(
        f"{FLOWS}/{flow['id']}", {"top_node": {"type": "list", "nodes": [recognition(task.id)]}}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["top_node"]["type"] == "list"
    replaced = api.put(
        f"{FLOWS}/{flow['id']}/", {"name": "b", "top_node": recognition(task.id), "image_size": None}, format="json"
    )
    assert replaced.status_code == 200 and "image_size" not in replaced.json()
    assert api.delete(f"{FLOWS}/{flow['id']}/").status_code == 204 and not Flow.objects.exists()


@pytest.mark.parametrize(
    ("top_node", "message"),
    [
        ({"type": "magic"}, "top_node.type: unknown node type 'magic'"),
        ("recognition", "top_node: a node must be a JSON object"),
        ({"type": "recognition", "task": "nope", "output_name": "x"}, "top_node.task: 'nope' is not a valid UUID"),
        ({"type": "recognition", "output_name": "x"}, "top_node.task: this field is required"),
        ({"type": "recognition", "task": str(uuid.uuid4())}, "top_node.output_name: this field is required"),
        ({"type": "detection", "task": str(uuid.uuid4()), "keep_prob": 1.5}, "top_node.keep_prob: must be a number"),
        ({"type": "detection", "task": str(uuid.uuid4()), "version": 0}, "top_node.version: must be null"),
        ({"type": "list", "nodes": []}, "top_node.nodes: must be a non-empty list"),
        (
            {"type": "list", "nodes": [{"type": "flow", "flow": str(uuid.uuid4()), "extra": 1}]},
            "top_node.nodes[0]: unknown field(s) extra",
        ),
        (
            {"type": "branch_selector", "task": str(uuid.uuid4()), "branches": [{"label": "a", "node": {"type": "x"}}]},
            "top_node.branches[0].node.type: unknown node type 'x'",
        ),
        ({"type": "object_selector", "task": str(uuid.uuid4()), "labels": []}, "top_node.labels: must be null"),
    ],
)
def test_malformed_definitions_answer_400_naming_the_node(api, top_node, message) -> None:
    response = create(api, top_node)
    assert response.status_code == 400
    body = response.json()
    assert message in body["detail"] and body["status"]["code"] == 400
    assert not Flow.objects.exists()


def test_another_workspace_never_sees_a_flow(api, bob, task) -> None:
    flow = create(api, recognition(task.id)).json()
    assert bob.client.get(f"{FLOWS}/{flow['id']}").status_code == 404
    assert bob.client.get(f"{FLOWS}/{flow['id']}/json").status_code == 404
    assert bob.client.get(FLOWS).json()["count"] == 0
    assert bob.client.delete(f"{FLOWS}/{flow['id']}/").status_code == 404
    stolen = bob.client.post(
        PROCESS, {"flow": flow["id"], "records": [{"_base64": colour_image_base64(1, "red")}]}, format="json"
    )
    assert stolen.status_code == 404 and stolen.json()["status"]["code"] == 404


def reasons(api, flow_id) -> tuple[bool, list[str]]:
    body = api.get(f"{FLOWS}/{flow_id}").json()
    return body["valid"], body["invalid_reason"]


def test_missing_untrained_and_foreign_tasks_make_a_flow_invalid(api, bob, task) -> None:
    missing, foreign = uuid.uuid4(), DetectionTask.objects.create(workspace=bob.workspace, name="bob's")
    top = {
        "type": "list",
        "nodes": [recognition(task.id), recognition(missing), {"type": "detection", "task": str(foreign.id)}],
    }
    flow = create(api, top).json()
    assert flow["valid"] is False
    assert flow["invalid_reason"] == [
        "top_node.nodes[0]: recognition task 'colours': Task has no trained model.",
        f"top_node.nodes[1]: recognition task {missing} not found in this workspace.",
        f"top_node.nodes[2]: detection task {foreign.id} not found in this workspace.",
    ]
    response = api.post(
        PROCESS, {"flow": flow["id"], "records": [{"_base64": colour_image_base64(1, "red")}]}, format="json"
    )
    assert response.status_code == 400 and response.json()["status"]["code"] == 400
    assert "top_node.nodes[1]" in response.json()["status"]["text"]


def test_a_pinned_version_must_exist_and_validity_follows_the_tasks(api, task) -> None:
    flow = create(api, recognition(task.id, version=2)).json()
    assert reasons(api, flow["id"]) == (
        False,
        ["top_node: recognition task 'colours': Version 2 of this task does not exist."],
    )
    for number in (1, 2):
        ModelVersion.objects.create(
            workspace=task.workspace, task_id=task.id, version=number, arch="resnet18", artifact="nowhere"
        )
    assert reasons(api, flow["id"]) == (True, [])
    task.delete()
    assert reasons(api, flow["id"])[0] is False


def test_nested_flows_that_form_a_cycle_are_invalid(api, task) -> None:
    first = create(api, recognition(task.id, version=None), name="A").json()
    second = create(api, {"type": "list", "nodes": [nested(first["id"])]}, name="B").json()
    api.patch(f"{FLOWS}/{first['id']}", {"top_node": nested(second["id"])}, format="json")
    valid, problems = reasons(api, first["id"])
    assert not valid and problems == ["top_node.top_node.nodes[0]: nested flows form a cycle: 'A' -> 'B' -> 'A'."]
    itself = create(api, {"type": "list", "nodes": [recognition(task.id)]}, name="C").json()
    api.patch(f"{FLOWS}/{itself['id']}", {"top_node": {"type": "list", "nodes": [nested(itself["id"])]}}, format="json")
    assert reasons(api, itself["id"])[1] == ["top_node.nodes[0]: nested flows form a cycle: 'C' -> 'C'."]


def test_nesting_a_foreign_or_missing_flow_reads_the_same(api, bob, task) -> None:
    foreign = create(bob.client, {"type": "list", "nodes": [nested(uuid.uuid4())]}).json()
    missing = uuid.uuid4()
    for flow_id in (foreign["id"], missing):
        flow = create(api, nested(flow_id)).json()
        assert reasons(api, flow["id"]) == (False, [f"top_node: flow {flow_id} not found in this workspace."])


def test_a_flow_deeper_than_the_limit_is_invalid(api, task, settings) -> None:
    settings.FLOW_MAX_DEPTH = 3
    ModelVersion.objects.create(workspace=task.workspace, task_id=task.id, version=1, arch="resnet18", artifact="x")
    Task.objects.filter(id=task.id).update(production_version=1)
    inner = create(api, {"type": "list", "nodes": [recognition(task.id)]}, name="inner").json()
    assert reasons(api, inner["id"]) == (True, [])
    outer = create(api, {"type": "list", "nodes": [nested(inner["id"])]}, name="outer").json()
    assert reasons(api, outer["id"]) == (
        False,
        ["top_node.nodes[0].top_node.nodes[0]: the flow nests deeper than FLOW_MAX_DEPTH (3) nodes."],
    )


def test_many_references_to_nested_flows_cost_one_query_per_row_and_a_bounded_walk(
    api, task, settings, django_assert_max_num_queries
) -> None:
    """A -> B -> C -> D -> E, 6 references per level: 1,554 queries for one check before (issue 12)."""
    settings.FLOW_MAX_DEPTH = 12
    ModelVersion.objects.create(workspace=task.workspace, task_id=task.id, version=1, arch="resnet18", artifact="x")
    Task.objects.filter(id=task.id).update(production_version=1)
    below = create(api, recognition(task.id), name="E").json()
    for name in "DCB":
        below = create(api, {"type": "list", "nodes": [nested(below["id"])] * 6}, name=name).json()
    top = create(api, {"type": "list", "nodes": [nested(below["id"])] * 6}, name="A").json()
    flow = Flow.objects.get(id=top["id"])
    from ximilar_platform.flows import validation

    with django_assert_max_num_queries(12):
        plan = validation.check(flow)
    assert len(plan.problems) == 1 and plan.problems[0].endswith(
        ": the flow expands to more than FLOW_MAX_EXPANDED_NODES (1000) nodes with its nested flows; "
        "nest fewer flows or reference them less often."
    ), plan.problems[:2]
    settings.FLOW_MAX_EXPANDED_NODES = 4000  # the whole tree: 3,109 nodes
    with django_assert_max_num_queries(12):
        assert validation.check(flow).valid, "within the budget the same flow is valid, still in a few queries"
    with django_assert_max_num_queries(30):
        listed = api.get(f"{FLOWS}?page_size=10").json()
    assert listed["count"] == 5


def test_a_definition_holds_at_most_flow_max_nodes(api, task, settings) -> None:
    settings.FLOW_MAX_NODES = 5
    answer = create(api, {"type": "list", "nodes": [recognition(task.id)] * 5})
    assert answer.status_code == 400
    assert "the definition has 6 nodes; at most FLOW_MAX_NODES (5)" in str(answer.json())
    assert not Flow.objects.exists()
    assert create(api, {"type": "list", "nodes": [recognition(task.id)] * 4}).status_code == 201


def test_process_checks_the_request(api, task, settings) -> None:
    settings.FLOW_MAX_RECORDS = 2
    flow = create(api, recognition(task.id)).json()
    records = [{"_base64": colour_image_base64(i, "red")} for i in range(3)]
    too_many = api.post(PROCESS, {"flow": flow["id"], "records": records}, format="json")
    assert too_many.status_code == 400 and "At most 2 records" in too_many.json()["detail"]
    assert api.post(PROCESS, {"flow": "nope", "records": records[:1]}, format="json").status_code == 400
    assert api.post(PROCESS, {"flow": str(uuid.uuid4()), "records": records[:1]}, format="json").status_code == 404
