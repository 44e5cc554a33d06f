"""The SQLite database commits through a write-ahead log, flushed per SQLITE_SYNCHRONOUS (issue 16)."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_sqlite_commits_append_to_a_wal_flushed_only_at_checkpoints_by_default() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL; FULL is 2
