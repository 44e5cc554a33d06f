"""The web app's vendored JavaScript is exactly the pinned upstream files (checked offline, by sha256)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_vendored_files_match_their_pinned_checksums() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/vendor_assets.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_changed_vendored_file_is_caught(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("vendor_assets", ROOT / "scripts" / "vendor_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for package, version, files in module.ASSETS:
        copy = tmp_path / f"{package}-{version}"
        copy.mkdir()
        for name in files:
            (copy / Path(name).name).write_bytes(b"tampered")
    monkeypatch.setattr(module, "VENDOR", tmp_path)
    monkeypatch.setattr(sys, "argv", ["vendor_assets.py", "--check"])
    assert module.main() == 1


def test_pages_load_only_vendored_or_own_assets() -> None:
    templates = (ROOT / "ximilar_platform" / "web" / "templates").rglob("*.html")
    for template in templates:
        text = template.read_text()
        assert "http://" not in text.replace("http://localhost", "") and "https://" not in text.replace(
            'placeholder="https://…"', ""
        ), template
