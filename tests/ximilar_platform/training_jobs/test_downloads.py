"""A training's images fetched from remote storage several at a time, each once (artifacts.local_copies)."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from django.core.files.storage import Storage

from ximilar_platform.training_jobs import artifacts


class SlowRemote(Storage):
    """A storage that is not the local file system, whose GETs take 50 ms each and are counted."""

    def __init__(self, missing: str = "") -> None:
        self.lock, self.running, self.most, self.opened, self.missing = threading.Lock(), 0, 0, [], missing

    def open(self, name: str, mode: str = "rb") -> io.BytesIO:
        if name == self.missing:
            raise FileNotFoundError(name)
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.opened.append(name)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        return io.BytesIO(f"bytes of {name}".encode())


def test_remote_images_are_fetched_at_once_up_to_the_setting_and_each_once(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = SlowRemote()
    monkeypatch.setattr(artifacts, "default_storage", remote)
    settings.TRAINING_DOWNLOAD_THREADS = 8
    names = [f"images/w/{n}.jpg" for n in range(40)] + ["images/w/3.jpg", "images/w/7.jpg"]  # two in two groups
    started = time.monotonic()
    paths = artifacts.local_copies(names, tmp_path)
    took = time.monotonic() - started
    assert sorted(remote.opened) == sorted(set(names)) and set(paths) == set(names)
    assert all(Path(paths[name]).read_bytes() == f"bytes of {name}".encode() for name in names)
    assert 1 < remote.most <= 8 and took < 40 * 0.05 / 2  # one after another would take 2 s

    settings.TRAINING_DOWNLOAD_THREADS = 1
    remote.most = 0
    artifacts.local_copies(names[:5], tmp_path / "serial")
    assert remote.most == 1


def test_a_missing_image_fails_the_snapshot(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "default_storage", SlowRemote(missing="images/w/5.jpg"))
    with pytest.raises(FileNotFoundError, match="5.jpg"):
        artifacts.local_copies([f"images/w/{n}.jpg" for n in range(10)], tmp_path)


def test_local_storage_is_read_in_place(settings, tmp_path: Path) -> None:
    paths = artifacts.local_copies(["images/a.jpg"], tmp_path)
    assert paths == {"images/a.jpg": str(Path(settings.MEDIA_ROOT) / "images" / "a.jpg")}
    assert not (tmp_path / "images").exists()
