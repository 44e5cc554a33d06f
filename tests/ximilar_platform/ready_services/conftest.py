"""Images of known colours for the ready-to-use services, and the session's exported tagger."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


@pytest.fixture(autouse=True)
def ready_models_dir(settings, ready_models: Path) -> Path:
    settings.READY_MODELS_DIR = ready_models
    return ready_models


def png_base64(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def red_and_blue() -> str:
    """70 % pure red on the left, 30 % pure blue on the right."""
    pixels = np.zeros((80, 200, 3), dtype=np.uint8)
    pixels[:, :140], pixels[:, 140:] = RED, BLUE
    return png_base64(pixels)


def red_object_on_white() -> str:
    """A red product covering 30 % of a white photo."""
    pixels = np.full((200, 200, 3), WHITE, dtype=np.uint8)
    pixels[50:150, 40:160] = RED
    return png_base64(pixels)


def record(encoded: str, **extra) -> dict:
    return {"_base64": encoded, "noresize": True, **extra}
