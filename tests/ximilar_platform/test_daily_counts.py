"""Usage and traffic counts added up in memory and written together (ximilar_platform.daily_counts)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from ximilar_platform import daily_counts
from ximilar_platform.accounts.models import DailyUsage
from ximilar_platform.accounts.usage import count_records, records_on

TODAY = date.today()


def test_additions_wait_for_the_interval_and_are_written_as_one_row(settings, alice) -> None:
    settings.DAILY_COUNTS_FLUSH_SECONDS = 3600
    for _ in range(3):
        count_records(workspace_id=alice.workspace.id, service="recognition", records=4)
    assert not DailyUsage.objects.exists()
    assert records_on(alice.workspace.id, TODAY) == 12  # what is pending counts for the daily limit
    daily_counts.flush()
    assert DailyUsage.objects.get().records == 12
    count_records(workspace_id=alice.workspace.id, service="recognition", records=1)
    daily_counts.flush()
    assert DailyUsage.objects.get().records == 13 and records_on(alice.workspace.id, TODAY) == 13


def test_without_an_interval_every_addition_is_written_at_once(settings, alice) -> None:
    settings.DAILY_COUNTS_FLUSH_SECONDS = 0
    count_records(workspace_id=alice.workspace.id, service="detection", records=2)
    assert DailyUsage.objects.get(service="detection").records == 2
    count_records(workspace_id=alice.workspace.id, service="detection", records=3)
    assert DailyUsage.objects.get(service="detection").records == 5


def test_the_daily_limit_counts_what_is_not_written_yet(settings, alice) -> None:
    settings.DAILY_COUNTS_FLUSH_SECONDS = 3600
    settings.WORKSPACE_DAILY_RECORDS = 10
    count_records(workspace_id=alice.workspace.id, service="recognition", records=8)
    with pytest.raises(Exception, match="8 of its 10 records"):
        count_records(workspace_id=alice.workspace.id, service="recognition", records=3)


@pytest.mark.django_db(transaction=True)
def test_a_timer_writes_what_no_later_request_would(settings) -> None:
    from ximilar_platform.accounts.services import create_api_user

    user, _ = create_api_user(username="timer")
    workspace = user.owned_workspaces.get(is_default=True)
    settings.DAILY_COUNTS_FLUSH_SECONDS = 2
    count_records(workspace_id=workspace.id, service="recognition", records=5)
    assert not DailyUsage.objects.exists()
    deadline = time.monotonic() + 20
    while not DailyUsage.objects.exists():
        assert time.monotonic() < deadline, "the timer never wrote the pending count"
        time.sleep(0.05)
    assert DailyUsage.objects.get().records == 5


def test_sums_the_database_refused_are_kept_for_the_next_write(settings, alice, monkeypatch) -> None:
    settings.DAILY_COUNTS_FLUSH_SECONDS = 3600
    count_records(workspace_id=alice.workspace.id, service="recognition", records=6)
    write = daily_counts.write

    def refused(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(daily_counts, "write", refused)
    daily_counts.flush()
    assert not DailyUsage.objects.exists() and records_on(alice.workspace.id, TODAY) == 6
    monkeypatch.setattr(daily_counts, "write", write)
    daily_counts.flush()
    assert DailyUsage.objects.get().records == 6
