"""Suggestion runs over HTTP: a real trained model predicts stored images; nothing is training data until
a person accepts it."""

from __future__ import annotations

import base64
import io

import numpy as np

from tests.detection_shapes import shapes_image
from tests.factories import colour_image_base64
from ximilar_platform.annotate.models import Suggestion, SuggestionRun
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.recognition.models import ImageLabel

IMAGES = "/recognition/v2/training-image"
RUNS = "/annotate/v2/suggestion-run"
SUGGESTIONS = "/annotate/v2/suggestion"


def upload_shapes(api, count: int, seed: int = 3) -> list[str]:
    rng = np.random.default_rng(seed)
    ids = []
    for _ in range(count):
        image, _ = shapes_image(rng, 160, 160, objects=2)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        response = api.post(IMAGES, {"base64": base64.b64encode(buffer.getvalue()).decode()}, format="json")
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    return ids


def run(api, capture, body: dict) -> dict:
    with capture(execute=True):
        response = api.post(RUNS, body, format="json")
    assert response.status_code == 202, response.json()
    return api.get(f"{RUNS}/{response.json()['id']}").json()


def test_a_detector_suggests_boxes_that_become_objects_only_when_accepted(
    api, models, django_capture_on_commit_callbacks
) -> None:
    images = upload_shapes(api, 3)
    finished = run(api, django_capture_on_commit_callbacks, {"task_id": str(models.shapes.id), "images": images})
    assert finished["state"] == "succeeded" and finished["done"] == finished["total"] == 3
    assert finished["version"] == models.shapes.production_version

    listed = api.get(f"{SUGGESTIONS}?task={models.shapes.id}&state=open&page_size=100").json()
    assert listed["count"] >= 3, "the shapes detector finds the shapes of three images"
    first = listed["results"][0]
    x1, y1, x2, y2 = first["data"]
    assert 0 <= x1 < x2 <= 160 and 0 <= y1 < y2 <= 160 and first["label_name"] in ("rect", "circle")
    assert DetectionObject.objects.count() == 0, "suggestions are not training data"
    assert [s["score"] for s in listed["results"]] == sorted((s["score"] for s in listed["results"]), reverse=True)

    accepted = api.post(f"{SUGGESTIONS}/{first['id']}/accept", format="json")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    obj = api.get(f"/detection/v2/object/{accepted.json()['accepted_object']}").json()
    assert obj["data"] == first["data"] and obj["detection_label"]["id"] == first["detection_label"]
    assert obj["created_by"] == "alice" and obj["image"]["id"] == first["image"]
    again = api.post(f"{SUGGESTIONS}/{first['id']}/accept", format="json")
    assert again.status_code == 409 and DetectionObject.objects.count() == 1

    second = listed["results"][1]
    assert api.post(f"{SUGGESTIONS}/{second['id']}/reject", format="json").json()["state"] == "rejected"
    assert DetectionObject.objects.count() == 1

    open_left = Suggestion.objects.filter(state="open").count()
    strong = Suggestion.objects.filter(state="open", score__gte=0.5).count()
    answer = api.post(
        f"{SUGGESTIONS}/accept-above", {"task_id": str(models.shapes.id), "threshold": 0.5}, format="json"
    ).json()
    assert answer["accepted"] == strong and DetectionObject.objects.count() == 1 + strong
    assert Suggestion.objects.filter(state="open").count() == open_left - strong

    # a new run replaces the open suggestions of its images, and leaves decided ones alone
    decided = Suggestion.objects.exclude(state="open").count()
    run(api, django_capture_on_commit_callbacks, {"task_id": str(models.shapes.id), "images": images[:1]})
    assert Suggestion.objects.exclude(state="open").count() == decided


def test_a_categorizer_suggests_a_category_that_replaces_the_others_when_accepted(
    api, models, django_capture_on_commit_callbacks
) -> None:
    red = api.post(IMAGES, {"base64": colour_image_base64(1, "red")}, format="json").json()
    blue_label = models.colours.labels.get(name="blue")
    api.post(f"{IMAGES}/{red['id']}/add-label", {"label_id": str(blue_label.id)}, format="json")
    unlabelled = api.post(IMAGES, {"base64": colour_image_base64(2, "blue")}, format="json").json()
    todo = run(api, django_capture_on_commit_callbacks, {"task_id": str(models.colours.id), "status": "todo"})
    assert todo["state"] == "succeeded" and todo["total"] == 1, "only the image without a category is to do"
    assert api.get(f"{SUGGESTIONS}?image={unlabelled['id']}").json()["results"][0]["label_name"] == "blue"
    finished = run(api, django_capture_on_commit_callbacks, {"task_id": str(models.colours.id), "images": [red["id"]]})
    assert finished["state"] == "succeeded"
    listed = api.get(f"{SUGGESTIONS}?image={red['id']}").json()["results"]
    best = listed[0]
    assert best["label_name"] == "red" and best["data"] is None and best["score"] > 0.5

    assert api.post(f"{SUGGESTIONS}/{best['id']}/accept", format="json").status_code == 200
    labels = set(ImageLabel.objects.filter(image_id=red["id"]).values_list("label__name", flat=True))
    assert labels == {"red"}, "a categorization task keeps one category per image"
    assert all(s.state != "open" for s in Suggestion.objects.filter(image_id=red["id"]))


def test_bad_suggestion_requests_answer_4xx_and_store_nothing(
    api, bob, models, settings, django_capture_on_commit_callbacks
) -> None:
    images = upload_shapes(api, 2)
    shapes = str(models.shapes.id)
    assert api.post(RUNS, {}, format="json").status_code == 400
    assert api.post(RUNS, {"task_id": "nope"}, format="json").status_code == 400
    assert api.post(RUNS, {"task_id": str(models.items.id)}, format="json").status_code == 404
    assert bob.client.post(RUNS, {"task_id": shapes}, format="json").status_code == 404
    assert api.post(RUNS, {"task_id": shapes, "version": 7}, format="json").status_code == 404
    assert api.post(RUNS, {"task_id": shapes, "images": ["x"]}, format="json").status_code == 400
    settings.SUGGESTION_MAX_IMAGES = 1
    too_many = api.post(RUNS, {"task_id": shapes, "images": images}, format="json")
    assert too_many.status_code == 400 and "images" in too_many.json()["fields"]
    settings.SUGGESTION_MAX_IMAGES = 500
    untrained = api.post("/detection/v2/task", {"name": "new"}, format="json").json()
    assert api.post(RUNS, {"task_id": untrained["id"]}, format="json").status_code in (400, 409)
    assert SuggestionRun.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=False):  # queued, not yet picked up by a worker
        assert api.post(RUNS, {"task_id": shapes, "images": images}, format="json").status_code == 202
        busy = api.post(RUNS, {"task_id": shapes, "images": images}, format="json")
    assert busy.status_code == 409 and SuggestionRun.objects.count() == 1
    cancelled = api.post(f"{RUNS}/{SuggestionRun.objects.get().id}/cancel", format="json").json()
    assert cancelled["state"] == "cancelled"

    for threshold in ("high", 2, None):
        bad = api.post(f"{SUGGESTIONS}/accept-above", {"task_id": shapes, "threshold": threshold}, format="json")
        assert bad.status_code == 400
    assert api.post(SUGGESTIONS, {"image": images[0]}, format="json").status_code == 400
    assert Suggestion.objects.count() == 0
