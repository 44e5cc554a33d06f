"""`training/` and `inference/` are pure libraries, and the Django apps form layers (`.importlinter`)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("django", "rest_framework", "celery", "ximilar_platform")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def library_files() -> list[Path]:
    return sorted(path for package in ("training", "inference") for path in (ROOT / package).rglob("*.py"))


def test_the_libraries_have_modules_to_check() -> None:
    assert any(path.parent.name == "inference" for path in library_files())


@pytest.mark.parametrize("path", library_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_library_module_does_not_import_the_web_stack(path: Path) -> None:
    bad = {name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_checker_catches_a_django_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from django.db import models\nimport ximilar_platform.settings\n")
    assert imported_modules(module) == {"django.db", "ximilar_platform.settings"}


def test_only_the_yolo_adapters_import_ultralytics() -> None:
    importers = {
        str(path.relative_to(ROOT))
        for path in library_files()
        if any(name.split(".")[0] == "ultralytics" for name in imported_modules(path))
    }
    assert importers == {"training/yolo.py", "inference/yolo_torch.py"}


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_apps_import_only_from_the_layers_below_them() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_import_contract_catches_an_upward_import(tmp_path: Path) -> None:
    for name in ("ximilar_platform", "training", "inference", ".importlinter"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    with (tmp_path / "ximilar_platform" / "images" / "models.py").open("a") as module:
        module.write("\nfrom ximilar_platform.flows import models as flows  # an upward import\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "ximilar_platform.images is not allowed to import ximilar_platform.flows" in result.stdout
