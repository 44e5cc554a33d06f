"""onnxruntime's execution providers: CPU only unless asked for; those asked for reach the session, in order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from inference import onnx as sessions


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ONNX model that returns its input."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
    )
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), path)
    return path


@pytest.fixture
def offered(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """onnxruntime-gpu's providers on offer; each session's providers recorded, then opened on the CPU here."""
    asked: list[list[str]] = []
    real = ort.InferenceSession

    def recorded(path: str, options: ort.SessionOptions, providers: list[str]) -> ort.InferenceSession:
        asked.append(list(providers))
        return real(path, options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(
        sessions.ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(sessions.ort, "InferenceSession", recorded)
    return asked


def test_a_session_runs_on_the_cpu_alone_by_default(model: Path) -> None:
    session = sessions.open_session(model, num_threads=1)
    assert session.get_providers() == ["CPUExecutionProvider"]
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    assert session.run(None, {"x": x})[0].tolist() == x.tolist()


def test_the_cuda_provider_is_not_taken_unasked_even_where_it_is_offered(model: Path, offered: list) -> None:
    sessions.open_session(model)
    assert offered == [["CPUExecutionProvider"]]


def test_the_chosen_providers_reach_the_session_in_order(model: Path, offered: list) -> None:
    sessions.open_session(model, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    sessions.open_session(model, providers=("CPUExecutionProvider",))
    assert offered == [["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]]


def test_the_named_providers_must_all_be_in_this_onnxruntime() -> None:
    available = ort.get_available_providers()
    assert sessions.check_providers(available[::-1]) == tuple(available[::-1])


@pytest.mark.parametrize("providers", [["CUDAExecutionProvider", "CPUExecutionProvider"], ["cuda"], []])
def test_a_provider_this_onnxruntime_lacks_is_refused_naming_those_it_has(
    model: Path, monkeypatch: pytest.MonkeyPatch, providers: list
) -> None:
    monkeypatch.setattr(
        sessions.ort, "get_available_providers", lambda: ["AzureExecutionProvider", "CPUExecutionProvider"]
    )
    with pytest.raises(ValueError, match="INFERENCE_PROVIDERS names") as refused:
        sessions.open_session(model, providers=providers)
    message = str(refused.value)
    assert "it has: AzureExecutionProvider, CPUExecutionProvider" in message
    assert (providers[0] if providers else "no provider") in message and "onnxruntime-gpu" in message
