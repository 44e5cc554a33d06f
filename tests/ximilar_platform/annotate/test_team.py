"""Team work over HTTP: image status in a task, reviews with comments, the queue's orders, jobs assigned to
members with progress, verifications (the official client's ``Image.verify``) and who changed each object."""

from __future__ import annotations

import base64

import pytest
from ximilar.client import RecognitionClient

from tests.factories import image_base64, image_bytes
from ximilar_platform.accounts.models import Workspace
from ximilar_platform.annotate.models import Suggestion
from ximilar_platform.training_jobs.models import ModelVersion

TASKS = "/detection/v2/task"
OBJECTS = "/detection/v2/object"
IMAGES = "/recognition/v2/training-image"
QUEUE = "/annotate/v2/queue"
REVIEW = "/annotate/v2/review"
JOBS = "/annotate/v2/job"
VERIFY = "/annotate/v2/verification"


@pytest.fixture
def scene(api, alice, bob) -> dict:
    """A detection task with one label, four images, and bob as a member of alice's workspace."""
    Workspace.objects.get(pk=alice.workspace.pk).members.add(bob.user)
    task = api.post(TASKS, {"name": "cars"}, format="json").json()
    label = api.post("/detection/v2/label", {"name": "car"}, format="json").json()
    api.post(f"{TASKS}/{task['id']}/add-label", {"label_id": label["id"]}, format="json")
    images = [
        api.post(IMAGES, {"base64": image_base64((40 * i, 90, 90), (120, 90))}, format="json").json()["id"]
        for i in range(4)
    ]
    return {"task": task["id"], "label": label["id"], "images": images, "ws": str(alice.workspace.id)}


def statuses(api, scene, **params) -> list[tuple[str, str]]:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    rows = api.get(f"{QUEUE}?task_id={scene['task']}&page_size=50&{query}").json()["results"]
    return [(scene["images"].index(row["id"]), row["status"]) for row in rows]


def test_status_follows_the_data_and_reviews_send_images_back_with_a_comment(api, scene) -> None:
    first, second, third, _ = scene["images"]
    assert statuses(api, scene) == [(0, "todo"), (1, "todo"), (2, "todo"), (3, "todo")]
    api.post(OBJECTS, {"image": first, "detection_label": scene["label"], "data": [5, 5, 50, 40]}, format="json")
    done = api.post(REVIEW, {"task_id": scene["task"], "image_id": second, "negative": True}, format="json")
    assert done.status_code == 201 and done.json()["state"] == "annotated"
    assert api.get(f"{TASKS}/{scene['task']}").json()["negative_images_count"] == 1
    assert api.post(VERIFY, {"image_id": third}, format="json").status_code == 201

    # to do first, then the annotated ones; a verification alone does not make an image done
    assert statuses(api, scene) == [(2, "todo"), (3, "todo"), (0, "annotated"), (1, "annotated")]
    api.post(VERIFY, {"image_id": first}, format="json")
    assert dict(statuses(api, scene))[0] == "verified"

    no_comment = api.post(REVIEW, {"task_id": scene["task"], "image_id": first, "state": "rejected"}, format="json")
    assert no_comment.status_code == 400 and "comment" in no_comment.json()["fields"]
    sent_back = api.post(
        REVIEW,
        {"task_id": scene["task"], "image_id": first, "state": "rejected", "comment": "box too loose"},
        format="json",
    )
    assert sent_back.status_code == 201
    row = api.get(f"{QUEUE}?task_id={scene['task']}&status=rejected").json()["results"]
    assert [(r["id"], r["comment"], r["verify_count"]) for r in row] == [(first, "box too loose", 0)]
    assert statuses(api, scene, order="review")[0] == (1, "annotated"), "review order: annotated, unchecked first"

    boxed = api.post(REVIEW, {"task_id": scene["task"], "image_id": first, "negative": True}, format="json")
    assert boxed.status_code == 409, "an image with boxes cannot be marked as showing nothing"
    for bad in ({"state": "lost"}, {"negative": "yes"}, {"image_id": "x"}, {"task_id": scene["images"][0]}):
        body = {"task_id": scene["task"], "image_id": third, **bad}
        assert api.post(REVIEW, body, format="json").status_code in (400, 404), bad
    assert api.get(f"{QUEUE}?task_id={scene['task']}&order=random").status_code == 400
    assert api.get(f"{QUEUE}?task_id={scene['task']}&status=great").status_code == 400
    assert api.get(QUEUE).status_code == 400


