"""Bodies within bounds (issue 12, item 4): a size per kind of endpoint, a JSON depth, JSON answers only."""

from __future__ import annotations

import base64
import json

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.factories import image_base64
from ximilar_platform.recognition.models import Task

TASKS = "/recognition/v2/task"
IMAGES = "/recognition/v2/training-image"


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_a_crud_body_over_its_limit_answers_413_and_stores_nothing(api, settings) -> None:
    settings.API_MAX_BODY_BYTES = 100_000
    big = api.post(TASKS, {"name": "x", "description": "a" * 200_000}, format="json")
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
    assert big.json()["status"]["code"] == 413 and not Task.objects.exists()
    upload = api.post(TASKS, {"name": "x", "file": SimpleUploadedFile("a.bin", b"0" * 200_000)}, format="multipart")
    assert upload.status_code == 413 and not Task.objects.exists()
    assert api.post(TASKS, {"name": "x", "description": "a" * 1000}, format="json").status_code == 201


def test_image_endpoints_take_image_sized_bodies(api, settings) -> None:
    settings.API_MAX_BODY_BYTES = 100_000
    record = {"_base64": base64.b64encode(b"\x00" * 150_000).decode()}  # not an image: a per-record error
    answer = api.post(
        "/recognition/v2/classify",
        {"task_id": "00000000-0000-0000-0000-000000000000", "records": [record]},
        format="json",
    )
    assert answer.status_code != 413
    settings.API_MAX_IMAGE_BODY_BYTES = 100_000
    answer = api.post(IMAGES, {"base64": image_base64((1, 2, 3), (300, 300)) + "A" * 200_000}, format="json")
    assert answer.status_code == 413


