"""``ximilar_service`` nodes: a ready-to-use service by name inside a flow, through the official FlowsClient."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from ximilar.client import FlowsClient

from tests.ximilar_platform.flows.conftest import make_flow
from tests.ximilar_platform.ready_services.conftest import record, red_and_blue, red_object_on_white
from ximilar_platform.flows import runner

FLOWS = "/flows/v2/flow"


@pytest.fixture(autouse=True)
def ready_models_dir(settings, ready_models: Path) -> None:
    settings.READY_MODELS_DIR = ready_models


def service(name: str, **extra) -> dict:
    return {"type": "ximilar_service", "service": name, **extra}


def test_a_flow_runs_ready_services_by_name(live_server, alice) -> None:
    nodes = [
        service("generic_tagging"),
        service("dominant_colors_product", output_name="product_colors"),
        service("dominant_colors_generic", output_name="colors"),
    ]
    flow = make_flow(alice, {"type": "list", "nodes": nodes})
    assert alice.client.get(f"{FLOWS}/{flow.id}").json()["valid"] is True
    assert flow.top_node["nodes"][0]["output_name"] is None  # stored normalised
    client = FlowsClient(token=alice.token, endpoint=live_server.url + "/")
    answer = client.process_flow(str(flow.id), [record(red_object_on_white(), _id="shirt"), record("bm90IGFuIGltYWdl")])
    assert answer["status"]["code"] == 200
    shirt, bad = answer["records"]
    assert shirt["_status"]["code"] == 200 and shirt["_id"] == "shirt"
    assert shirt["_tags"] and shirt["_tags_simple"] == [tag["name"] for tag in shirt["_tags"]]  # into the record
    assert shirt["product_colors"]["_dominant_colors"]["color_names"] == ["red"]
    assert shirt["colors"]["_dominant_colors"]["color_names"] == ["white", "red"]
    assert bad["_status"]["code"] == 400 and "_tags" not in bad


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (
            service("fashion_tagging"),
            "top_node.nodes[0].service: unknown service 'fashion_tagging'; one of generic_tagging, "
            "dominant_colors_generic, dominant_colors_product",
        ),
        ({"type": "ximilar_service"}, "top_node.nodes[0].service: unknown service None"),
        (service("generic_tagging", output_name=""), "top_node.nodes[0].output_name: must be a non-empty string"),
        (service("generic_tagging", task="x"), "top_node.nodes[0]: unknown field(s) task for a ximilar_service node"),
    ],
)
def test_a_malformed_ximilar_service_node_answers_400(api, node, message) -> None:
    response = api.post(FLOWS, {"name": "f", "top_node": {"type": "list", "nodes": [node]}}, format="json")
    assert response.status_code == 400 and message in str(response.json()["fields"]["top_node"])


def test_a_failing_service_marks_its_records_and_the_other_nodes_go_on(alice, monkeypatch) -> None:
    working = runner.run_service

    def tagging_broken(name: str, images: list) -> list:
        if name == "generic_tagging":
            raise RuntimeError("export failed")
        return working(name, images)

    flow = make_flow(alice, {"type": "list", "nodes": [service("generic_tagging"), service("dominant_colors_generic")]})
    monkeypatch.setattr(runner, "run_service", tagging_broken)
    body = {"flow": str(flow.id), "records": [record(red_and_blue())]}
    (answered,) = alice.client.post("/flows/v2/process", body, format="json").json()["records"]
    assert [(error["node"], error["code"]) for error in answered["_errors"]] == [("top_node.nodes[0]", 500)]
    assert "_tags" not in answered and answered["_dominant_colors"]["color_names"] == ["red", "blue"]


def test_the_web_app_shows_the_service_a_node_calls(alice) -> None:
    flow = make_flow(alice, {"type": "list", "nodes": [service("dominant_colors_product", output_name="shirt")]})
    web = Client()
    web.force_login(alice.user)
    html = web.get(f"/app/flows/{flow.id}/").content.decode()
    assert '<strong>ximilar_service</strong> <span class="muted">dominant_colors_product</span>' in html
