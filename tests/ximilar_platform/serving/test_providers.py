"""INFERENCE_PROVIDERS: checked when a process starts, and handed to every onnxruntime session the service opens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import onnxruntime as ort
import pytest
from PIL import Image

import inference.descriptors
from inference import onnx as sessions
from ximilar_platform.collections import embedders
from ximilar_platform.ready_services import tagging
from ximilar_platform.serving import predictors

ROOT = Path(__file__).resolve().parents[3]
GPU = ["CUDAExecutionProvider", "CPUExecutionProvider"]


def start(providers: str) -> subprocess.CompletedProcess:
    """A process of the service starting up (Django's setup), with INFERENCE_PROVIDERS set."""
    code = "import django; django.setup(); from django.conf import settings; print(settings.INFERENCE_PROVIDERS)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ximilar_platform.settings", "INFERENCE_PROVIDERS": providers}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_process_refuses_to_start_on_a_provider_its_onnxruntime_lacks() -> None:
    started = start("NoSuchExecutionProvider,CPUExecutionProvider")
    assert started.returncode != 0
    assert "ImproperlyConfigured: INFERENCE_PROVIDERS names NoSuchExecutionProvider" in started.stderr
    assert f"it has: {', '.join(ort.get_available_providers())}" in started.stderr


def test_the_providers_are_kept_in_their_order_and_default_to_the_cpu() -> None:
    available = ort.get_available_providers()
    assert start(" , ".join(available[::-1])).stdout.strip() == str(available[::-1])
    assert start("").stdout.strip() == "['CPUExecutionProvider']"  # set but empty: the default


def test_the_tagger_session_gets_the_providers(settings, ready_models: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[str]] = []
    real = ort.InferenceSession

    def recorded(path: str, options: ort.SessionOptions, providers: list[str]) -> ort.InferenceSession:
        asked.append(list(providers))
        return real(path, options, providers=["CPUExecutionProvider"])  # no GPU here

    monkeypatch.setattr(sessions.ort, "get_available_providers", lambda: GPU)  # as onnxruntime-gpu offers them
    monkeypatch.setattr(sessions.ort, "InferenceSession", recorded)
    monkeypatch.setattr(tagging, "_tagger", None)
    settings.READY_MODELS_DIR, settings.INFERENCE_PROVIDERS = ready_models, GPU
    assert tagging.shared_tagger() is not None
    assert asked == [GPU]


def test_trained_models_and_the_generic_descriptor_get_the_providers(
    settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings.INFERENCE_PROVIDERS, settings.INFERENCE_THREADS = GPU, 1
    loaded: list[dict] = []

    def load_predictor(directory: Path, **options) -> SimpleNamespace:
        loaded.append(options)
        return SimpleNamespace()

    def shared_descriptor(cache_dir: Path, **options) -> SimpleNamespace:
        loaded.append(options)
        return SimpleNamespace(describe=lambda images: [[0.0] * inference.descriptors.DIMENSION for _ in images])

    version = SimpleNamespace(artifact="models/v1", files=["model.onnx"])
    monkeypatch.setattr(predictors, "ModelVersion", SimpleNamespace(objects=SimpleNamespace(get=lambda id: version)))
    monkeypatch.setattr(predictors.artifacts, "local_dir", lambda prefix, names: tmp_path)
    monkeypatch.setattr(predictors, "load_predictor", load_predictor)
    monkeypatch.setattr(inference.descriptors, "shared_descriptor", shared_descriptor)
    predictors._load("v1")
    predictors.generic_descriptors([Image.new("RGB", (8, 8))])
    embedders.embed_with(None, [Image.new("RGB", (8, 8))])
    assert loaded == [{"num_threads": 1, "providers": GPU}] * 3
