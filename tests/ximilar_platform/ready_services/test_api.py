"""The ready-to-use endpoints' request rules: options, record limits, throttle, usage per workspace."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from inference.tagging import MODEL_NAME
from tests.ximilar_platform.ready_services.conftest import record, red_and_blue
from ximilar_platform import daily_counts
from ximilar_platform.accounts.models import DailyUsage
from ximilar_platform.accounts.services import create_workspace

TAGS = "/photo/tags/v2/tags"
GENERIC = "/dom_colors/generic/v2/dominantcolor"
PRODUCT = "/dom_colors/product/v2/dominantcolor"


def test_colors_caps_the_colours_and_defaults_to_ximilars(api) -> None:
    one = api.post(GENERIC, {"records": [record(red_and_blue())], "colors": 1}, format="json").json()
    assert one["records"][0]["_dominant_colors"]["color_names"] == ["red"]
    assert one["records"][0]["_dominant_colors"]["percentages"] == [pytest.approx(0.7, abs=0.01)]  # of every pixel
    assert api.post(f"{PRODUCT}/", {"records": [record(red_and_blue())]}, format="json").status_code == 200


@pytest.mark.parametrize("colors", [0, 13, "3", 2.5, True, None])
def test_a_bad_colors_answers_400_and_counts_nothing(api, colors) -> None:
    response = api.post(GENERIC, {"records": [record(red_and_blue())], "colors": colors}, format="json")
    assert response.status_code == 400 and "colors" in response.json()["fields"]
    daily_counts.flush()  # this process's counts, written as its next interval would
    assert not DailyUsage.objects.exists()


@pytest.mark.parametrize("path", [TAGS, GENERIC, PRODUCT])
def test_bad_bodies_answer_400_in_the_error_shape(api, settings, path) -> None:
    assert api.post(path, {"records": []}, format="json").json()["status"]["code"] == 400
    assert api.post(path, [record(red_and_blue())], format="json").status_code == 400
    too_many = [record(red_and_blue())] * (settings.MAX_RECORDS + 1)
    assert "At most" in api.post(path, {"records": too_many}, format="json").json()["fields"]["records"][0]["message"]
    assert api.post(path, {"records": ["not an object"]}, format="json").status_code == 400
    daily_counts.flush()  # this process's counts, written as its next interval would
    assert not DailyUsage.objects.exists()


def test_records_count_in_the_workspace_the_request_names(alice, bob) -> None:
    team = create_workspace(user=bob.user, name="team")
    team.members.add(alice.user)
    body = {"records": [record(red_and_blue())] * 2, "workspace": str(team.id)}
    assert alice.client.post(GENERIC, body, format="json").status_code == 200
    assert alice.client.post(TAGS, {"records": [record(red_and_blue())]}, format="json").status_code == 200
    daily_counts.flush()  # this process's counts, written as its next interval would
    assert DailyUsage.objects.get(workspace=team, service="colors").records == 2
    assert DailyUsage.objects.get(workspace=alice.workspace, service="tagging").records == 1
    theirs = bob.client.post(
        GENERIC, {"records": [record(red_and_blue())], "workspace": str(alice.workspace.id)}, format="json"
    )
    assert theirs.status_code == 404


def test_the_services_share_the_prediction_rate(api, settings) -> None:
    settings.THROTTLE_RATES = {"api": "100/minute", "predict": "2/minute", "train": "1/hour"}
    for path in (GENERIC, PRODUCT):
        assert api.post(path, {"records": [record(red_and_blue())]}, format="json").status_code == 200
    throttled = api.post(TAGS, {"records": [record(red_and_blue())]}, format="json")
    assert throttled.status_code == 429 and "Retry-After" in throttled


def test_a_token_is_needed(client) -> None:
    assert client.post(TAGS, {"records": [record(red_and_blue())]}, content_type="application/json").status_code in (
        401,
        403,
    )


def test_the_schema_describes_the_services_bodies(client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    def body(path: str) -> dict:
        found = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        return schema["components"]["schemas"][found["$ref"].rsplit("/", 1)[1]]["properties"]

    assert set(body("/photo/tags/v2/tags/")) == {"records"}
    for path in ("/dom_colors/generic/v2/dominantcolor/", "/dom_colors/product/v2/dominantcolor/"):
        assert body(path)["colors"]["maximum"] == 12 and "records" in body(path)


def test_export_ready_models_reports_the_exported_folder(ready_models_dir) -> None:
    out = io.StringIO()
    call_command("export_ready_models", stdout=out)
    from inference.descriptors import MODEL_NAME as DESCRIPTOR

    assert out.getvalue().strip().splitlines() == [
        f"Generic tagger: {ready_models_dir / MODEL_NAME}",
        f"Generic descriptor: {ready_models_dir / DESCRIPTOR}",
    ]
    assert (ready_models_dir / DESCRIPTOR / "model.onnx").is_file()
