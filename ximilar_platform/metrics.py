"""Every metric a process counts, declared in one place so their labels can be reviewed together.

Label values are always from a small fixed set (route patterns, HTTP methods, status classes,
service names), never ids, paths or tenants' names: the series stay few and the scrape leaks no
tenant's data. The counts scraped from the database and the broker (jobs, queue depth) are computed
at scrape time in ``core.scrape``. Under gunicorn, ``gunicorn_conf`` turns on prometheus_client's
multiprocess mode, so each of these sums over the server's worker processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram(
    "ximilar_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["route", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RECORDS_PREDICTED = Counter(
    "ximilar_records_predicted",
    "Records accepted by the prediction services (the billing unit), by service.",
    ["service"],
)
MODEL_LOOKUPS = Counter(
    "ximilar_model_cache_lookups", "Predictors asked of the per-process model cache; a load follows each miss."
)
MODEL_LOAD_SECONDS = Histogram(
    "ximilar_model_load_duration_seconds",
    "Time to load a model version into the cache (its count is the number of cache misses).",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
