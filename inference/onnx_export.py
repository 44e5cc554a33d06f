"""Export a torch image model to ONNX and check the file against it: one way for training and serving.

Training publishes every artifact through it; serving exports the ready-to-use models with it once per
host (`inference.tagging`). torch is imported by the caller, never by the modules that only serve.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

# 17 rather than the exporter's newer default, so older onnxruntime builds can serve the file too
ONNX_OPSET = 17
ONNX_TOLERANCE = 1e-3


def export_onnx(model: nn.Module, path: Path, image_size: int) -> None:
    """Export with the TorchScript exporter: input "input" (N, 3, S, S) with a dynamic batch, output "output"."""
    example = torch.zeros(2, 3, image_size, image_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter announces its own deprecation
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def verify_onnx(model: nn.Module, path: Path, inputs: np.ndarray) -> None:
    """Raise RuntimeError unless the ONNX file reproduces the torch model's outputs on `inputs`."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (exported,) = session.run(["output"], {"input": inputs})
    with torch.inference_mode():
        expected = model(torch.from_numpy(inputs)).numpy()
    difference = float(np.abs(exported - expected).max()) if expected.size else 0.0
    if difference > ONNX_TOLERANCE * max(1.0, float(np.abs(expected).max(initial=0.0))):
        raise RuntimeError(f"The ONNX export differs from the torch model by {difference:.2e}")
