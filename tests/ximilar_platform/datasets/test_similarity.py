"""Similarity tasks as datasets: JSON only, images and types reused, a wrong group or row imports nothing."""

from __future__ import annotations

import json
from typing import Any

from tests.factories import image_bytes
from tests.ximilar_platform.datasets.conftest import files_of, zip_of
from tests.ximilar_platform.datasets.test_imports import stored_files
from ximilar_platform.datasets.models import DatasetJob
from ximilar_platform.detection.models import DetectionObject
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.similarity.models import SimilarityGroup, SimilarityTask, SimilarityType

RED, GREEN = image_bytes((200, 30, 30), (100, 80)), image_bytes((30, 200, 30), (100, 80))


def similarity_json(groups: list[dict[str, Any]]) -> bytes:
    document = {
        "format": "ximilar-platform-dataset",
        "version": 1,
        "kind": "similarity",
        "task": {"name": "products"},
        "images": [{"file": "images/a.png"}, {"file": "images/b.png"}],
        "types": [{"name": "product"}],
        "groups": groups,
    }
    return zip_of({"dataset.json": json.dumps(document).encode(), "images/a.png": RED, "images/b.png": GREEN})


def test_a_similarity_task_is_exported_and_imported_as_json_only(api, groups) -> None:
    answer = api.post("/datasets/v2/export", {"task": str(groups.id), "format": "coco"}, format="json")
    assert answer.status_code == 400
    (problem,) = answer.json()["fields"]["format"]
    assert problem["message"] == "A similarity task is not exported or imported as COCO; use json."
    body = {"task": str(groups.id), "format": "yolo", "url": "https://example.com/a.zip"}
    assert api.post("/datasets/v2/import", body, format="json").status_code == 400
    assert not DatasetJob.objects.exists()


def test_the_json_names_members_by_file_and_nested_groups_by_index(jobs, groups) -> None:
    document = json.loads(files_of(jobs.export(groups, "json"))["dataset.json"])
    assert document["kind"] == "similarity"
    assert document["types"] == [
        {"name": "product", "description": "one item", "in_task": True},
        {"name": "colour", "description": "", "in_task": False},
    ]
    names = [group["name"] for group in document["groups"]]
    assert names == ["shoe", "boot", "handbag", "red things", "footwear"]
    footwear, handbag = document["groups"][4], document["groups"][2]
    assert [names[n] for n in footwear["groups"]] == ["shoe", "boot", "red things"] and footwear["images"] == []
    (member,) = handbag["objects"]
    image = next(image for image in document["images"] if image["file"] == member["file"])
    assert image["objects"][member["object"]]["label"] == "bag"
    assert {group["name"] for group in document["groups"] if group["test"]} == {"boot"}


def test_into_an_existing_task_images_objects_and_types_are_reused_and_groups_added(jobs, alice, groups) -> None:
    archive = jobs.export(groups, "json")
    images, objects = TrainingImage.objects.count(), DetectionObject.objects.count()
    target = SimilarityTask.objects.create(workspace=alice.workspace, name="again")
    jobs.import_(archive, "json", target)
    assert TrainingImage.objects.count() == images and DetectionObject.objects.count() == objects
    assert SimilarityType.objects.count() == 2 and list(target.types.values_list("name", flat=True)) == ["product"]
    copies = SimilarityGroup.objects.filter(name="shoe").order_by("created")
    assert copies.count() == 2
    assert set(copies[0].images.all()) == set(copies[1].images.all())
    handbags = SimilarityGroup.objects.filter(name="handbag")
    assert {obj.id for group in handbags for obj in group.detection_objects.all()} == {DetectionObject.objects.get().id}


def test_wrong_groups_are_listed_and_nothing_is_imported(jobs, media_root) -> None:
    archive = similarity_json(
        [
            {"type": "product", "images": ["images/a.png"], "groups": [1]},
            {"type": "product", "groups": [2]},
            {"type": "product", "groups": [1]},
            {"type": "style", "images": ["images/b.png"]},
            {"type": "product", "images": ["images/gone.png"]},
        ]
    )
    job = jobs.start_import(archive, "json")
    assert job["state"] == "failed" and "nothing was imported" in job_error(job)
    assert job["errors"] == [
        {"file": "groups[0]", "error": "a group holds images and objects, or groups, not both"},
        {"file": "groups[3]", "error": "the type 'style' is not among the types"},
        {"file": "groups[4]", "error": "images/gone.png is not among the images"},
    ]
    loop = jobs.start_import(
        similarity_json([{"type": "product", "groups": [1]}, {"type": "product", "groups": [0]}]), "json"
    )
    assert [error["file"] for error in loop["errors"]] == ["groups[0]", "groups[1]"]
    assert "loop" in loop["errors"][0]["error"]
    assert not SimilarityTask.objects.exists() and not SimilarityType.objects.exists()
    assert not TrainingImage.objects.exists() and stored_files(media_root) == []


def test_a_problem_found_inside_the_transaction_leaves_no_row_and_no_file(jobs, media_root) -> None:
    job = jobs.start_import(
        similarity_json([{"type": "product", "images": ["images/a.png"], "name": "x" * 256}]), "json"
    )
    assert job["state"] == "failed" and "more than 255 characters" in job_error(job)
    assert not SimilarityTask.objects.exists() and not SimilarityType.objects.exists()
    assert not SimilarityGroup.objects.exists() and not TrainingImage.objects.exists()
    assert stored_files(media_root) == []


def job_error(job: dict) -> str:
    return DatasetJob.objects.get(id=job["id"]).error