def test_deep_json_answers_400_not_500_and_leaves_data_as_it_was(api) -> None:
    body = '{"name": "x", "description": ' + "[" * 5000 + "]" * 5000 + "}"  # too deep for the test client to write
    made = api.generic("POST", TASKS, body, content_type="application/json")
    assert made.status_code == 400 and "nests deeper than 32 levels" in made.json()["detail"]
    assert not Task.objects.exists()
    image = api.post(IMAGES, {"base64": image_base64((9, 9, 9))}, format="json").json()
    answer = api.put(f"{IMAGES}/{image['id']}", {"meta_data": {"a": nested(40)}}, format="json")
    assert answer.status_code == 400
    assert api.get(f"{IMAGES}/{image['id']}").json()["meta_data"] == {}
    shallow = api.put(f"{IMAGES}/{image['id']}", {"meta_data": {"a": nested(20)}}, format="json")
    assert shallow.status_code == 200
    deep_filter = {"$and": [{"$and": [{"$and": [{"x": 1}]}]}]}
    for _ in range(20):
        deep_filter = {"$and": [deep_filter]}
    search = api.post(
        "/similarity/custom/v2/visualKNN", {"filter": deep_filter, "k": 1}, format="json", HTTP_COLLECTION_ID="x"
    )
    assert search.status_code == 400
    raw = api.generic("POST", TASKS, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert raw.status_code == 400 and raw["Content-Type"] == "application/json"


def test_every_answer_is_json_even_without_a_csrf_cookie(alice) -> None:
    strict = APIClient(enforce_csrf_checks=True)
    strict.credentials(HTTP_AUTHORIZATION=f"Token {alice.token}")
    for method in ("delete", "post", "put"):
        answer = getattr(strict, method)(f"{IMAGES}/not-a-uuid")
        assert answer.status_code == 404 and answer.json()["code"] == "not_found", (method, answer.content[:200])
    assert json.loads(strict.delete("/no/such/route").content)["status"]["code"] == 404


def test_the_images_of_one_request_share_a_pixel_budget(settings) -> None:
    from ximilar_platform.serving.requests import decode_records

    settings.REQUEST_MAX_PIXELS = 25_000
    records = [{"_base64": image_base64((10 * i, 0, 0), (100, 100))} for i in range(3)]
    decoded = decode_records(records)
    assert [getattr(item, "status", 200) for item in decoded] == [200, 200, 413]
    assert "REQUEST_MAX_PIXELS (25000)" in decoded[2].message
    settings.IMAGE_MAX_PIXELS = 5_000  # a single image over its own limit says so, not the request's
    assert "more than the limit of 5000" in decode_records(records[:1])[0].message


def test_an_insert_embeds_at_most_search_max_image_records(api, settings) -> None:
    settings.SEARCH_MAX_IMAGE_RECORDS = 2
    records = [{"_id": str(i), "_base64": image_base64((40 * i, 90, 10), (64, 64))} for i in range(3)]
    answer = api.post(
        "/similarity/custom/v2/insert", {"records": records}, format="json", HTTP_COLLECTION_ID="limits"
    ).json()
    assert [record["_id"] for record in answer["records"]] == ["0", "1"]
    assert [(s["_id"], s["_reason"]["status"]["code"]) for s in answer["skipped_records"]] == [("2", 413)]


def test_bodies_the_fuzzer_found_answer_4xx_not_500(api) -> None:
    """From schemathesis against /api/schema/ (issue 12): OPTIONS, list bodies, a read-only field on create."""
    task = api.post(TASKS, {"name": "x", "production_version": -1}, format="json")
    assert task.status_code == 201, task.json()
    assert api.options(f"{TASKS}/{task.json()['id']}").status_code == 405
    label = api.post("/recognition/v2/label", {"name": "l"}, format="json").json()
    for path in (
        f"/recognition/v2/label/{label['id']}/add-task",
        f"{IMAGES}/update",
        "/similarity/training/v2/group/update",
    ):
        answer = api.post(path, [1, 2], format="json")
        assert answer.status_code == 400 and answer.json()["detail"] == "Send a JSON object as the request body.", path


def test_forms_and_queries_of_too_many_fields_answer_400_in_the_error_shape(api, settings) -> None:
    """Django refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields; that once left as a 500 (issue 12's fuzzer)."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"field{index}": "x" for index in range(11)}
    multipart = api.post(TASKS, {"name": "many", **fields})  # APIClient's default: multipart
    form = api.generic("POST", TASKS, "&".join(f"{key}=x" for key in fields), "application/x-www-form-urlencoded")
    query = api.get(f"{TASKS}/?" + "&".join(f"{key}=x" for key in fields))
    for answer in (multipart, form, query):
        assert answer.status_code == 400 and answer.json()["code"] == "parse_error", answer.content
        assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in answer.json()["detail"]
    assert not Task.objects.exists()


def test_json_beyond_what_orjson_reads_is_read_as_before_and_bad_json_answers_400(api) -> None:
    body = '{"name": ' + str(10**22) + ', "meta": ' + str(10**30) + "}"  # beyond 64 bits: the json module's turn
    huge = api.post("/recognition/v2/task", body, content_type="application/json")
    assert huge.status_code == 201 and huge.json()["name"] == str(10**22)  # every digit kept, not 1e+22
    for body, says in (('{"name": NaN}', "JSON parse error"), ('{"name": "x"', "JSON parse error"), (b"\xff", "JSON")):
        bad = api.post("/recognition/v2/task", body, content_type="application/json")
        assert bad.status_code == 400 and says in bad.json()["detail"], bad.json()
    assert [task["name"] for task in api.get("/recognition/v2/task").json()["results"]] == [str(10**22)]


def test_a_json_body_of_too_many_values_answers_413_before_it_is_parsed(api, settings, monkeypatch) -> None:
    """100 MiB of empty objects would parse into about 3 GB; the count of ``{ [ ,`` refuses it first."""
    from ximilar_platform.core.api import fastjson

    settings.API_MAX_JSON_VALUES = 1000
    parsed: list[int] = []
    real_loads = fastjson.loads
    monkeypatch.setattr(fastjson, "loads", lambda data, **kw: parsed.append(len(data)) or real_loads(data, **kw))
    body = {"task_id": "00000000-0000-0000-0000-000000000000", "records": [{} for _ in range(1500)]}
    answer = api.post("/recognition/v2/classify", body, format="json")
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    assert "at most 1000 in one request" in answer.json()["detail"] and parsed == []
    image = api.post(IMAGES, {"base64": image_base64((9, 9, 9))}, format="json").json()
    many = api.put(f"{IMAGES}/{image['id']}", {"meta_data": {"a": list(range(1200))}}, format="json")
    assert many.status_code == 413 and api.get(f"{IMAGES}/{image['id']}").json()["meta_data"] == {}
    fewer = api.put(f"{IMAGES}/{image['id']}", {"meta_data": {"a": list(range(900))}}, format="json")
    assert fewer.status_code == 200 and len(api.get(f"{IMAGES}/{image['id']}").json()["meta_data"]["a"]) == 900