def test_the_uncertain_order_puts_the_least_certain_predictions_first(api, scene) -> None:
    version = ModelVersion.objects.create(
        workspace_id=scene["ws"], task_kind="detection", task_id=scene["task"], version=1, manifest={}
    )
    for image, score in zip(scene["images"][:3], (0.95, 0.52, 0.2), strict=True):
        Suggestion.objects.create(
            workspace_id=scene["ws"],
            image_id=image,
            task_kind="detection",
            task_id=scene["task"],
            version=version,
            detection_label_id=scene["label"],
            data=[1, 1, 20, 20],
            score=score,
        )
    rows = api.get(f"{QUEUE}?task_id={scene['task']}&order=uncertain").json()["results"]
    assert [scene["images"].index(row["id"]) for row in rows] == [1, 2, 0, 3]
    assert rows[0]["certainty"] == pytest.approx(0.04) and rows[3]["certainty"] is None
    labelled = api.get(f"{QUEUE}?task_id={scene['task']}&label={scene['label']}").json()
    assert labelled["count"] == 3, "the label filter finds images with its suggestions or objects"


def test_jobs_assign_to_do_images_to_members_and_count_progress(api, bob, scene) -> None:
    job = api.post(JOBS, {"task_id": scene["task"], "name": "first two", "assignee": "bob", "count": 2}, format="json")
    assert job.status_code == 201, job.json()
    body = job.json()
    assert body["assignee_name"] == "bob" and body["progress"] == {
        "todo": 2,
        "rejected": 0,
        "annotated": 0,
        "verified": 0,
        "total": 2,
    }
    second = api.post(JOBS, {"task_id": scene["task"], "name": "rest", "count": 10}, format="json").json()
    assert second["progress"]["total"] == 2, "a new job takes the to-do images no job holds yet"
    full = api.post(JOBS, {"task_id": scene["task"], "name": "more", "count": 1}, format="json")
    assert full.status_code == 400

    mine = api.get(f"{QUEUE}?task_id={scene['task']}&job={body['id']}").json()["results"]
    assert len(mine) == 2
    bob.client.post(REVIEW, {"task_id": scene["task"], "image_id": mine[0]["id"]}, format="json")
    api.post(VERIFY, {"image_id": mine[0]["id"]}, format="json")
    listed = api.get(f"{JOBS}?task={scene['task']}").json()["results"]
    progress = {row["name"]: row["progress"] for row in listed}
    assert progress["first two"]["verified"] == 1 and progress["first two"]["todo"] == 1
    people = {row["username"]: row for row in api.get(f"{JOBS}/people?task_id={scene['task']}").json()["results"]}
    assert people["bob"]["annotated"] == 1 and people["alice"]["verifications"] == 1

    renamed = api.patch(f"{JOBS}/{body['id']}", {"name": "bob's", "assignee": "alice"}, format="json").json()
    assert renamed["name"] == "bob's" and renamed["assignee_name"] == "alice"
    assert api.patch(f"{JOBS}/{body['id']}", {"assignee": "mallory"}, format="json").status_code == 400
    for bad in ({"name": ""}, {"count": "many"}, {"count": 0}, {"images": ["nope"]}):
        assert api.post(JOBS, {"task_id": scene["task"], "name": "x", **bad}, format="json").status_code == 400
    assert api.delete(f"{JOBS}/{second['id']}").status_code == 204
    assert api.get(f"{JOBS}?task={scene['task']}").json()["count"] == 1


def test_a_task_can_require_several_verifications(api, bob, scene) -> None:
    image = scene["images"][0]
    api.post(OBJECTS, {"image": image, "detection_label": scene["label"], "data": [5, 5, 50, 40]}, format="json")
    assert api.patch(f"{TASKS}/{scene['task']}", {"required_verifications": 11}, format="json").status_code == 400
    changed = api.patch(f"{TASKS}/{scene['task']}", {"required_verifications": 2}, format="json")
    assert changed.json()["required_verifications"] == 2
    api.post(VERIFY, {"image_id": image}, format="json")
    assert dict(statuses(api, scene))[0] == "annotated"
    again = api.post(VERIFY, {"image_id": image}, format="json")
    assert again.status_code == 200, "verifying twice is one verification"
    bob.client.post(VERIFY, {"image_id": image}, format="json")
    assert dict(statuses(api, scene))[0] == "verified"
    assert api.get(f"{IMAGES}/{image}").json()["verifyCount"] == 2
    assert api.post(VERIFY, {"image_id": image, "user": "mallory"}, format="json").status_code == 400


