"""The ultralytics side of detection: a zero-network setup, and the torch predictor used when ONNX cannot serve.

This and `training.yolo` are the only modules that import ultralytics, always inside functions,
so that serving ONNX models never needs it installed.

ultralytics reaches for the network unless told not to: a DNS check at import, a font download
(`check_font`) while reading a dataset, weight downloads for bare hub names and for the AMP
check on CUDA, pip installs of missing requirements. `prepare_ultralytics` switches all of that
off before the first import; its settings are process-wide and read once, at import.

ultralytics unpickles checkpoints with ``torch.load(weights_only=False)`` by default: a crafted
model.pt (an artifact, or a file in TRAINING_WEIGHTS_DIR) would run code while loading. Its
``ULTRALYTICS_SAFE_LOAD`` mode loads with ``weights_only=True`` against an allow-list of its own
and torch's model classes, and builds layers without ``eval``; `prepare_ultralytics` forces it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

FONTS = ("Arial.ttf", "Arial.Unicode.ttf")


def prepare_ultralytics(config_dir: str | Path | None = None) -> Path:
    """Make importing and running ultralytics offline and keep its files under one directory.

    Args:
        config_dir: Where ultralytics keeps settings.json and fonts, and matplotlib its cache.
            A `YOLO_CONFIG_DIR` already in the environment wins; None falls back to a fixed
            directory under the system temp dir. Only the first call in a process decides.

    Returns:
        The config directory ultralytics uses.

    Raises:
        RuntimeError: ultralytics was imported before, without its safe checkpoint loading.
    """
    chosen = os.environ.get("YOLO_CONFIG_DIR") or str(
        config_dir or Path(tempfile.gettempdir()) / f"ultralytics-config-{os.getuid()}"
    )
    os.environ.setdefault("YOLO_CONFIG_DIR", chosen)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    os.environ.setdefault("MPLCONFIGDIR", str(Path(chosen) / "matplotlib"))
    os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"  # forced: never unpickle a checkpoint's arbitrary objects
    import matplotlib
    import ultralytics  # noqa: F401  (reads the variables above, once)
    from ultralytics.utils import SAFE_LOAD, SETTINGS, USER_CONFIG_DIR, patches

    if not SAFE_LOAD:  # imported before this call: its checkpoints would load with plain pickle
        raise RuntimeError("ultralytics was imported before prepare_ultralytics(); it would unpickle checkpoints")

    # ultralytics replaces PIL.Image.open process-wide with a version that, on any unidentified
    # image, tries to install and import pi-heif: our decoder's "unrecognised image" answers would
    # turn into "No module named 'pi_heif'". The module runs once, so undoing it here is final.
    Image.open = patches._image_open

    fonts = Path(USER_CONFIG_DIR)
    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in FONTS:  # present fonts stop check_font from downloading Arial from GitHub
        if not (fonts / name).exists():
            fonts.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, fonts / name)
    if SETTINGS.get("sync"):
        SETTINGS.update({"sync": False})
    return fonts


class TorchDetector:
    """Predicts with an ultralytics checkpoint (model.pt) at the artifact's image size, like the ONNX path."""

    def __init__(self, weights: str | Path, image_size: int, labels: Sequence[str]) -> None:
        prepare_ultralytics()
        from ultralytics import YOLO

        self.model = YOLO(str(Path(weights).resolve()), task="detect")  # an existing path: never a hub download
        self.image_size, self.labels = image_size, list(labels)

    def predict(self, images: Sequence[Image.Image], keep_prob: float, iou: float) -> list[list[dict[str, Any]]]:
        """Per image, `{"label", "prob", "bound_box"}` above `keep_prob`, most probable first."""
        # a square letterbox (rect=False) and RGB->BGR input, exactly what the ONNX predictor feeds the network
        frames = [np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1]) for image in images]
        results = self.model.predict(
            frames, imgsz=self.image_size, conf=keep_prob, iou=iou, rect=False, device="cpu", verbose=False, save=False
        )
        predictions = []
        for result in results:
            boxes = result.boxes
            found: list[dict[str, Any]] = [
                {"label": self.labels[int(c)], "prob": float(p), "bound_box": [int(round(v)) for v in xyxy]}
                for xyxy, p, c in zip(boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist(), strict=True)
            ]
            predictions.append(sorted(found, key=lambda d: -d["prob"]))
        return predictions
