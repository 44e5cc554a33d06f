"""A/B traffic: a task's predictions that name no version, split between versions by shares.

``task.traffic`` maps version numbers to shares (``{"3": 0.9, "4": 0.1}``); null serves
production. A record with an ``_id`` always lands on the same version (a hash of the task id and
the ``_id`` placed on the shares), one without falls where a random number does. Deploying a
version ends the split (`services.deploy_version`), and a version in the split cannot be deleted.

Only classify, detect and descriptor follow the split. Flows do not: a flow node without a
pinned version is served by production, because a flow's validity check resolves one version per
node for the whole tree (`flows.validation`), and a split inside a pipeline would mix versions
within one record's answer without saying which; pin a node's version to test one in a flow.

Every prediction by those three endpoints is counted per version and UTC day
(`VersionTraffic`), with the records' confidence (classify: the best label's probability;
detect: the mean of a record's object probabilities), so the versions can be compared.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from ximilar_platform import daily_counts
from ximilar_platform.core.models import TrainableTask
from ximilar_platform.training_jobs.models import ModelVersion, VersionTraffic

MAX_VERSIONS = 5
TOLERANCE = 1e-6
MAX_DAYS = 366


def refuse(message: str) -> ValidationError:
    return ValidationError({"traffic": [message]})


def parse_split(value: Any) -> dict[str, float] | None:
    """Version number -> share, in version order; None for null or ``{}`` (no split). Shape only."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise refuse('Give version numbers and their shares, e.g. {"3": 0.9, "4": 0.1}, or null.')
    split: dict[int, float] = {}
    for key, share in value.items():
        digits = isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 9  # fits the column
        number = int(key) if digits else 0
        if number < 1:
            raise refuse(f"'{key}' is not a version number.")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:  # NaN fails too
            raise refuse(f"The share of version {number} must be a number above 0 and at most 1.")
        split[number] = float(share)
    if not 2 <= len(split) <= MAX_VERSIONS:
        raise refuse(f"Split between 2 and {MAX_VERSIONS} versions; to serve one, deploy it.")
    if abs(sum(split.values()) - 1) > TOLERANCE:
        raise refuse(f"The shares add up to {sum(split.values()):g}; they must add up to 1.")
    return {str(number): split[number] for number in sorted(split)}


def set_split(*, task: TrainableTask, value: Any) -> TrainableTask:
    """Start, change or (null, ``{}``) end the task's split; every version must exist. Under the task's row lock."""
    split = parse_split(value)
    with transaction.atomic():
        task = type(task).objects.select_for_update().get(pk=task.pk)
        if split:
            versions = ModelVersion.objects.filter(task_kind=task.task_kind, task_id=task.id)
            known = set(versions.filter(version__in=[int(n) for n in split]).values_list("version", flat=True))
            if missing := [number for number in split if int(number) not in known]:
                raise refuse(f"Version {', '.join(missing)} of this task does not exist.")
        task.traffic = split
        task.save(update_fields=["traffic"])
    return task


def point_of(task: TrainableTask, record: dict[str, Any]) -> float:
    """Where in [0, 1) a record falls: fixed by the task and the record's ``_id``, else random."""
    record_id = record.get("_id")
    if record_id in (None, ""):
        return random.random()
    digest = hashlib.sha256(f"{task.id}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def versions_for(task: TrainableTask, records: Sequence[dict[str, Any]], requested: Any) -> list[ModelVersion]:
    """The version of each record under the task's split; empty when the request names a version or none splits."""
    if requested not in (None, "") or not task.traffic:
        return []
    shares = list(task.traffic.items())
    rows = ModelVersion.objects.filter(
        task_kind=task.task_kind, task_id=task.id, version__in=[int(n) for n, _ in shares]
    )
    by_number = {str(version.version): version for version in rows}
    chosen = []
    for record in records:
        point, edge = point_of(task, record), 0.0
        number = shares[-1][0]  # the shares' sum may fall short of 1 by the tolerance
        for candidate, share in shares:
            edge += share
            if point < edge:
                number = candidate
                break
        chosen.append(by_number[number])
    return chosen


def count_served(version: ModelVersion, records: int, confidences: Iterable[float | None]) -> None:
    """Add a request's records served by ``version`` to today's row, with the confidences they have."""
    if not records:
        return
    scores = [score for score in confidences if score is not None]
    key = {"task_kind": version.task_kind, "task_id": version.task_id, "version": version.version}
    amounts = {"records": records, "scored": len(scores), "confidence_sum": sum(scores)}
    daily_counts.add(VersionTraffic, key | {"day": timezone.now().date()}, amounts, workspace_id=version.workspace_id)


def parse_days(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_DAYS:
        raise ValidationError({"days": [f"Give a number of days from 1 to {MAX_DAYS}."]})
    return int(raw)


def traffic_report(task: TrainableTask, days: int = 30) -> dict[str, Any]:
    """The split, and per version and day of the last ``days`` (newest first): records and mean confidence."""
    daily_counts.flush()
    since = timezone.now().date() - timedelta(days=days - 1)
    rows = VersionTraffic.objects.filter(task_kind=task.task_kind, task_id=task.id, day__gte=since)
    daily = [
        {"day": row.day, "version": row.version, "records": row.records, "mean_confidence": mean(row)}
        for row in rows.order_by("-day", "version")
    ]
    totals: dict[int, VersionTraffic] = {}
    for row in rows:
        total = totals.setdefault(row.version, VersionTraffic(version=row.version))
        total.records += row.records
        total.scored += row.scored
        total.confidence_sum += row.confidence_sum
    served = sum(total.records for total in totals.values()) or 1
    versions = [
        {"version": n, "records": t.records, "share": round(t.records / served, 4), "mean_confidence": mean(t)}
        for n, t in sorted(totals.items())
    ]
    return {"traffic": task.traffic, "production_version": task.production_version, "versions": versions, "days": daily}


def mean(row: VersionTraffic) -> float | None:
    return round(row.confidence_sum / row.scored, 5) if row.scored else None
