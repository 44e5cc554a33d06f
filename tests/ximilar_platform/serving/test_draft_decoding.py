"""Big JPEGs that are only predicted on decode at a reduced scale; answers stay in full-size pixels."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.detection_shapes import shapes_image
from tests.ximilar_platform.flows import conftest as flows
from ximilar_platform.detection.models import DetectionLabel, DetectionTask
from ximilar_platform.recognition.models import Label, Task
from ximilar_platform.serving import predictors

colour_model = flows.colour_model  # the flow tests' red-vs-blue classifier (32 px input), a session fixture
RED, register = flows.RED, flows.register


def jpeg_base64(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The size of every image the served models are given."""
    sizes: list[tuple[int, int]] = []
    load = predictors.predictor_for

    class Spy:
        def __init__(self, model: Any) -> None:
            self.model = model

        def predict(self, images: Sequence[Image.Image], **options: Any) -> Any:
            sizes.extend(image.size for image in images)
            return self.model.predict(images, **options)

    monkeypatch.setattr(predictors, "predictor_for", lambda version: Spy(load(version)))
    return sizes


def red_photo(width: int, height: int) -> Image.Image:
    """A large noisy photo dominated by red, like the colour model's training images but 75x bigger."""
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 90, (height // 8, width // 8, 3), dtype=np.uint8)
    pixels[:, :, 0] = rng.integers(150, 256, (height // 8, width // 8), dtype=np.uint8)
    return Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR)


def test_a_big_jpeg_is_classified_alike_when_decoded_smaller(
    alice, colour_model, tmp_path, settings, seen: list
) -> None:
    colours = Task.objects.create(workspace=alice.workspace, name="colours")
    colours.labels.add(Label.objects.create(id=RED, workspace=alice.workspace, name="red"))
    register(colours, "recognition", colour_model, tmp_path)
    body = {"task_id": str(colours.id), "records": [{"_base64": jpeg_base64(red_photo(2400, 1800))}]}
    answers = {}
    for side in (0, 256):  # 0: full size; 256 (the model's input is 32 px): libjpeg's 1/4 scale
        settings.PREDICT_DECODE_MIN_SIDE = side
        answers[side] = alice.client.post("/recognition/v2/classify", body, format="json").json()["records"][0]
    assert seen == [(2400, 1800), (600, 450)]
    full, drafted = answers[0], answers[256]
    assert drafted["best_label"]["name"] == full["best_label"]["name"] == "red"
    assert abs(drafted["best_label"]["prob"] - full["best_label"]["prob"]) < 0.02
    assert (drafted["_width"], drafted["_height"]) == (full["_width"], full["_height"]) == (2400, 1800)


def test_store_images_decodes_at_full_size(alice, colour_model, tmp_path, settings, seen: list) -> None:
    colours = Task.objects.create(workspace=alice.workspace, name="colours")
    register(colours, "recognition", colour_model, tmp_path)
    settings.PREDICT_DECODE_MIN_SIDE, settings.TRAINING_IMAGE_MAX_SIDE = 256, 4096
    records = [{"_base64": jpeg_base64(red_photo(2400, 1800))}]
    body = {"task_id": str(colours.id), "records": records, "store_images": True}
    answer = alice.client.post("/recognition/v2/classify", body, format="json").json()["records"][0]
    assert seen == [(2400, 1800)]
    stored = alice.client.get(f"/recognition/v2/training-image/{answer['_stored_image_id']}").json()
    assert (stored["img_width"], stored["img_height"]) == (2400, 1800)


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_boxes_on_a_jpeg_decoded_smaller_are_in_its_full_size_pixels(
    alice, shapes_detector, tmp_path, settings, seen: list
) -> None:
    shapes = DetectionTask.objects.create(workspace=alice.workspace, name="shapes")
    labels = [DetectionLabel.objects.create(workspace=alice.workspace, name=name) for name in ("rect", "circle")]
    shapes.labels.add(*labels)
    register(shapes, "detection", shapes_detector[0], tmp_path, labels=[str(label.id) for label in labels])
    rng = np.random.default_rng(11)
    drawn = [shapes_image(rng, 200, 150, objects=1) for _ in range(4)]  # shown 8x bigger: 1600x1200
    records = [{"_base64": jpeg_base64(image.resize((1600, 1200), Image.Resampling.NEAREST))} for image, _ in drawn]
    body = {"task_id": str(shapes.id), "records": records, "keep_prob": 0.1}
    answers = {}
    for side in (0, 100):  # 0: full size; 100 (the detector's input is 160 px: 2x that is 320): 1/2 scale
        settings.PREDICT_DECODE_MIN_SIDE = side
        answers[side] = alice.client.post("/detection/v2/detect", body, format="json").json()["records"]
    assert seen == [(1600, 1200)] * 4 + [(800, 600)] * 4
    names = {str(label.id): label.name for label in labels}
    for (_, (truth,)), full, drafted in zip(drawn, answers[0], answers[100], strict=True):
        assert (drafted["_width"], drafted["_height"]) == (1600, 1200)
        actual = [8 * truth.xmin, 8 * truth.ymin, 8 * truth.xmax, 8 * truth.ymax]
        best_full, best_drafted = full["_objects"][0], drafted["_objects"][0]
        assert names[best_drafted["id"]] == names[best_full["id"]] == truth.label
        assert iou(best_drafted["bound_box"], actual) >= 0.6 and iou(best_full["bound_box"], actual) >= 0.6
        assert iou(best_drafted["bound_box"], best_full["bound_box"]) >= 0.95