def test_objects_keep_who_created_and_changed_them(api, bob, scene) -> None:
    created = api.post(
        OBJECTS, {"image": scene["images"][0], "detection_label": scene["label"], "data": [5, 5, 50, 40]}, format="json"
    ).json()
    assert created["created_by"] == "alice" and created["updated_by"] == "alice"
    changed = bob.client.patch(f"{OBJECTS}/{created['id']}", {"data": [6, 6, 60, 50]}, format="json").json()
    assert changed["created_by"] == "alice" and changed["updated_by"] == "bob"
    assert changed["updated"] > created["updated"]


def test_the_official_client_verifies_and_unverifies_images(live_server, alice, bob) -> None:
    client = RecognitionClient(token=alice.token, endpoint=live_server.url + "/")
    images, _ = client.upload_images(
        [{"_base64": base64.b64encode(image_bytes(color=(10, 200, 10))), "noresize": True}]
    )
    image = images[0]
    image.verify(alice.user.pk)
    assert image.verifyCount == 1
    verifications = image.get_verifications()
    assert [v["user"] for v in verifications] == [alice.user.pk]
    assert client.get_training_images(verification=1)[2]["count"] == 1
    assert client.get_training_images(verification=2)[2]["count"] == 0
    assert image.unverify() is True
    assert client.get_training_images(verification=1)[2]["count"] == 0
    assert client.get_image(image.id)[0].verifyCount == 0
    other = RecognitionClient(token=bob.token, endpoint=live_server.url + "/")
    assert other.get(f"annotate/v2/verification/?image={image.id}")["results"] == []


def test_similarity_groups_are_verified_the_same_way(api, bob) -> None:
    kind = api.post("/similarity/training/v2/type", {"name": "products"}, format="json").json()
    group = api.post("/similarity/training/v2/group", {"name": "shoe", "type": kind["id"]}, format="json").json()
    made = api.post("/annotate/v2/similarity-verification", {"group_id": group["id"]}, format="json")
    assert made.status_code == 201, made.json()
    listed = api.get(f"/annotate/v2/similarity-verification?group={group['id']}").json()
    assert [row["group_id"] for row in listed["results"]] == [group["id"]]
    assert (
        bob.client.post("/annotate/v2/similarity-verification", {"group_id": group["id"]}, format="json").status_code
        == 404
    )
    assert api.delete(f"/annotate/v2/similarity-verification/{made.json()['id']}").status_code == 204
    assert api.get(f"/annotate/v2/similarity-verification?group={group['id']}").json()["count"] == 0


@pytest.mark.parametrize("value", ["1.5", "-7.03e+53", str(2**63)])
def test_member_filters_answer_400_to_what_is_not_a_64_bit_integer(api, value: str) -> None:
    """A float or an integer past 64 bits once reached SQLite and answered 500 (issue 12's fuzzer)."""
    for url in (f"{JOBS}/?assignee={value}", f"{VERIFY}/?user={value}"):
        response = api.get(url)
        assert response.status_code == 400 and set(response.json()["fields"]) == {url.split("?")[1].split("=")[0]}
    assert api.get(f"{JOBS}/?assignee={2**63 - 1}").json()["count"] == 0


def test_text_fields_of_jobs_and_reviews_refuse_what_is_not_text(api, scene) -> None:
    """A list as a job's name or a review's comment once answered 500 (issue 12's fuzzer)."""
    job = api.post(JOBS, {"task_id": scene["task"], "name": ["a"], "count": 1}, format="json")
    assert job.status_code == 400 and set(job.json()["fields"]) == {"name"}
    rejected = {"task_id": scene["task"], "image_id": scene["images"][0], "state": "rejected", "comment": [1]}
    review = api.post(REVIEW, rejected, format="json")
    assert review.status_code == 400 and set(review.json()["fields"]) == {"comment"}
    created = api.post(JOBS, {"task_id": scene["task"], "name": "first", "count": 1}, format="json").json()
    renamed = api.patch(f"{JOBS}/{created['id']}", {"name": 5}, format="json")
    assert renamed.status_code == 400 and api.get(f"{JOBS}/{created['id']}").json()["name"] == "first"
    assert api.get(f"{REVIEW}/").json()["count"] == 0
