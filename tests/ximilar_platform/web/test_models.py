"""A task's versions and their metrics per kind, deploys, and testing a model with a dropped image."""

from __future__ import annotations

import base64
import io

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.detection_shapes import shapes_image
from tests.factories import colour_image_base64, image_bytes, item_view_base64
from tests.ximilar_platform.flows.conftest import register
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.similarity.models import SimilarityGroup, SimilarityType
from ximilar_platform.training_jobs.models import ModelVersion


def picture(encoded_png: bytes, name: str = "query.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, encoded_png, content_type="image/png")


def colour_png(colour: str, index: int = 99) -> bytes:
    return base64.b64decode(colour_image_base64(index, colour))


def test_the_versions_list_marks_production_and_offers_deploy(web, models, colour_model, tmp_path) -> None:
    register(models.colours, "recognition", colour_model, tmp_path)  # version 2, now in production
    first = ModelVersion.objects.get(task_id=models.colours.id, version=1)
    html = web.get(f"/app/recognition/{models.colours.id}/models/").content.decode()
    assert 'v2</strong></a> <span class="badge ok">production</span>' in html and "accuracy" in html
    web.post(f"/app/versions/{first.id}/deploy/")
    models.colours.refresh_from_db()
    assert models.colours.production_version == 1
    refused = web.post(f"/app/versions/{first.id}/delete/", follow=True)
    assert "This version is in production" in refused.content.decode() and ModelVersion.objects.filter(id=first.id)


def test_a_categorizer_version_shows_the_heat_map_and_its_failed_images(web, alice, models) -> None:
    version = ModelVersion.objects.get(task_id=models.colours.id)
    image = TrainingImage.objects.create(
        workspace=alice.workspace, file="images/x.png", thumbnail="thumbs/x.jpg", width=32, height=32, checksum="x"
    )
    labels = version.metrics["confusion_matrix"]["labels"]
    version.metrics = {
        **version.metrics,
        "confusion_matrix": {"labels": labels, "matrix": [[9, 1], [2, 8]]},
        "failed_images": [
            {"image_id": str(image.id), "true_label": labels[0], "predicted_label": labels[1], "prob": 0.91}
        ],
    }
    version.save()
    html = web.get(f"/app/versions/{version.id}/").content.decode()
    assert "Confusion matrix" in html and 'title="9 of 10"' in html and 'title="2 of 10"' in html
    assert "hsl(145 65% 56%)" in html  # 9 of 10 right: dark green; the wrong cells are red
    assert f'href="/app/images/{image.id}/"' in html and "red → <strong" in html and "0.91" in html


def test_two_versions_side_by_side(web, models, colour_model, tmp_path) -> None:
    register(models.colours, "recognition", colour_model, tmp_path)
    one, two = ModelVersion.objects.filter(task_id=models.colours.id).order_by("version")
    html = web.get(f"/app/versions/{two.id}/?compare={one.id}").content.decode()
    assert "Version 1" in html and "Version 2" in html and html.count("Confusion matrix") == 2


def test_detection_and_similarity_versions_show_their_metrics(web, models) -> None:
    detector = ModelVersion.objects.get(task_id=models.shapes.id)
    html = web.get(f"/app/versions/{detector.id}/").content.decode()
    assert "mAP@0.5:0.95" in html and "rect" in html and "circle" in html
    embedder = ModelVersion.objects.get(task_id=models.items.id)
    assert "MAP@R" in web.get(f"/app/versions/{embedder.id}/").content.decode()


def test_a_regression_version_plots_predicted_against_true(web, alice, models) -> None:
    version = ModelVersion.objects.get(task_id=models.colours.id)
    models.colours.type = "regression"
    models.colours.save()
    version.metrics = {
        "mae": 0.1,
        "rmse": 0.2,
        "r2": 0.9,
        "baseline_mae": 0.5,
        "points": [[1.0, 1.1, "a"], [2.0, 1.9, "b"], [3.0, 3.2, "c"]],
    }
    version.save()
    html = web.get(f"/app/versions/{version.id}/").content.decode()
    assert html.count("<circle") == 3 and "true 2, predicted 1.9" in html and "Range 1.00 to 3.20" in html


def test_testing_a_categorizer_answers_its_labels(web, models) -> None:
    answer = web.post(f"/app/recognition/{models.colours.id}/test/", {"image": picture(colour_png("red"))})
    html = answer.content.decode()
    assert answer.status_code == 200 and "<strong data-best>red</strong>" in html and "Answer of version 1" in html


def test_testing_stores_the_image_when_asked(web, models) -> None:
    web.post(f"/app/recognition/{models.colours.id}/test/", {"image": picture(colour_png("blue")), "store": "on"})
    assert TrainingImage.objects.count() == 1


def test_testing_a_detector_draws_its_boxes(web, models) -> None:
    image, boxes = shapes_image(np.random.default_rng(11), objects=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    html = web.post(f"/app/detection/{models.shapes.id}/test/", {"image": picture(buffer.getvalue())}).content.decode()
    assert f"<strong data-count>{html.count('<rect')}</strong>" in html and html.count("<rect") >= 1
    assert 'viewBox="0 0 160 160"' in html


def test_testing_an_embedder_finds_the_nearest_training_images(web, alice, models) -> None:
    kind = SimilarityType.objects.create(workspace=alice.workspace, name="item")
    models.items.types.add(kind)
    for item in range(3):
        group = SimilarityGroup.objects.create(workspace=alice.workspace, type=kind, name=f"item {item}")
        for view in range(2):
            answer = alice.client.post(
                "/recognition/v2/training-image", {"base64": item_view_base64(item, view)}, format="json"
            ).json()
            group.images.add(answer["id"])
    query = base64.b64decode(item_view_base64(1, 3))
    html = web.post(f"/app/similarity/{models.items.id}/test/", {"image": picture(query)}).content.decode()
    assert html.count('class="thumb"') == 6 and html.index("item 1") < html.index("item 0")


def test_a_bad_image_or_an_untrained_task_answers_a_message(web, alice, models) -> None:
    bad = web.post(
        f"/app/recognition/{models.colours.id}/test/",
        {"image": SimpleUploadedFile("x.png", b"nope", content_type="image/png")},
    )
    assert bad.status_code == 400 and "Unrecognised or corrupt image data" in bad.content.decode()
    missing = web.post(f"/app/recognition/{models.colours.id}/test/", {"version": "7", "image": picture(image_bytes())})
    assert missing.status_code == 400 and "Version 7 of this task does not exist." in missing.content.decode()
    assert "Drop an image or give its URL." in web.post(f"/app/recognition/{models.colours.id}/test/").content.decode()
