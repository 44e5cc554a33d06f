"""Records per workspace, service and UTC day: Ximilar's billing unit is a credit per record.

Every prediction entry point (classify, detect, descriptor, flows, search) counts the records of
a request it accepted, before decoding them; ``WORKSPACE_DAILY_RECORDS`` (0: none) caps a day.
The same call counts them for Prometheus (per service only: no workspace in the labels).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone
from rest_framework.exceptions import Throttled

from ximilar_platform import daily_counts, metrics
from ximilar_platform.accounts.models import DailyUsage, Workspace

MAX_DAYS = 366


def count_records(*, workspace_id: uuid.UUID, service: str, records: int) -> None:
    """Add ``records`` to today's count, or refuse with 429 until midnight when the day's cap is spent."""
    today = timezone.now().date()
    if limit := settings.WORKSPACE_DAILY_RECORDS:
        used = records_on(workspace_id, today)
        if used + records > limit:
            raise Throttled(
                wait=seconds_to_midnight(),
                detail=(
                    f"This workspace has sent {used} of its {limit} records for today (WORKSPACE_DAILY_RECORDS); "
                    f"this request has {records}. The count starts again at midnight UTC."
                ),
            )
    metrics.RECORDS_PREDICTED.labels(service=service).inc(records)
    key = {"workspace_id": workspace_id, "day": today, "service": service}
    daily_counts.add(DailyUsage, key, {"records": records})


def records_on(workspace_id: uuid.UUID, day: date) -> int:
    """The day's records, with what this process has not written yet (another's lags `daily_counts`' interval)."""
    rows = DailyUsage.objects.filter(workspace_id=workspace_id, day=day)
    written = rows.aggregate(total=Sum("records"))["total"] or 0
    return written + int(daily_counts.pending(DailyUsage, workspace_id=workspace_id, day=day)["records"])


def seconds_to_midnight() -> float:
    now = timezone.now()
    midnight = datetime.combine(now.date() + timedelta(days=1), time.min, tzinfo=now.tzinfo)
    return (midnight - now).total_seconds()


def usage_of(workspaces: list[Workspace], days: int) -> list[dict]:
    """Per workspace: its daily rows of the last ``days`` days (newest first) and today's total."""
    daily_counts.flush()
    today = timezone.now().date()
    since = today - timedelta(days=days - 1)
    rows = DailyUsage.objects.filter(workspace__in=workspaces, day__gte=since).order_by("-day", "service")
    by_workspace: dict[uuid.UUID, list[dict]] = {workspace.id: [] for workspace in workspaces}
    for row in rows:
        by_workspace[row.workspace_id].append({"day": row.day, "service": row.service, "records": row.records})
    return [
        {
            "workspace": workspace.id,
            "name": workspace.name,
            "today": sum(item["records"] for item in by_workspace[workspace.id] if item["day"] == today),
            "daily_limit": settings.WORKSPACE_DAILY_RECORDS or None,
            "days": by_workspace[workspace.id],
        }
        for workspace in workspaces
    ]
