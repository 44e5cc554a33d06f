"""Open ONNX models the same way for every predictor."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from inference.manifest import IncompatibleArtifact


def open_session(path: str | Path, num_threads: int | None = None) -> ort.InferenceSession:
    """An onnxruntime session on CUDA when available, else CPU, with idle thread spinning off.

    Spinning pool threads would keep burning a core after each run, stealing it from the next
    request of another web worker (classify p50 went from 13.3 to 10.0 ms with spinning off).

    Args:
        num_threads: Intra-op threads; None lets onnxruntime use every core.

    Raises:
        IncompatibleArtifact: A missing or broken file (onnxruntime's own error in the message).
    """
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if num_threads:
        options.intra_op_num_threads = num_threads
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as error:  # onnxruntime raises its own exception types for missing or broken files
        raise IncompatibleArtifact(f"Cannot load {path}: {error}") from error
