"""A/B traffic: predictions that name no version are split between versions by their shares."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from tests.detection_shapes import shapes_image
from tests.factories import colour_image_base64, item_view_base64
from tests.ximilar_platform.flows import conftest as flows
from tests.ximilar_platform.serving.test_draft_decoding import jpeg_base64
from tests.ximilar_platform.web.conftest import signed_in
from ximilar_platform.detection.models import DetectionLabel, DetectionTask
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.serving import predictors
from ximilar_platform.similarity.models import SimilarityTask
from ximilar_platform.training_jobs.models import ModelVersion

colour_model, embedder_model = flows.colour_model, flows.embedder_model  # session fixtures: tiny trained models
RED, BLUE, register = flows.RED, flows.BLUE, flows.register


@pytest.fixture
def colours(alice, colour_model, tmp_path) -> Task:
    """A categorizer with versions 1, 2 and 3 (3 in production)."""
    task = Task.objects.create(workspace=alice.workspace, name="colours")
    for label_id, name in ((RED, "red"), (BLUE, "blue")):
        task.labels.add(Label.objects.create(id=label_id, workspace=alice.workspace, name=name))
    for _ in range(3):
        register(task, "recognition", colour_model, tmp_path)
    return Task.objects.get(id=task.id)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The version numbers the served models run for, one entry per batched run."""
    seen: list[int] = []
    load = predictors.predictor_for

    def counted(version: ModelVersion) -> Any:
        seen.append(version.version)
        return load(version)

    monkeypatch.setattr(predictors, "predictor_for", counted)
    return seen


def split(api, task: Task, traffic: Any, path: str = "recognition/v2/task", **fields: Any):
    return api.patch(f"/{path}/{task.id}", {"traffic": traffic, **fields}, format="json")


def classify(api, task: Task, records: list[dict], **fields: Any) -> dict:
    response = api.post(
        "/recognition/v2/classify", {"task_id": str(task.id), "records": records, **fields}, format="json"
    )
    assert response.status_code == 200, response.json()
    return response.json()


def red(record_id: str | None = None) -> dict:
    return {"_base64": colour_image_base64(7, "red")} | ({"_id": record_id} if record_id else {})


def test_the_split_serves_each_version_its_share_the_same_id_the_same_version(alice, colours, runs) -> None:
    response = split(alice.client, colours, {"1": 0.7, "2": 0.3})
    assert response.status_code == 200 and response.json()["traffic"] == {"1": 0.7, "2": 0.3}
    served: dict[str, int] = {}
    for start in range(0, 1000, 10):
        runs.clear()
        body = classify(alice.client, colours, [red(f"item-{i}") for i in range(start, start + 10)])
        used = {record["_version"] for record in body["records"]}
        assert sorted(runs) == sorted(used), "each version's model runs once per request"
        assert body["version"] == (used.pop() if len(used) == 1 else 3)  # mixed: the production version
        assert all(record["best_label"]["name"] == "red" for record in body["records"])
        served |= {record["_id"]: record["_version"] for record in body["records"]}
    shares = Counter(served.values())
    assert set(shares) == {1, 2} and abs(shares[1] / 1000 - 0.7) < 0.05

    again = classify(alice.client, colours, [red(f"item-{i}") for i in (5, 500, 999, 5)])
    assert [record["_version"] for record in again["records"]] == [served[f"item-{i}"] for i in (5, 500, 999, 5)]
    unnamed = classify(alice.client, colours, [red() for _ in range(10)])
    assert {record["_version"] for record in unnamed["records"]} <= {1, 2}

    shares.update(record["_version"] for record in again["records"] + unnamed["records"])
    report = alice.client.get(f"/recognition/v2/task/{colours.id}/traffic").json()
    assert report["traffic"] == {"1": 0.7, "2": 0.3}
    assert {row["version"]: row["records"] for row in report["versions"]} == dict(shares)  # 1014 in all
    assert [(row["version"], row["records"]) for row in report["days"]] == sorted(shares.items())
    assert all(0.5 < row["mean_confidence"] <= 1 for row in report["versions"])


