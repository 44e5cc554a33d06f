"""Contract §0: JSON everywhere, slashes optional, no redirects, one error shape, DRF pagination."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from ximilar_platform.recognition.models import Task


def test_unknown_route_answers_json_404(api) -> None:
    response = api.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "Not found.",
        "code": "not_found",
        "status": {"code": 404, "text": "Not found."},
    }


def test_unknown_id_answers_json_404(api) -> None:
    response = api.get("/recognition/v2/task/7f9d4f62-8d6e-4b8e-a3a5-1f2a3b4c5d6e")
    assert response.status_code == 404
    assert response.json()["detail"] == "Not found."


@pytest.mark.parametrize("path", ["/recognition/v2/task", "/recognition/v2/task/"])
def test_routes_work_with_and_without_trailing_slash(api, path: str) -> None:
    created = api.post(path, {"name": "cats"}, format="json")
    assert created.status_code == 201
    assert api.get(path).json()["count"] == 1
    task_id = created.json()["id"]
    assert api.get(f"/recognition/v2/task/{task_id}").status_code == 200
    assert api.get(f"/recognition/v2/task/{task_id}/").status_code == 200


def test_actions_and_deletes_never_redirect(api) -> None:
    task_id = api.post("/recognition/v2/task", {"name": "t"}, format="json").json()["id"]
    label_id = api.post("/recognition/v2/label", {"name": "l"}, format="json").json()["id"]
    assert (
        api.post(f"/recognition/v2/task/{task_id}/add-label", {"label_id": label_id}, format="json").status_code == 200
    )
    assert api.delete(f"/recognition/v2/task/{task_id}/").status_code == 204
    assert not Task.objects.filter(id=task_id).exists()


def test_validation_errors_carry_detail_status_and_fields(api) -> None:
    response = api.post("/recognition/v2/task", {"type": "nonsense"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "name: This field is required." in body["detail"]
    assert body["status"]["code"] == 400 and body["status"]["text"] == body["detail"]
    assert set(body["fields"]) == {"name", "type"}


def test_lists_are_paginated_like_drf(api) -> None:
    for index in range(5):
        api.post("/recognition/v2/label", {"name": f"label {index}"}, format="json")
    first = api.get("/recognition/v2/label?page_size=2").json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
    assert first["next"].startswith("http://testserver/recognition/v2/label")
    last = api.get("/recognition/v2/label?page_size=2&page=3").json()
    assert last["next"] is None and [label["name"] for label in last["results"]] == ["label 4"]


def test_unexpected_errors_answer_json_500_without_traceback(alice, monkeypatch) -> None:
    from ximilar_platform.recognition import views

    def explode(self, serializer):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.TaskViewSet, "perform_create", explode)
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {alice.token}")
    response = client.post("/recognition/v2/task", {"name": "x"}, format="json")
    assert response.status_code == 500
    body = response.json()
    assert body["status"]["code"] == 500 and body["error_id"]
    assert "secret" not in response.content.decode()


def test_malformed_json_answers_400_json(api) -> None:
    response = api.generic("POST", "/recognition/v2/task", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_docs_page_and_schema_are_served_offline(client) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    # every script and stylesheet comes from this server (a random CSRF token may spell "cdn")
    sources = [part.split('"')[0] for part in re.split(r'(?:src|href)="', html)[1:]]
    assert sources and not [source for source in sources if source.startswith(("http:", "https:", "//"))], sources
    bundle = next(part.split('"')[0] for part in html.split('src="')[1:] if "swagger-ui-bundle" in part)
    assert client.get(bundle).status_code == 200
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/recognition/v2/training-image/{id}/add-label/", "/recognition/v2/task/", "/account/v2/user/"} <= set(
        paths
    )


def request_schema(schema: dict, path: str, method: str = "post") -> dict | None:
    """The JSON body an operation takes, its references resolved one level."""
    body = schema["paths"][path][method].get("requestBody")
    if body is None:
        return None
    found = body["content"]["application/json"]["schema"]
    return schema["components"]["schemas"][found["$ref"].rsplit("/", 1)[1]] if "$ref" in found else found


def test_the_schema_describes_the_bodies_the_views_read(client) -> None:
    """Clients and the fuzzer (test_fuzz.py) build requests from /api/schema/: it names what each view reads."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    add_label = request_schema(schema, "/recognition/v2/training-image/{id}/add-label/")
    assert set(add_label["properties"]) == {"label_id", "value"} and add_label["required"] == ["label_id"]
    assert (
        request_schema(schema, "/similarity/training/v2/group/{id}/add-images/")["properties"]["images"]["type"]
        == "array"
    )
    assert {"base64", "url", "labels"} <= set(request_schema(schema, "/recognition/v2/training-image/")["properties"])
    assert {"task_id", "version", "records"} <= set(request_schema(schema, "/recognition/v2/classify/")["properties"])
    assert {"flow", "records"} <= set(request_schema(schema, "/flows/v2/process/")["properties"])
    assert {"task_id", "image_id", "state"} <= set(request_schema(schema, "/annotate/v2/review/")["properties"])
    assert request_schema(schema, "/recognition/v2/task/{id}/train/") is None  # train takes no body
    search = schema["paths"]["/similarity/custom/v2/{operation}/"]["post"]["parameters"]
    assert {"insert", "visualKNN"} <= set(next(p for p in search if p["name"] == "operation")["schema"]["enum"])
    assert "post" not in schema["paths"]["/recognition/v2/training-job/"]  # jobs start from a task's train


def test_admin_login_page_renders(client) -> None:
    assert client.get("/admin/login/").status_code == 200


def test_admin_lists_every_registered_model(admin_client) -> None:
    from django.contrib import admin

    registered = {model._meta.label for model in admin.site._registry}
    assert {
        "training_jobs.TrainingJob",
        "training_jobs.ModelVersion",
        "detection.DetectionTask",
        "collections.Collection",
        "collections.Reembedding",
    } <= registered
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert admin_client.get(url).status_code == 200, url
