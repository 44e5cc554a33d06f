"""Probes for orchestrators and load balancers: ``/healthz`` (the process answers) and ``/readyz``.

``/readyz`` checks what a request needs: the database, the broker and the default storage. The
checks run in threads of their own, together, and the answer waits at most ``READYZ_TIMEOUT``, so a
dependency that hangs (a dropped packet, a dead host) fails its check instead of holding the probe;
a stuck thread ends with its own connection timeout. The answer names each failure by a short
reason; the exception itself goes to the log, since the probe answers without a token.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse

from ximilar_platform.core import broker
from ximilar_platform.core.api.exceptions import error_body

logger = logging.getLogger(__name__)


def _database() -> None:
    try:
        with connection.cursor() as cursor:  # this thread's own connection: a fresh connect
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def _writable(folder: Path, name: str) -> None:
    """Raise unless ``folder`` can be written, or made (its nearest existing parent can): saving makes it."""
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise RuntimeError(f"{name} is not writable")


def _broker() -> None:
    if settings.REDIS_URL:
        broker.ping(settings.READYZ_TIMEOUT)
        return
    for key, folder in broker.folders().items():
        _writable(folder, f"broker folder {key}")


def _storage() -> None:
    if isinstance(default_storage, FileSystemStorage):
        _writable(Path(default_storage.location), "media folder")
    elif bucket := getattr(default_storage, "bucket_name", None):
        # S3: the bucket exists and our keys may use it (an object's HEAD answers 404 for a missing bucket too)
        default_storage.connection.meta.client.head_bucket(Bucket=bucket)
    else:
        default_storage.exists("readyz-probe")  # another backend: one request to it


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "broker": _broker, "storage": _storage}


def _reason(error: BaseException) -> str:
    """What the answer says: our own messages in full, others by their type (no hosts, no addresses)."""
    return str(error) if isinstance(error, RuntimeError) else f"unreachable ({type(error).__name__})"


def run_checks(timeout: float) -> dict[str, dict]:
    """Every check's ``{"ok", "seconds"}``, plus ``"error"`` for a failed one; all within ``timeout``."""
    results: dict[str, dict] = {}

    def run(name: str, check: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            check()
            result: dict = {"ok": True}
        except Exception as error:
            logger.warning("Readiness check %s failed", name, exc_info=error)
            result = {"ok": False, "error": _reason(error)}
        results[name] = {**result, "seconds": round(time.perf_counter() - started, 4)}

    # each thread runs in a copy of this context, so its log records carry the request id
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(run, *item), daemon=True)
        for item in CHECKS.items()
    ]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    answered = dict(results)  # a check that ends later must not change the answer being written
    for name in CHECKS:
        answered.setdefault(name, {"ok": False, "error": f"timed out after {timeout:g} s", "seconds": timeout})
    return answered


def _not_get(request: HttpRequest) -> JsonResponse | None:
    if request.method in ("GET", "HEAD"):
        return None
    response = JsonResponse(error_body("Method not allowed.", "method_not_allowed", 405), status=405)
    response["Allow"] = "GET, HEAD"
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answers; touches nothing else (a restart would not fix a dead database)."""
    return _not_get(request) or JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every dependency answers, else 503 naming the failed checks."""
    if refused := _not_get(request):
        return refused
    checks = run_checks(settings.READYZ_TIMEOUT)
    failed = sorted(name for name, result in checks.items() if not result["ok"])
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
    return JsonResponse({"status": "ok", "checks": checks})
