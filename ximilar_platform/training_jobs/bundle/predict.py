"""Predict with a model downloaded from the service, without the service: onnxruntime, numpy and Pillow only.

    python predict.py photo.jpg [more.png ...]

prints one JSON line per image with what the service answers for that record (``_width``,
``_height`` and ``best_label``/``labels``, ``_objects`` or ``_descriptor``). Decoding and
preprocessing repeat the service's own (its ``inference.images`` and ``inference.preprocess``), so
the numbers match.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
IOU_THRESHOLD, MAX_CANDIDATES, MAX_DETECTIONS = 0.7, 30_000, 300
CLASS_OFFSET = 7680.0  # shifts each class's boxes apart, so one NMS pass never merges two classes
LETTERBOX_PAD = 114
BATCH = 16  # images per detector run, as the service batches them


def load(path: str, draft_side: int | None) -> tuple[Image.Image, tuple[int, int]]:
    """An RGB, EXIF-oriented image and its full size; big JPEGs decode at a reduced scale, as the service does."""
    image = Image.open(path)
    full_size = image.size
    if image.format in ("JPEG", "MPO") and draft_side:
        image.draft("RGB", (draft_side, draft_side))
    image.load()
    orientation = image.getexif().get(0x0112, 1)
    rgb = to_rgb(ImageOps.exif_transpose(image) if orientation in range(2, 9) else image)
    if image.size == full_size:
        return rgb, rgb.size
    return rgb, full_size[::-1] if orientation in range(5, 9) else full_size


def to_rgb(image: Image.Image) -> Image.Image:
    """Any mode to RGB; transparency on white, 16-bit and float images scaled into 0..255."""
    if image.mode == "P" or (image.mode in ("RGB", "L", "1") and "transparency" in image.info):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode.startswith("I") or image.mode == "F":
        if image.mode.startswith("I;16"):
            return Image.fromarray(((np.asarray(image).astype(np.uint32) + 128) // 257).astype(np.uint8)).convert("RGB")
        values = np.nan_to_num(np.asarray(image, dtype=np.float32))
        if values.size and (values.min() < 0 or values.max() > 255) and np.ptp(values) > 0:
            values = (values - values.min()) * (255.0 / np.ptp(values))
        elif image.mode == "F" and values.size and values.max() <= 1.0:
            values = values * 255.0
        image = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def squashed_batch(images: list[Image.Image], manifest: dict[str, Any]) -> np.ndarray:
    """Squash to the input square (bilinear), scale to 0..1, normalise per channel: float32 (N, 3, S, S)."""
    side = manifest["preprocessing"]["image_size"]
    pixels = np.stack([np.asarray(image.resize((side, side), Image.Resampling.BILINEAR)) for image in images])
    scaled = pixels.astype(np.float32) / np.float32(255.0)
    mean = np.asarray(manifest["preprocessing"]["mean"], dtype=np.float32)
    std = np.asarray(manifest["preprocessing"]["std"], dtype=np.float32)
    return np.ascontiguousarray(((scaled - mean) / std).transpose(0, 3, 1, 2))


def classify(session: ort.InferenceSession, manifest: dict[str, Any], images: list[Image.Image]) -> list[dict]:
    (outputs,) = session.run(["output"], {"input": squashed_batch(images, manifest)})
    outputs = outputs.astype(np.float64)
    labels, names, task_type = manifest["labels"], manifest["label_names"], manifest["task_type"]
    if task_type == "regression":
        values = outputs * manifest["target"]["std"] + manifest["target"]["mean"]
        answers = []
        for row in values:
            entries = [
                {"value": round(float(v), 5), "name": n, "id": i} for v, n, i in zip(row, names, labels, strict=True)
            ]
            answers.append({"best_label": entries[0], "labels": entries})
        return answers
    if task_type == "multi_class":
        exp = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        probs = exp / exp.sum(axis=1, keepdims=True)
    else:
        probs = np.exp(-np.logaddexp(0.0, -outputs))  # sigmoid without overflow
    thresholds = manifest.get("thresholds", {})
    answers = []
    for row in probs:
        order = np.argsort(-row, kind="stable")
        entries = [{"prob": round(float(row[j]), 5), "name": names[j], "id": labels[j]} for j in order]
        if task_type == "multi_label":  # the tags that pass their threshold, best first
            shown = [entries[k] for k, j in enumerate(order) if row[j] >= thresholds.get(labels[j], 0.5)]
            answers.append({"best_label": entries[0] if entries else None, "labels": shown})
        else:
            answers.append({"best_label": entries[0], "labels": entries})
    return answers


def describe(session: ort.InferenceSession, manifest: dict[str, Any], images: list[Image.Image]) -> list[dict]:
    (outputs,) = session.run(["output"], {"input": squashed_batch(images, manifest)})
    outputs = outputs.astype(np.float32)
    outputs = outputs / np.maximum(np.linalg.norm(outputs, axis=1, keepdims=True), 1e-12)
    return [{"_descriptor": [round(float(value), 6) for value in row]} for row in outputs]


def letterbox(image: Image.Image, side: int) -> tuple[np.ndarray, float, float, int, int]:
    """Fit into the square keeping the aspect, centred on grey, resized as OpenCV's INTER_LINEAR (ultralytics)."""
    pixels = np.asarray(image)
    height, width = pixels.shape[:2]
    gain = min(side / height, side / width)
    new_w, new_h = max(round(width * gain), 1), max(round(height * gain), 1)
    left, top = round((side - new_w) / 2 - 0.1), round((side - new_h) / 2 - 0.1)
    canvas = np.full((side, side, 3), LETTERBOX_PAD, dtype=np.uint8)
    canvas[top : top + new_h, left : left + new_w] = bilinear(pixels, new_w, new_h)
    return canvas, new_w / width, new_h / height, left, top


