"""``flows/v2/process`` with every node kind on real (tiny) trained models."""

from __future__ import annotations

import base64
import io
import math
from collections import Counter

import numpy as np
import pytest

from tests.detection_shapes import shapes_image
from tests.factories import colour_image_base64
from tests.ximilar_platform.flows.conftest import EMBEDDING_DIMENSION, make_flow, register
from ximilar_platform.flows import runner
from ximilar_platform.serving import predictors
from ximilar_platform.training_jobs import artifacts
from ximilar_platform.training_jobs.models import ModelVersion

PROCESS = "/flows/v2/process"


def colours(models, **extra) -> dict:
    return {"type": "recognition", "task": str(models.colours.id), "output_name": "colour", **extra}


def descriptor(models) -> dict:
    return {"type": "descriptor", "task": str(models.items.id)}


def detection(models, **extra) -> dict:
    return {"type": "detection", "task": str(models.shapes.id), **extra}


def colour_records(*names: str) -> list[dict]:
    return [{"_base64": colour_image_base64(100 + i, name), "_id": name} for i, name in enumerate(names)]


def shape_records(count: int) -> list[dict]:
    rng, records = np.random.default_rng(11), []
    for index in range(count):
        image, _ = shapes_image(rng, objects=2)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        records.append({"_base64": base64.b64encode(buffer.getvalue()).decode(), "_id": str(index)})
    return records


