"""The artifact manifest every predictor reads first, and the error for artifacts it cannot serve."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1


class IncompatibleArtifact(Exception):
    """The directory is not an artifact this code can serve (missing files, other format or task type)."""


class ServedArtifact:
    """What every predictor reads from its artifact's manifest (set ``manifest`` in ``__init__``)."""

    manifest: dict[str, Any]

    @property
    def labels(self) -> list[str]:
        return list(self.manifest["labels"])

    @property
    def image_size(self) -> int:
        """The square input the model was trained, and is served, at."""
        return int(self.manifest["preprocessing"]["image_size"])

    @property
    def mean(self) -> list[float]:
        return list(self.manifest["preprocessing"]["mean"])

    @property
    def std(self) -> list[float]:
        return list(self.manifest["preprocessing"]["std"])


def read_manifest(directory: Path, task_types: Collection[str], served: str) -> dict[str, Any]:
    """manifest.json of an artifact of this format whose task type is one of `task_types`, with preprocessing.

    `served` names what the caller serves ("a detection model"), for the error message.

    Raises:
        IncompatibleArtifact: No readable JSON object, another format version, another task type,
            or no preprocessing.
    """
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise IncompatibleArtifact(f"No readable manifest.json in {directory}") from error
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise IncompatibleArtifact(f"Artifact format {version!r} is not supported (expected {FORMAT_VERSION})")
    if manifest.get("task_type") not in task_types:
        raise IncompatibleArtifact(f"Task type {manifest.get('task_type')!r} is not {served}")
    if not isinstance(manifest.get("preprocessing"), dict):
        raise IncompatibleArtifact("The manifest lacks preprocessing")
    return manifest
