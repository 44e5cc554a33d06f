"""The ONNX detector letterboxes, decodes and maps boxes back exactly as ultralytics does, with a torch fallback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from inference.detection import DetectionPredictor, nms
from inference.manifest import IncompatibleArtifact
from inference.preprocess import letterbox
from inference.yolo_torch import TorchDetector, prepare_ultralytics
from tests.detection_shapes import LABELS, shapes_image
from training.spec import TrainingResult

LOW = 0.01  # keep many boxes, weak ones too, to compare


@pytest.fixture(scope="module")
def artifact(shapes_detector: tuple[TrainingResult, float]) -> Path:
    """A detector that has learned the shapes: an untrained one predicts only image-sized boxes."""
    return Path(shapes_detector[0].artifact_dir)


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    """A square image of the training size, and wide and tall ones of other sizes."""
    rng = np.random.default_rng(3)
    return [shapes_image(rng, w, h)[0] for w, h in ((160, 160), (320, 200), (90, 250))]


def matches(found: dict[str, Any], candidates: list[dict[str, Any]], *, pixels: float = 2, prob: float = 0.01) -> bool:
    return any(
        c["label"] == found["label"]
        and abs(c["prob"] - found["prob"]) <= prob
        and np.abs(np.subtract(c["bound_box"], found["bound_box"])).max() <= pixels
        for c in candidates
    )


def test_onnx_and_the_ultralytics_torch_model_find_the_same_boxes(artifact: Path, images: list[Image.Image]) -> None:
    onnx = DetectionPredictor(artifact, num_threads=1).predict(images, keep_prob=LOW)
    torch_model = TorchDetector(artifact / "model.pt", 160, LABELS).predict(images, LOW, 0.7)
    for ours, theirs in zip(onnx, torch_model, strict=True):
        clear = [f for f in theirs if f["prob"] >= 2 * LOW]  # away from the threshold, where either may drop a box
        assert len(clear) >= 1 and all(matches(found, ours) for found in clear)  # a sure detector finds few weak ones
        assert all(matches(found, theirs) for found in ours if found["prob"] >= 2 * LOW)


def test_boxes_are_in_the_pixels_of_each_input_image(artifact: Path, images: list[Image.Image]) -> None:
    predictor = DetectionPredictor(artifact, num_threads=1)
    wide = images[1]  # letterboxed at half size; its 2x copy at quarter size gives the very same network input
    doubled = wide.resize((wide.width * 2, wide.height * 2), Image.Resampling.NEAREST)
    small, large = predictor.predict([wide, doubled], keep_prob=LOW)
    for image, found in ((wide, small), (doubled, large)):
        boxes = np.array([f["bound_box"] for f in found])
        assert (boxes >= 0).all() and (boxes[:, [0, 2]] <= image.width).all()
        assert (boxes[:, [1, 3]] <= image.height).all()
    scaled = [{**f, "bound_box": [2 * v for v in f["bound_box"]]} for f in small[:10]]
    assert len(scaled) >= 2 and all(matches(f, large, pixels=2, prob=1e-4) for f in scaled)
    assert [f["prob"] for f in small] == sorted((f["prob"] for f in small), reverse=True)
    assert {f["label"] for f in small} <= set(LABELS) and all(isinstance(v, int) for v in small[0]["bound_box"])


def test_the_served_detector_finds_drawn_shapes_on_images_of_another_size(artifact: Path) -> None:
    rng = np.random.default_rng(11)
    drawn = [shapes_image(rng, 240, 180, objects=1) for _ in range(10)]
    predictions = DetectionPredictor(artifact, num_threads=1).predict([image for image, _ in drawn])
    hits = 0
    for (_, (truth,)), found in zip(drawn, predictions, strict=True):
        best = found[0] if found else {"label": None, "bound_box": [0, 0, 0, 0]}
        hits += (
            best["label"] == truth.label
            and iou(best["bound_box"], [truth.xmin, truth.ymin, truth.xmax, truth.ymax]) >= 0.5
        )
    assert hits >= 7


def iou(a: list[float], b: list[float]) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_keep_prob_filters_detections(artifact: Path, images: list[Image.Image]) -> None:
    predictor = DetectionPredictor(artifact, num_threads=1)
    everything = predictor.predict(images[:1], keep_prob=LOW)[0]
    threshold = everything[len(everything) // 2]["prob"]
    kept = predictor.predict(images[:1], keep_prob=threshold)[0]
    assert 0 < len(kept) < len(everything) and all(f["prob"] >= threshold for f in kept)
    assert predictor.predict([]) == []


def test_a_missing_onnx_file_falls_back_to_the_torch_model(
    artifact: Path, images: list[Image.Image], tmp_path: Path
) -> None:
    copy = shutil.copytree(artifact, tmp_path / "copy")
    (copy / "model.onnx").unlink()
    predictor = DetectionPredictor(copy)
    assert predictor.session is None
    fallback = predictor.predict(images, keep_prob=LOW)
    onnx = DetectionPredictor(artifact, num_threads=1).predict(images, keep_prob=LOW)
    assert all(len(found) >= 1 for found in fallback) and sum(map(len, fallback)) >= 5
    assert all(
        matches(found, ours)
        for theirs, ours in zip(fallback, onnx, strict=True)
        for found in theirs
        if found["prob"] >= 2 * LOW
    )
    (copy / "model.pt").unlink()
    with pytest.raises(IncompatibleArtifact, match="model.onnx"):
        DetectionPredictor(copy)


def test_other_task_types_and_formats_are_refused(artifact: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(artifact, tmp_path / "copy")
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(manifest | {"task_type": "multi_class"}))
    with pytest.raises(IncompatibleArtifact, match="multi_class"):
        DetectionPredictor(copy)
    (copy / "manifest.json").write_text(json.dumps(manifest | {"format_version": 2}))
    with pytest.raises(IncompatibleArtifact, match="format"):
        DetectionPredictor(copy)


def test_letterbox_centres_the_image_on_grey_like_ultralytics() -> None:
    image = Image.fromarray(np.full((50, 100, 3), 200, dtype=np.uint8))
    canvas, gain_x, gain_y, left, top = letterbox(image, 64)
    assert canvas.shape == (64, 64, 3) and (gain_x, gain_y, left, top) == (0.64, 0.64, 0, 16)
    assert (canvas[:16] == 114).all() and (canvas[16:48] == 200).all() and (canvas[48:] == 114).all()
    prepare_ultralytics()
    from ultralytics.data.augment import LetterBox

    photo = shapes_image(np.random.default_rng(5), 300, 200)[0]
    theirs = LetterBox(160, auto=False)(image=np.asarray(photo)[:, :, ::-1].copy())[:, :, ::-1]
    assert np.abs(letterbox(photo, 160)[0].astype(int) - theirs).max() <= 1


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 9]], dtype=np.float32)
    assert nms(boxes, 0.7).tolist() == [0, 2]
    assert nms(boxes, 0.95).tolist() == [0, 1, 2, 3]


def test_ultralytics_leaves_pillow_and_the_decoder_alone() -> None:
    from inference.images import ImageLimits, InvalidImage, decode_bytes
    from inference.yolo_torch import prepare_ultralytics

    prepare_ultralytics()
    from ultralytics import YOLO  # noqa: F401  (imports the module that patches PIL)

    assert Image.open.__module__ == "PIL.Image"
    with pytest.raises(InvalidImage, match="Unrecognised or corrupt image data"):
        decode_bytes(b"\x00\x01not an image at all" * 10, ImageLimits(max_bytes=10_000, max_pixels=10_000))