def process(alice, flow, records, **extra) -> dict:
    response = alice.client.post(PROCESS, {"flow": str(flow.id), "records": records, **extra}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"]["code"] == 200 and body["flow"] == str(flow.id) and "processing time" in body["statistics"]
    return body


def is_unit_descriptor(vector: list[float]) -> bool:
    return len(vector) == EMBEDDING_DIMENSION and math.isclose(math.sqrt(sum(v * v for v in vector)), 1, abs_tol=1e-3)


def test_a_recognition_node_answers_what_classify_answers(alice, models) -> None:
    flow = make_flow(alice, colours(models))
    records = colour_records("red", "blue")
    body = process(alice, flow, records)
    classified = alice.client.post(
        "/recognition/v2/classify", {"task_id": str(models.colours.id), "records": records}, format="json"
    ).json()
    for mine, theirs in zip(body["records"], classified["records"], strict=True):
        assert mine["colour"] == {"best_label": theirs["best_label"], "labels": theirs["labels"]}
        assert mine["_id"] == theirs["_id"] and mine["_status"]["code"] == 200 and "_base64" not in mine
    assert [r["colour"]["best_label"]["name"] for r in body["records"]] == ["red", "blue"]


def test_a_detection_node_answers_what_detect_answers(alice, models) -> None:
    flow = make_flow(alice, detection(models, keep_prob=0.4, output_name="shapes"))
    records = shape_records(3)
    body = process(alice, flow, records)
    detected = alice.client.post(
        "/detection/v2/detect", {"task_id": str(models.shapes.id), "records": records, "keep_prob": 0.4}, format="json"
    ).json()
    assert [r["shapes"] for r in body["records"]] == [r["_objects"] for r in detected["records"]]
    assert sum(len(r["shapes"]) for r in body["records"]) >= 3


def test_a_branch_selector_runs_the_branch_of_the_best_label(alice, models) -> None:
    flow = make_flow(
        alice,
        {
            "type": "branch_selector",
            "task": str(models.colours.id),
            "branches": [
                {"label": "red", "node": descriptor(models)},
                {"label": "blue", "node": detection(models, keep_prob=0.05)},
            ],
        },
    )
    body = process(alice, flow, [*colour_records("red", "blue", "blue"), {"_base64": "broken"}])
    red, blue, other_blue, broken = body["records"]
    assert red["_branch"]["branch"] == "red" and red["_branch"]["best_label"]["name"] == "red"
    assert is_unit_descriptor(red["_descriptor"]) and "_objects" not in red
    for record in (blue, other_blue):
        assert record["_branch"]["branch"] == "blue" and isinstance(record["_objects"], list)
        assert "_descriptor" not in record
    assert broken["_status"]["code"] == 400 and "_branch" not in broken


def test_min_prob_sends_unsure_records_to_the_default(alice, models) -> None:
    flow = make_flow(
        alice,
        {
            "type": "branch_selector",
            "task": str(models.colours.id),
            "output_name": "route",
            "min_prob": 1.0,
            "branches": [{"label": "red", "node": descriptor(models)}],
            "default": colours(models, output_name="fallback"),
        },
    )
    record = process(alice, flow, colour_records("red"))["records"][0]
    assert record["route"]["branch"] == "default" and "fallback" in record and "_descriptor" not in record


def test_an_object_selector_processes_each_object_and_attaches_the_results(alice, models) -> None:
    flow = make_flow(
        alice,
        {
            "type": "object_selector",
            "task": str(models.shapes.id),
            "keep_prob": 0.3,
            "node": {"type": "list", "nodes": [colours(models), descriptor(models)]},
        },
    )
    body = process(alice, flow, shape_records(3))
    objects = [obj for record in body["records"] for obj in record["_objects"]]
    assert len(objects) >= 3
    for obj in objects:
        assert obj["name"] in {"rect", "circle"} and len(obj["bound_box"]) == 4 and obj["prob"] > 0.3
        assert obj["colour"]["best_label"]["name"] in {"red", "blue"} and is_unit_descriptor(obj["_descriptor"])
    only_rects = make_flow(
        alice,
        {
            "type": "object_selector",
            "task": str(models.shapes.id),
            "labels": ["rect"],
            "output_name": "rects",
            "node": colours(models),
        },
    )
    rects = [obj for record in process(alice, only_rects, shape_records(3))["records"] for obj in record["rects"]]
    assert {obj["name"] for obj in rects} <= {"rect"} and all("colour" in obj for obj in rects)


def test_a_nested_flow_runs_on_the_same_record(alice, models) -> None:
    inner = make_flow(alice, colours(models), name="inner")
    outer = make_flow(
        alice,
        {"type": "list", "nodes": [{"type": "flow", "flow": str(inner.id)}, detection(models), descriptor(models)]},
        name="outer",
    )
    record = process(alice, outer, colour_records("blue"))["records"][0]
    assert record["colour"]["best_label"]["name"] == "blue"
    assert isinstance(record["_objects"], list) and is_unit_descriptor(record["_descriptor"])


class CountingPredictor:
    """Wraps a cached predictor and counts its batched calls per model kind."""

    def __init__(self, inner, kind: str, calls: Counter) -> None:
        self.inner, self.kind, self.calls = inner, kind, calls

    def predict(self, images, **options):
        self.calls[self.kind] += 1
        return self.inner.predict(images, **options)


def test_every_node_makes_one_batched_call_per_request(alice, models, monkeypatch) -> None:
    calls: Counter = Counter()
    real = predictors.predictor_for
    monkeypatch.setattr(
        predictors, "predictor_for", lambda version: CountingPredictor(real(version), version.task_kind, calls)
    )
    flow = make_flow(
        alice,
        {
            "type": "list",
            "nodes": [
                colours(models),
                {
                    "type": "branch_selector",
                    "task": str(models.colours.id),
                    "branches": [
                        {"label": "red", "node": descriptor(models)},
                        {"label": "blue", "node": descriptor(models)},
                    ],
                },
                {"type": "object_selector", "task": str(models.shapes.id), "node": colours(models, output_name="crop")},
            ],
        },
    )
    body = process(alice, flow, [*colour_records("red", "blue", "red"), *shape_records(3)])
    assert all(record["_status"]["code"] == 200 for record in body["records"])
    # recognition + branch selector + the crops' recognition; two descriptor branches; one detector
    assert calls == {"recognition": 3, "similarity": 2, "detection": 1}


def test_a_failing_node_fails_alone(alice, models) -> None:
    flow = make_flow(alice, {"type": "list", "nodes": [descriptor(models), colours(models)]})
    broken = ModelVersion.objects.get(task_id=models.items.id)
    artifacts.remove(broken.files)  # the model's files vanished from storage
    body = process(alice, flow, colour_records("red", "blue"))
    for record in body["records"]:
        assert record["_status"]["code"] == 200 and "colour" in record and "_descriptor" not in record
        assert [(error["node"], error["code"]) for error in record["_errors"]] == [("top_node.nodes[0]", 500)]


def test_objects_too_small_to_crop_fail_alone(alice, models, monkeypatch) -> None:
    monkeypatch.setattr(runner, "MIN_CROP_SIDE", 10_000)
    flow = make_flow(
        alice,
        {
            "type": "list",
            "nodes": [
                {"type": "object_selector", "task": str(models.shapes.id), "node": colours(models)},
                colours(models),
            ],
        },
    )
    record = process(alice, flow, shape_records(1))["records"][0]
    assert record["_status"]["code"] == 200 and "colour" in record and "_errors" not in record
    assert record["_objects"] and all(
        obj["_errors"][0]["node"] == "top_node.nodes[0].node"
        and obj["_errors"][0]["code"] == 400
        and "colour" not in obj
        for obj in record["_objects"]
    )


def test_object_selectors_run_on_a_bounded_number_of_objects_and_crops(alice, models, settings) -> None:
    """keep_prob 0 lets a detector return hundreds of boxes; two nested selectors multiplied them (issue 12)."""
    flow = make_flow(
        alice,
        {
            "type": "object_selector",
            "task": str(models.shapes.id),
            "keep_prob": 0,
            "node": {"type": "object_selector", "task": str(models.shapes.id), "keep_prob": 0, "node": colours(models)},
        },
    )
    settings.FLOW_MAX_OBJECTS, settings.FLOW_MAX_CROPS = 3, 7
    records = process(alice, flow, shape_records(2))["records"]
    outer = [obj for record in records for obj in record["_objects"]]
    assert len(outer) > 6, "keep_prob 0 keeps many weak boxes"
    ran = [obj for obj in outer if "_objects" in obj]
    inner = [inner for obj in ran for inner in obj["_objects"]]
    coloured = [obj for obj in inner if "colour" in obj]
    assert len(ran) == 6, "the best 3 objects of each of the 2 images"
    assert len(ran) + len(coloured) == 7, "every crop of the request, at both levels, counts against FLOW_MAX_CROPS"
    skipped = [obj for obj in outer if "_objects" not in obj]
    assert all(
        obj["_errors"][0]["code"] == 413 and "FLOW_MAX_OBJECTS (3)" in obj["_errors"][0]["text"] for obj in skipped
    )
    assert any("FLOW_MAX_CROPS (7)" in obj["_errors"][0]["text"] for obj in inner if "colour" not in obj)
    for record in records:  # within an image, the objects that ran are the most probable ones
        probs = [obj["prob"] for obj in record["_objects"]]
        assert probs == sorted(probs, reverse=True)


def test_a_node_runs_its_pinned_version_else_production_at_call_time(
    alice, models, colour_model, tmp_path, monkeypatch
) -> None:
    register(models.colours, "recognition", colour_model, tmp_path)  # version 2 goes to production
    served = []
    real = predictors.predictor_for
    monkeypatch.setattr(predictors, "predictor_for", lambda version: served.append(version.version) or real(version))
    pinned, production = make_flow(alice, colours(models, version=1)), make_flow(alice, colours(models))
    for flow in (pinned, production):
        assert process(alice, flow, colour_records("red"))["records"][0]["colour"]["best_label"]["name"] == "red"
    assert served == [1, 2]


def test_store_images_keeps_the_records(alice, models) -> None:
    flow = make_flow(alice, colours(models))
    before = alice.client.get("/recognition/v2/training-image").json()["count"]
    record = process(alice, flow, colour_records("red"), store_images=True)["records"][0]
    stored = alice.client.get(f"/recognition/v2/training-image/{record['_stored_image_id']}")
    assert stored.status_code == 200
    assert alice.client.get("/recognition/v2/training-image").json()["count"] == before + 1


@pytest.fixture
def flows_client(live_server, alice):
    from ximilar.client import FlowsClient

    return FlowsClient(token=alice.token, endpoint=live_server.url + "/")


def test_the_official_client_lists_reads_and_processes_flows(flows_client, alice, models) -> None:
    flow = make_flow(
        alice,
        {
            "type": "branch_selector",
            "task": str(models.colours.id),
            "branches": [{"label": "red", "node": descriptor(models)}, {"label": "blue", "node": colours(models)}],
        },
    )
    flows, status = flows_client.get_all_flows()
    assert status["status"] == "OK" and [f.id for f in flows] == [str(flow.id)] and flows[0].valid
    one, _ = flows_client.get_flow(str(flow.id))
    assert one.name == "flow" and one.top_node["type"] == "branch_selector" and one.image_size == 512
    definition = flows_client.get_flow_json(str(flow.id))
    assert definition["id"] == str(flow.id) and definition["type"] == "flow"
    assert one.to_json() == definition
    records = [{"_base64": r["_base64"], "noresize": True} for r in colour_records("red", "blue")]
    result = flows_client.process_flow(str(flow.id), records)
    assert result["status"]["code"] == 200 and len(result["records"]) == 2
    assert [r["_branch"]["branch"] for r in result["records"]] == ["red", "blue"]
    assert one.process(records[:1])["records"][0]["_descriptor"]
    assert flows_client.get_flow("7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e")[0] is None
