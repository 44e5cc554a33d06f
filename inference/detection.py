"""Serve a detection artifact (a YOLO model) through onnxruntime, with ultralytics as the fallback.

The ONNX model takes letterboxed RGB images scaled to 0..1, (N, 3, S, S), and returns
(N, 4 + classes, anchors): box centre, width and height in input pixels, then a score per
class. Decoding, class-wise NMS and the mapping back to image pixels happen here in numpy,
the way ultralytics does them, so this path needs neither torch nor ultralytics.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image

from inference.manifest import IncompatibleArtifact, ServedArtifact, read_manifest
from inference.onnx import open_session
from inference.preprocess import letterbox

IOU_THRESHOLD = 0.7  # ultralytics' default for predict
MAX_CANDIDATES, MAX_DETECTIONS = 30_000, 300
CLASS_OFFSET = 7680.0  # shifts each class's boxes apart, so one NMS pass never merges two classes
BATCH = 16


class DetectionPredictor(ServedArtifact):
    """One loaded detector; build it once per artifact (see `inference.cache.ModelCache`) and share it."""

    def __init__(
        self, artifact_dir: str | Path, *, num_threads: int | None = None, providers: Sequence[str] | None = None
    ) -> None:
        """Read the manifest and open model.onnx, or model.pt through ultralytics when ONNX cannot load.

        Args:
            artifact_dir: A directory written by `training.detection.train_detector`.
            num_threads: onnxruntime intra-op threads; None lets onnxruntime use every core.
            providers: onnxruntime execution providers in order of preference; None: CPU only.

        Raises:
            IncompatibleArtifact: No readable manifest, another format or task type, or no model
                that either runtime can load.
        """
        directory = Path(artifact_dir)
        self.manifest: dict[str, Any] = _read_manifest(directory)
        self.session: ort.InferenceSession | None = None
        self.fallback: Any = None
        try:
            self.session = open_session(directory / "model.onnx", num_threads, providers)
        except IncompatibleArtifact as error:
            self.fallback = _torch_fallback(directory, self.manifest, error)
            return
        batch = self.session.get_inputs()[0].shape[0]
        self.batched = not isinstance(batch, int)  # a named or unknown axis: the export has a dynamic batch

    def predict(self, images: Sequence[Image.Image], keep_prob: float = 0.25) -> list[list[dict[str, Any]]]:
        """Detect objects on each image.

        Args:
            images: Any size or mode; boxes come back in each image's own pixels.
            keep_prob: The lowest class probability kept.

        Returns:
            Per image, `{"label", "prob", "bound_box": [xmin, ymin, xmax, ymax]}` (integer pixels),
            most probable first.
        """
        if not images:
            return []
        if self.session is None:
            return self.fallback.predict(images, keep_prob, IOU_THRESHOLD)
        boxed = [letterbox(image, self.image_size) for image in images]
        batch = np.ascontiguousarray(np.stack([canvas for canvas, *_ in boxed]).transpose(0, 3, 1, 2), dtype=np.float32)
        batch /= 255.0
        step = BATCH if self.batched else 1
        name = self.session.get_inputs()[0].name
        outputs = np.concatenate(
            [self.session.run(None, {name: batch[i : i + step]})[0] for i in range(0, len(batch), step)]
        )
        return [
            self._detections(output, image.size, placement, keep_prob)
            for output, image, (_, *placement) in zip(outputs, images, boxed, strict=True)
        ]

    def _detections(
        self, output: np.ndarray, size: tuple[int, int], placement: Sequence[float], keep_prob: float
    ) -> list[dict[str, Any]]:
        """Decoded boxes moved from the letterboxed square back to the image, clipped to it."""
        boxes, probs, classes = decode(output, keep_prob)
        gain_x, gain_y, left, top = placement
        boxes = (boxes - [left, top, left, top]) / [gain_x, gain_y, gain_x, gain_y]
        boxes = np.clip(boxes, 0, [size[0], size[1], size[0], size[1]])
        labels = self.labels
        return [
            {"label": labels[c], "prob": float(p), "bound_box": [int(round(v)) for v in box]}
            for box, p, c in zip(boxes.tolist(), probs, classes, strict=True)
        ]


def decode(
    output: np.ndarray, keep_prob: float, iou: float = IOU_THRESHOLD
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's raw output (4 + classes, anchors) to boxes (K, 4) xyxy, probs (K,) and classes (K,), best first."""
    scores = output[4:].T
    classes = scores.argmax(axis=1)
    probs = scores[np.arange(len(scores)), classes]
    keep = np.flatnonzero(probs >= keep_prob)
    keep = keep[np.argsort(-probs[keep], kind="stable")][:MAX_CANDIDATES]
    cx, cy, w, h = output[:4, keep]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    chosen = nms(boxes + (classes[keep] * CLASS_OFFSET)[:, None], iou)[:MAX_DETECTIONS]
    return boxes[chosen], probs[keep][chosen], classes[keep][chosen]


def nms(boxes: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression over boxes sorted best first; the indices kept, in that order."""
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0) * (y1 - y0)
    order, kept = np.arange(len(boxes)), []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(best)
        inter = np.clip(np.minimum(x1[best], x1[rest]) - np.maximum(x0[best], x0[rest]), 0, None) * np.clip(
            np.minimum(y1[best], y1[rest]) - np.maximum(y0[best], y0[rest]), 0, None
        )
        order = rest[inter / (areas[best] + areas[rest] - inter + 1e-9) <= iou]
    return np.asarray(kept, dtype=np.intp)


def _torch_fallback(directory: Path, manifest: dict[str, Any], error: IncompatibleArtifact) -> Any:
    weights = directory / "model.pt"
    if not weights.is_file():
        raise error
    try:
        from inference.yolo_torch import TorchDetector

        return TorchDetector(weights, int(manifest["preprocessing"]["image_size"]), manifest["labels"])
    except Exception as fallback_error:  # ultralytics missing, or a checkpoint it cannot read
        raise IncompatibleArtifact(f"Neither model.onnx ({error}) nor model.pt ({fallback_error}) loads") from error


def _read_manifest(directory: Path) -> dict[str, Any]:
    manifest = read_manifest(directory, {"detection"}, "a detection model")
    if not isinstance(manifest.get("labels"), list):
        raise IncompatibleArtifact("The manifest lacks labels")
    return manifest