def test_records_without_an_id_land_on_the_shares_too(alice, colours) -> None:
    """Placed at random: 20,000 of them in 0.7 / 0.2 / 0.1 land within 0.02 of each share (over 4 sigma)."""
    from ximilar_platform.training_jobs.traffic import versions_for

    assert split(alice.client, colours, {"1": 0.7, "2": 0.2, "3": 0.1}).status_code == 200
    colours.refresh_from_db()
    served = Counter(version.version for version in versions_for(colours, [{}] * 20_000, None))
    assert set(served) == {1, 2, 3}
    for number, share in ((1, 0.7), (2, 0.2), (3, 0.1)):
        assert abs(served[number] / 20_000 - share) < 0.02, served


def test_a_named_version_and_a_task_without_a_split_serve_as_before(alice, colours) -> None:
    split(alice.client, colours, {"1": 0.5, "2": 0.5})
    pinned = classify(alice.client, colours, [red("a"), red("b")], version=3)
    assert pinned["version"] == 3 and not [record for record in pinned["records"] if "_version" in record]
    split(alice.client, colours, None)
    plain = classify(alice.client, colours, [red("a"), {"_base64": "not an image"}])
    assert plain["version"] == 3 and "_version" not in plain["records"][0]
    assert plain["records"][1]["_status"]["code"] == 400
    counts = alice.client.get(f"/recognition/v2/task/{colours.id}/traffic").json()["versions"]
    assert [(row["version"], row["records"], row["share"]) for row in counts] == [(3, 3, 1.0)]
    assert 0.5 < counts[0]["mean_confidence"] <= 1


@pytest.mark.parametrize(
    "traffic",
    [
        {"1": 0.5, "2": 0.4},  # adds up to 0.9
        {"1": 1.0},  # one version: deploy it instead
        {"1": 0.5, "9": 0.5},  # no version 9
        {"1": 1.5, "2": -0.5},
        {"1": 0.5, "2": 0},
        {"x": 0.5, "2": 0.5},
        {"0": 0.5, "2": 0.5},
        {"1": "0.5", "2": 0.5},
        {"1": True, "2": 0.0},
        {"1": 10**400, "2": 0.5},
        {"²": 0.5, "2": 0.5},
        {"99999999999999999999": 0.5, "2": 0.5},
        {str(n): 1 / 6 for n in range(1, 7)},  # more than 5 versions
        [0.5, 0.5],
        "1",
    ],
)
def test_a_bad_split_answers_400_and_stores_nothing(alice, colours, traffic) -> None:
    response = split(alice.client, colours, traffic, name="renamed")
    assert response.status_code == 400 and "traffic" in response.json()["fields"]
    colours.refresh_from_db()
    assert colours.traffic is None and colours.name == "colours"


def test_shares_may_miss_1_by_the_rounding_of_thirds(alice, colours) -> None:
    assert split(alice.client, colours, {"1": 0.333333, "2": 0.333333, "3": 0.333334}).status_code == 200
    assert split(alice.client, colours, {"1": 0.3333333, "2": 0.3333333, "3": 0.3333333}).status_code == 200
    assert split(alice.client, colours, {"1": 0.33333, "2": 0.33333, "3": 0.33333}).status_code == 400


def test_deploying_ends_the_split_and_a_version_in_it_cannot_be_deleted(alice, colours) -> None:
    split(alice.client, colours, {"1": 0.5, "2": 0.5})
    version_one = ModelVersion.objects.get(task_id=colours.id, version=1)
    refused = alice.client.delete(f"/recognition/v2/model/{version_one.id}")
    assert refused.status_code == 400 and "traffic" in refused.json()["detail"]
    promoted = alice.client.patch(f"/recognition/v2/task/{colours.id}", {"production_version": 2}, format="json")
    assert promoted.status_code == 200 and promoted.json()["traffic"] is None
    body = classify(alice.client, colours, [red(f"r{i}") for i in range(10)])
    assert body["version"] == 2 and not [record for record in body["records"] if "_version" in record]
    assert alice.client.delete(f"/recognition/v2/model/{version_one.id}").status_code == 204