def bilinear(pixels: np.ndarray, new_w: int, new_h: int) -> np.ndarray:
    if (new_h, new_w) == pixels.shape[:2]:
        return pixels
    y0, fy = taps(pixels.shape[0], new_h)
    x0, fx = taps(pixels.shape[1], new_w)
    y1, x1 = np.minimum(y0 + 1, pixels.shape[0] - 1), np.minimum(x0 + 1, pixels.shape[1] - 1)
    rows = pixels[y0].astype(np.float32) * (1 - fy)[:, None, None] + pixels[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def taps(size: int, new_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Source index and weight of each output pixel, with half-pixel centres and edge clamping."""
    source = (np.arange(new_size, dtype=np.float64) + 0.5) * (size / new_size) - 0.5
    first = np.floor(source)
    weight = (source - first).astype(np.float32)
    weight[(first < 0) | (first >= size - 1)] = 0
    return np.clip(first, 0, size - 1).astype(np.intp), weight


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


def decode(output: np.ndarray, keep_prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's raw output (4 + classes, anchors) to boxes xyxy, probs and classes, best first."""
    scores = output[4:].T
    classes = scores.argmax(axis=1)
    probs = scores[np.arange(len(scores)), classes]
    keep = np.flatnonzero(probs >= keep_prob)
    keep = keep[np.argsort(-probs[keep], kind="stable")][:MAX_CANDIDATES]
    cx, cy, w, h = output[:4, keep]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    chosen = nms(boxes + (classes[keep] * CLASS_OFFSET)[:, None], IOU_THRESHOLD)[:MAX_DETECTIONS]
    return boxes[chosen], probs[keep][chosen], classes[keep][chosen]


def detect(
    session: ort.InferenceSession,
    manifest: dict[str, Any],
    images: list[Image.Image],
    full_sizes: list[tuple[int, int]],
    keep_prob: float,
) -> list[dict]:
    boxed = [letterbox(image, manifest["preprocessing"]["image_size"]) for image in images]
    batch = np.ascontiguousarray(np.stack([canvas for canvas, *_ in boxed]).transpose(0, 3, 1, 2), dtype=np.float32)
    batch /= 255.0
    source = session.get_inputs()[0]
    step = 1 if isinstance(source.shape[0], int) else BATCH  # a fixed batch axis takes one image a run
    outputs = np.concatenate(
        [session.run(None, {source.name: batch[i : i + step]})[0] for i in range(0, len(batch), step)]
    )
    answers = []
    for output, image, full_size, (_, gain_x, gain_y, left, top) in zip(
        outputs, images, full_sizes, boxed, strict=True
    ):
        boxes, probs, classes = decode(output, keep_prob)
        boxes = (boxes - [left, top, left, top]) / [gain_x, gain_y, gain_x, gain_y]
        boxes = np.clip(boxes, 0, [image.width, image.height, image.width, image.height])
        width, height = full_size
        sx, sy = width / image.width, height / image.height
        objects = []
        for box, prob, label in zip(boxes.tolist(), probs, classes, strict=True):
            xmin, ymin, xmax, ymax = (int(round(v)) * s for v, s in zip(box, (sx, sy, sx, sy), strict=True))
            objects.append(
                {
                    "name": manifest["label_names"][label],
                    "id": manifest["labels"][label],
                    "bound_box": [round(xmin), round(ymin), round(xmax), round(ymax)],
                    "prob": round(float(prob), 5),
                    "area": round((xmax - xmin) * (ymax - ymin) / (float(width * height) or 1.0), 5),
                }
            )
        answers.append({"_objects": objects})
    return answers


def predict(paths: list[str], keep_prob: float | None = None) -> list[dict]:
    """What the service answers for each image, in order (``keep_prob``: detection only, else the service's)."""
    manifest = json.loads((HERE / "manifest.json").read_text())
    serving = manifest["serving"]
    draft = max(serving["decode_min_side"], 2 * manifest["preprocessing"]["image_size"])
    loaded = [load(path, draft if serving["decode_min_side"] > 0 else None) for path in paths]
    images, sizes = [image for image, _ in loaded], [size for _, size in loaded]
    session = ort.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])
    if manifest["task_type"] == "detection":
        found = detect(session, manifest, images, sizes, serving["keep_prob"] if keep_prob is None else keep_prob)
    elif manifest["task_type"] == "similarity":
        found = describe(session, manifest, images)
    else:
        found = classify(session, manifest, images)
    return [{"_width": width, "_height": height, **one} for (width, height), one in zip(sizes, found, strict=True)]


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for answer in predict(sys.argv[1:]):
        print(json.dumps(answer))
