"""The secret key a fresh install creates for itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ximilar_platform import env
from ximilar_platform.env import persisted_secret

ROOT = Path(__file__).resolve().parents[2]


def test_the_key_is_created_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret_key"
    key = persisted_secret(path)
    assert len(key) >= 32 and path.read_text() == key and path.stat().st_mode & 0o777 == 0o600
    assert persisted_secret(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no draft left behind


def test_the_key_file_never_exists_before_it_is_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen on CI: a second gunicorn worker read the first one's empty file and refused to boot."""
    path = tmp_path / "secret_key"
    made = env.secrets.token_urlsafe

    def while_writing(size: int) -> str:
        assert not path.exists()  # a process starting now would create its own draft, not read this one
        return made(size)

    monkeypatch.setattr(env.secrets, "token_urlsafe", while_writing)
    assert len(persisted_secret(path)) >= 32


def test_a_key_another_process_linked_first_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret_key"
    real_link = env.os.link

    def raced(source: str, target: Path) -> None:
        target.write_text("k" * 40)  # another process got there between our check and our link
        real_link(source, target)

    monkeypatch.setattr(env.os, "link", raced)
    assert persisted_secret(path) == "k" * 40
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    code = "import sys; from pathlib import Path; from ximilar_platform.env import persisted_secret; "
    code += "print(persisted_secret(Path(sys.argv[1])))"
    for attempt in range(3):
        path = tmp_path / f"secret_key_{attempt}"
        starting = [
            subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
            for _ in range(6)
        ]
        keys = {process.communicate(timeout=60)[0].strip() for process in starting}
        assert len(keys) == 1 and len(keys.pop()) >= 32
