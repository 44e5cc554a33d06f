"""A version as a zip that runs without this service: model.onnx, manifest.json, predict.py and README.md.

The zip is streamed: `zipfile` writes into a pipe that is emptied after every chunk of the model,
which is read from storage (S3 included) a chunk at a time, so no archive is built in memory.
The manifest gains what the artifact leaves to the database (label names) and to settings
(detection's ``keep_prob``, the JPEG draft side), so ``predict.py`` answers as the API does.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import StreamingHttpResponse
from django.utils.text import slugify
from rest_framework.exceptions import NotFound

from ximilar_platform.training_jobs.adapters import adapter_for
from ximilar_platform.training_jobs.models import ModelVersion

CHUNK = 1 << 20
PREDICT = Path(__file__).with_name("bundle") / "predict.py"
README = Path(__file__).with_name("bundle") / "README.md"
SNIPPETS = Path(__file__).with_name("bundle") / "snippets"  # the README's code, one per task type, run by the tests
SQUASH_NOTE = (
    "It decodes and preprocesses as the service does (see Preprocessing) for any 8-bit image; a 16-bit or"
    " float image the service scales into 0..255 first, as `predict.py`'s `to_rgb` does and the snippet does not."
)
SNIPPET_TEXTS = {  # task type: (what its snippet prints, a note on what it leaves to predict.py)
    "multi_class": ("one line per label: its name and probability, best first", SQUASH_NOTE),
    "multi_label": ("one line per tag that passes its threshold: its name and probability, best first", SQUASH_NOTE),
    "regression": ("one line per value: its name and the predicted value", SQUASH_NOTE),
    "similarity": ("the image's descriptor, L2-normalised, as a JSON list", SQUASH_NOTE),
    "detection": (
        "one line per object: its label's name, probability and box (`xmin ymin xmax ymax` in image pixels)",
        "It imports three helpers from `predict.py`, which must sit beside it: `load` (the service's decoding),"
        " `letterbox` (its resize, bilinear as OpenCV's, which Pillow's resize is not) and `decode` (the boxes"
        " over `serving.keep_prob`, merged by per-class non-maximum suppression), too long to repeat here.",
    ),
}


class _Pipe(io.RawIOBase):
    """A write-only, unseekable stream: zipfile then writes sizes after each entry, and `drain` takes the bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def zip_response(version: ModelVersion) -> StreamingHttpResponse:
    """The version's zip as an attachment named after the task and version."""
    task = adapter_for(version.task_kind).task_model.objects.filter(id=version.task_id).first()
    model = next((name for name in version.files if Path(name).name == "model.onnx"), None)
    if model is None:
        raise NotFound("This version has no ONNX model to download.")
    manifest = bundle_manifest(version, task)
    response = StreamingHttpResponse(zip_chunks(model, manifest), content_type="application/zip")
    name = f"{slugify(task.name if task else '') or 'model'}-v{version.version}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def bundle_manifest(version: ModelVersion, task: Any) -> dict[str, Any]:
    """The artifact's manifest with the label names in output order and how the service serves it."""
    manifest = dict(version.manifest)
    labels = [str(label) for label in manifest.get("labels", [])]
    names = label_names(task, labels)
    manifest["label_names"] = [names.get(label, label) for label in labels]
    # the paths the trainer ran with are the server's, not the downloader's
    manifest["spec"] = {key: value for key, value in manifest.get("spec", {}).items() if not key.endswith("_dir")}
    manifest["serving"] = {
        "task_id": str(version.task_id),
        "task_name": task.name if task else "",
        "version": version.version,
        "keep_prob": settings.DETECTION_KEEP_PROB,
        "decode_min_side": settings.PREDICT_DECODE_MIN_SIDE,
    }
    return manifest


def label_names(task: Any, ids: list[str]) -> dict[str, str]:
    """Label ids to the names predictions show (``output_name`` when set); similarity tasks have none."""
    related = getattr(task, "labels", None)
    if related is None or not ids:
        return {}
    return {str(label.id): label.public_name for label in related.model.objects.filter(id__in=ids)}


def zip_chunks(model: str, manifest: dict[str, Any]) -> Iterator[bytes]:
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as archive:
        big = default_storage.size(model) >= zipfile.ZIP64_LIMIT // 2  # deflate may grow it a little
        with default_storage.open(model, "rb") as source, archive.open("model.onnx", "w", force_zip64=big) as entry:
            while chunk := source.read(CHUNK):
                entry.write(chunk)
                yield pipe.drain()
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
        archive.writestr("predict.py", PREDICT.read_text())
        archive.writestr("README.md", readme(manifest))
    yield pipe.drain()


def readme(manifest: dict[str, Any]) -> str:
    """README.md of the zip: the bundle's template filled with this model's facts."""
    serving, preprocessing = manifest["serving"], manifest["preprocessing"]
    thresholds = manifest.get("thresholds", {})
    rows = [
        f"| {index} | {name} | `{label}` |" + (f" {thresholds[label]} |" if label in thresholds else "")
        for index, (label, name) in enumerate(zip(manifest.get("labels", []), manifest["label_names"], strict=True))
    ]
    prints, note = SNIPPET_TEXTS[manifest["task_type"]]
    scalars = {key: value for key, value in manifest.get("metrics", {}).items() if isinstance(value, (int, float))}
    facts = {
        "title": f"{serving['task_name'] or 'Model'}, version {serving['version']}",
        "task_type": manifest["task_type"],
        "arch": manifest.get("arch", ""),
        "image_size": preprocessing["image_size"],
        "resize": preprocessing.get("resize", "squash"),
        "labels": "\n".join(rows) or "| | (no labels: the model outputs a descriptor) | |",
        "threshold_header": " threshold |" if thresholds else "",
        "threshold_rule": "---|" if thresholds else "",
        "snippet": (SNIPPETS / f"{manifest['task_type']}.py").read_text(),
        "snippet_prints": prints,
        "snippet_note": note,
        "metrics": ", ".join(f"{key} {value:.4g}" for key, value in scalars.items()) or "none recorded",
    }
    return README.read_text().format(**facts)