def test_a_split_and_its_counts_belong_to_the_tasks_workspace(alice, bob, colours) -> None:
    assert split(bob.client, colours, {"1": 0.5, "2": 0.5}).status_code == 404
    assert bob.client.get(f"/recognition/v2/task/{colours.id}/traffic").status_code == 404
    for days in ("0", "²", "367"):
        assert alice.client.get(f"/recognition/v2/task/{colours.id}/traffic?days={days}").status_code == 400
    created = alice.client.post("/recognition/v2/task", {"name": "new", "traffic": {"1": 1}}, format="json")
    assert created.status_code == 400


def test_detect_and_descriptor_follow_the_split_too(alice, shapes_detector, embedder_model, tmp_path, runs) -> None:
    shapes = DetectionTask.objects.create(workspace=alice.workspace, name="shapes")
    labels = [DetectionLabel.objects.create(workspace=alice.workspace, name=name) for name in ("rect", "circle")]
    shapes.labels.add(*labels)
    for copy in ("one", "two"):
        work = tmp_path / copy
        work.mkdir()
        register(shapes, "detection", shapes_detector[0], work, labels=[str(label.id) for label in labels])
    assert split(alice.client, shapes, {"1": 0.5, "2": 0.5}, path="detection/v2/task").status_code == 200
    rng = np.random.default_rng(5)
    records = [{"_id": f"s{i}", "_base64": jpeg_base64(shapes_image(rng)[0])} for i in range(10)]
    body = alice.client.post("/detection/v2/detect", {"task_id": str(shapes.id), "records": records}, format="json")
    answered = body.json()["records"]
    assert {record["_version"] for record in answered} == {1, 2} and sorted(runs) == [1, 2]
    report = alice.client.get(f"/detection/v2/task/{shapes.id}/traffic").json()["versions"]
    for row in report:
        mine = [record for record in answered if record["_version"] == row["version"] and record["_objects"]]
        means = [np.mean([obj["prob"] for obj in record["_objects"]]) for record in mine]
        assert row["mean_confidence"] == pytest.approx(np.mean(means), abs=1e-4)

    items = SimilarityTask.objects.create(workspace=alice.workspace, name="items")
    for _ in range(2):
        register(items, "similarity", embedder_model, tmp_path)
    split(alice.client, items, {"1": 0.5, "2": 0.5}, path="similarity/training/v2/task")
    records = [{"_id": f"i{i}", "_base64": item_view_base64(i, 0)} for i in range(10)]
    body = alice.client.post(
        "/similarity/training/v2/descriptor", {"task_id": str(items.id), "records": records}, format="json"
    )
    assert {record["_version"] for record in body.json()["records"]} == {1, 2}
    report = alice.client.get(f"/similarity/training/v2/task/{items.id}/traffic").json()["versions"]
    assert sum(row["records"] for row in report) == 10 and {row["mean_confidence"] for row in report} == {None}


def test_the_task_page_shows_the_split_and_the_counts(alice, colours) -> None:
    split(alice.client, colours, {"1": 0.9, "2": 0.1})
    classify(alice.client, colours, [red(f"p{i}") for i in range(10)])
    counts = alice.client.get(f"/recognition/v2/task/{colours.id}/traffic").json()["versions"]
    html = signed_in(alice).get(f"/app/recognition/{colours.id}/").content.decode()
    assert "Traffic" in html and "v1 90 %, v2 10 %" in html
    for row in counts:
        assert f'<td>v{row["version"]}</td><td class="num">{row["records"]}</td>' in html
