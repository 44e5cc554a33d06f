"""A progress bar for the management commands: tqdm's when it is installed, else a plain counter."""

from __future__ import annotations

from typing import Any, TextIO

from ximilar_platform.datasets.importer import Progress


def progress_bar(description: str, stream: TextIO) -> tuple[Progress, Any]:
    """An ``on_progress(done, total)`` that draws on ``stream``, and the function that closes the bar."""
    try:
        from tqdm import tqdm
    except ImportError:  # an optional nicety: supervision brings it, a slimmer install may not
        tqdm = None
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> bool:
        if tqdm is None:
            stream.write(f"{description}: {done}/{total}\n")
            return True
        bar = state.setdefault("bar", tqdm(total=total, desc=description, file=stream, unit="image"))
        bar.total = total
        bar.update(done - bar.n)
        return True

    def close() -> None:
        if "bar" in state:
            state["bar"].close()

    return update, close
