"""Write a trained model as a self-contained artifact directory, published by one atomic rename."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inference.onnx_export import export_onnx, verify_onnx
from inference.preprocess import IMAGENET_MEAN, IMAGENET_STD

FORMAT_VERSION = 1


def staging_dir(out_dir: Path) -> Path:
    """Where an artifact is written before it is renamed to `out_dir`."""
    return out_dir.with_name(out_dir.name + ".part")


def squash_preprocessing(image_size: int) -> dict[str, Any]:
    """How a classifier or embedder's input is made: squashed to a square, ImageNet-normalised."""
    return {"image_size": image_size, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "resize": "squash"}


def free_out_dir(out_dir: str | Path) -> Path:
    """`out_dir` as a Path, checked before any training work: an artifact is never overwritten.

    Raises:
        FileExistsError: `out_dir` already exists.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} already exists")
    return out_dir


def write_artifact(model: nn.Module, manifest: dict[str, Any], out_dir: Path, check_inputs: np.ndarray) -> None:
    """Write model.pt, model.onnx and manifest.json, published as `out_dir` (see `publish`).

    The ONNX file is checked against the torch model on `check_inputs` (normalised float32
    (N, 3, S, S)) before it is published.

    Raises:
        FileExistsError: `out_dir` already exists.
        RuntimeError: The ONNX model does not reproduce the torch outputs.
    """

    def fill(staging: Path) -> None:
        cpu_model = model.cpu().eval()
        torch.save(cpu_model.state_dict(), staging / "model.pt")
        export_onnx(cpu_model, staging / "model.onnx", int(manifest["preprocessing"]["image_size"]))
        verify_onnx(cpu_model, staging / "model.onnx", check_inputs)

    publish(fill, manifest, out_dir)


def publish_files(files: dict[str, Path], manifest: dict[str, Any], out_dir: Path) -> None:
    """Copy `files` (artifact name -> source) and manifest.json, published as `out_dir` (see `publish`).

    Raises:
        FileExistsError: `out_dir` already exists.
    """

    def fill(staging: Path) -> None:
        for name, source in files.items():
            shutil.copyfile(source, staging / name)

    publish(fill, manifest, out_dir)


def publish(fill: Callable[[Path], None], manifest: dict[str, Any], out_dir: Path) -> None:
    """Let `fill` write the model files into `<out_dir>.part`, add manifest.json, then rename it to `out_dir`.

    Readers see either no artifact or a complete one; a failure removes the staging directory.
    """
    free_out_dir(out_dir)
    staging = staging_dir(out_dir)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        fill(staging)
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=False))
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
