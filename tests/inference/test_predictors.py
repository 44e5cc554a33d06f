"""`load_predictor` picks the predictor registered for the manifest's task type and architecture."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from inference import predictors
from inference.manifest import FORMAT_VERSION, IncompatibleArtifact


class Recorded:
    def __init__(self, name: str, directory: Path, num_threads: int | None, providers: Sequence[str] | None) -> None:
        self.name, self.directory, self.num_threads, self.providers = name, directory, num_threads, providers
        self.manifest: dict[str, Any] = {}

    def predict(self, images: list) -> list:
        return [self.name for _ in images]


@pytest.fixture
def registry(monkeypatch) -> dict:
    table: dict = {}
    monkeypatch.setattr(predictors, "REGISTRY", table)
    predictors.register("toy")(lambda *args: Recorded("any arch", *args))
    predictors.register("toy", arch="special")(lambda *args: Recorded("special", *args))
    return table


def artifact(folder: Path, **manifest: Any) -> Path:
    folder.mkdir()
    body = {"format_version": FORMAT_VERSION, "task_type": "toy", "arch": "plain", "preprocessing": {}, **manifest}
    (folder / "manifest.json").write_text(json.dumps(body))
    return folder


def test_the_arch_specific_predictor_wins_over_the_any_arch_one(registry, tmp_path: Path) -> None:
    special = predictors.load_predictor(
        artifact(tmp_path / "a", arch="special"), num_threads=2, providers=["CUDAExecutionProvider"]
    )
    plain = predictors.load_predictor(artifact(tmp_path / "b"))
    assert (special.name, special.num_threads, special.providers) == ("special", 2, ["CUDAExecutionProvider"])
    assert (plain.name, plain.providers) == ("any arch", None)
    assert plain.predict([1, 2]) == ["any arch", "any arch"] and plain.directory == tmp_path / "b"


@pytest.mark.parametrize("manifest", [{"task_type": "unknown"}, {"format_version": 99}, {"preprocessing": None}])
def test_artifacts_nothing_serves_are_refused(registry, tmp_path: Path, manifest: dict) -> None:
    with pytest.raises(IncompatibleArtifact):
        predictors.load_predictor(artifact(tmp_path / "a", **manifest))


def test_every_trained_task_type_has_a_predictor() -> None:
    served = {task_type for task_type, _ in predictors.REGISTRY}
    assert served == {"multi_class", "multi_label", "regression", "detection", "similarity"}
