"""Metrics computed when Prometheus scrapes: queue depth from the broker, jobs from the database.

Jobs run in worker processes, often on other machines, whose counters the API's ``/metrics`` would
never see; the job tables already hold every job's state and times, so reading them at scrape time
gives the same numbers whichever API process answers, with no push gateway and no worker endpoint.
Ended jobs are read over the last ``METRICS_JOBS_WINDOW`` seconds (``finished`` at most that old) as
gauges; one aggregate query per job model keeps a scrape cheap. A source that fails (Redis down)
leaves its metrics out and sets ``ximilar_scrape_up`` to 0 rather than failing the whole scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric

from ximilar_platform.core import broker
from ximilar_platform.core.jobs import Job, job_models

logger = logging.getLogger(__name__)

ENDED = (Job.State.SUCCEEDED, Job.State.FAILED, Job.State.CANCELLED)
RUN_BUCKETS = (10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400)  # seconds from start to end


def queue_metrics() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "ximilar_queue_messages", "Messages waiting in a broker queue (not yet taken by a worker).", labels=["queue"]
    )
    for queue, depth in broker.depths(settings.READYZ_TIMEOUT).items():
        family.add_metric([queue], depth)
    yield family


def job_metrics() -> Iterator[Metric]:
    active = GaugeMetricFamily("ximilar_jobs_active", "Jobs pending or running now.", labels=["job", "state"])
    ended = GaugeMetricFamily(
        "ximilar_jobs_ended", "Jobs that ended within METRICS_JOBS_WINDOW, by outcome.", labels=["job", "state"]
    )
    runs = GaugeHistogramMetricFamily(
        "ximilar_job_run_seconds",
        "Start-to-end time of the jobs that ended within METRICS_JOBS_WINDOW (those that ran).",
        labels=["job", "state"],
    )
    since = timezone.now() - timedelta(seconds=settings.METRICS_JOBS_WINDOW)
    ran = Q(started__isnull=False)
    for model in job_models():
        rows = model._default_manager.filter(state__in=Job.ACTIVE).values("state").annotate(count=Count("pk"))
        counts = {row["state"]: row["count"] for row in rows}
        for state in Job.ACTIVE:
            active.add_metric([model.runner, state], counts.get(state, 0))
        per_bucket = {
            f"le_{seconds}": Count("pk", filter=ran & Q(run__lte=timedelta(seconds=seconds))) for seconds in RUN_BUCKETS
        }
        rows = (
            model._default_manager.filter(state__in=ENDED, finished__gte=since)
            .alias(run=ExpressionWrapper(F("finished") - F("started"), output_field=DurationField()))
            .values("state")
            .annotate(count=Count("pk"), ran=Count("pk", filter=ran), total=Sum("run"), **per_bucket)
        )
        by_state = {row["state"]: row for row in rows}
        for state in ENDED:
            row = by_state.get(state)
            ended.add_metric([model.runner, state], row["count"] if row else 0)
            buckets = [(str(float(seconds)), row[f"le_{seconds}"] if row else 0) for seconds in RUN_BUCKETS]
            buckets.append(("+Inf", row["ran"] if row else 0))
            total = row["total"].total_seconds() if row and row["total"] else 0.0
            runs.add_metric([model.runner, state], buckets, total)
    yield from (active, ended, runs)


SOURCES: dict[str, Callable[[], Iterator[Metric]]] = {"queues": queue_metrics, "jobs": job_metrics}


class ScrapeTimeCollector:
    """A prometheus_client collector over `SOURCES`, registered on each scrape's registry."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("ximilar_scrape_up", "1 when a scrape-time source answered, else 0.", labels=["source"])
        for name, source in SOURCES.items():
            try:
                families = list(source())
            except Exception:
                logger.warning("Metrics source %s failed", name, exc_info=True)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up
