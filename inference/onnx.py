"""Open ONNX models the same way for every predictor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

from inference.manifest import IncompatibleArtifact

CPU = "CPUExecutionProvider"


def check_providers(providers: Sequence[str], setting: str = "INFERENCE_PROVIDERS") -> tuple[str, ...]:
    """The onnxruntime execution providers, in order of preference, if this onnxruntime has each one.

    The CUDA provider is in onnxruntime-gpu's wheel only (the CUDA image's, docker/Dockerfile), not in
    the plain onnxruntime the CPU image and a bare checkout install.

    Raises:
        ValueError: None named, or one this onnxruntime lacks (the message names ``setting`` and the
            providers it has).
    """
    names = tuple(providers)
    available = ort.get_available_providers()
    unknown = [name for name in names if name not in available]
    if not names or unknown:
        raise ValueError(
            f"{setting} names {', '.join(unknown) or 'no provider'}, which this onnxruntime "
            f"{ort.__version__} does not have; it has: {', '.join(available)} "
            "(CUDAExecutionProvider comes with the onnxruntime-gpu package)"
        )
    return names


def open_session(
    path: str | Path, num_threads: int | None = None, providers: Sequence[str] | None = None
) -> ort.InferenceSession:
    """An onnxruntime session on the given execution providers (CPU only by default), with idle
    thread spinning off.

    Spinning pool threads would keep burning a core after each run, stealing it from the next
    request of another web worker (classify p50 went from 13.3 to 10.0 ms with spinning off).

    Args:
        num_threads: Intra-op threads; None lets onnxruntime use every core.
        providers: onnxruntime execution providers in order of preference (each checked by
            `check_providers`, e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]``); None: CPU only.

    Raises:
        IncompatibleArtifact: A missing or broken file (onnxruntime's own error in the message).
        ValueError: A provider this onnxruntime does not have.
    """
    chosen = check_providers(providers) if providers is not None else (CPU,)
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if num_threads:
        options.intra_op_num_threads = num_threads
    try:
        return ort.InferenceSession(str(path), options, providers=list(chosen))
    except Exception as error:  # onnxruntime raises its own exception types for missing or broken files
        raise IncompatibleArtifact(f"Cannot load {path}: {error}") from error
