"""A model.pt whose unpickling would run code is refused by every path that loads one, before it runs."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
import torch
from PIL import Image

from inference.detection import DetectionPredictor
from inference.manifest import IncompatibleArtifact
from inference.yolo_torch import TorchDetector, prepare_ultralytics

pytestmark = pytest.mark.usefixtures("restore_torch_threads")


class Payload:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def malicious_checkpoint(path: Path, marker: Path) -> Path:
    """What an ultralytics checkpoint looks like from outside (a torch.save zip of a dict), with a payload."""
    torch.save({"model": Payload(marker), "train_args": {}}, path)
    return path


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


def test_the_payload_really_runs_under_plain_pickle(tmp_path: Path, marker: Path) -> None:
    torch.load(malicious_checkpoint(tmp_path / "model.pt", marker), weights_only=False)
    assert marker.exists()  # so that the tests below can fail


def test_the_torch_detector_refuses_a_malicious_checkpoint(tmp_path: Path, marker: Path) -> None:
    prepare_ultralytics(tmp_path / "ultralytics")
    with pytest.raises(TypeError, match="outside the supported"):
        TorchDetector(malicious_checkpoint(tmp_path / "model.pt", marker), 64, ["a"])
    assert not marker.exists()


def test_a_detection_artifact_with_a_malicious_checkpoint_is_incompatible(tmp_path: Path, marker: Path) -> None:
    manifest = {"format_version": 1, "task_type": "detection", "labels": ["a"], "preprocessing": {"image_size": 64}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    malicious_checkpoint(tmp_path / "model.pt", marker)  # and no model.onnx: the torch fallback loads it
    with pytest.raises(IncompatibleArtifact, match="model.pt"):
        DetectionPredictor(tmp_path)
    assert not marker.exists()


def test_training_refuses_malicious_local_weights(tmp_path: Path, marker: Path) -> None:
    from tests.detection_shapes import LABELS, shapes_samples
    from training.detection import train_detector
    from training.spec import DetectionSpec

    weights = tmp_path / "weights"
    weights.mkdir()
    malicious_checkpoint(weights / "yolov8n.pt", marker)
    spec = DetectionSpec(
        labels=LABELS,
        arch="yolov8n",
        image_size=64,
        epochs=1,
        batch_size=4,
        num_threads=1,
        device="cpu",
        weights_dir=str(weights),
        work_dir=str(tmp_path / "work"),
    )
    with pytest.raises(TypeError, match="outside the supported"):
        train_detector(spec, shapes_samples(tmp_path / "images", 8), tmp_path / "model")
    assert not marker.exists() and not (tmp_path / "model").exists()


def test_a_genuine_ultralytics_checkpoint_still_loads_and_predicts(tmp_path: Path) -> None:
    prepare_ultralytics(tmp_path / "ultralytics")
    from ultralytics import YOLO

    YOLO("yolov8n.yaml").save(tmp_path / "model.pt")  # the shape of a trained one, with random weights
    detector = TorchDetector(tmp_path / "model.pt", 64, [str(i) for i in range(80)])
    assert len(detector.predict([Image.new("RGB", (80, 60))], keep_prob=0.9, iou=0.7)) == 1
