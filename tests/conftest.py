"""Shared fixtures: users with tokens, API clients, isolated media, and tiny images."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from training.spec import TrainingResult
from ximilar_platform import daily_counts
from ximilar_platform.accounts.services import create_api_user
from ximilar_platform.celery import app as celery_app

REQUIRE_SERVICES = "XIMILAR_REQUIRE_SERVICES"


def required(variable: str = REQUIRE_SERVICES) -> bool:
    return os.environ.get(variable, "") not in ("", "0")


def need(condition: object, why: str, *, variable: str = REQUIRE_SERVICES) -> None:
    """Skip the test, saying ``why``, where a service or tool it needs is missing (a bare checkout runs
    without Postgres, Redis, SeaweedFS...); fail instead where XIMILAR_REQUIRE_SERVICES=1 (or ``variable``)
    is set, as .ci/run does, so a green CI run proves that the tests of the real infrastructure ran.

    Only for "missing" skips: those a test designs (SQLite-only checks, the pgvector backend's tests
    outside the session test_pgvector.py starts) stay ``pytest.skip`` or ``skipif``.
    """
    __tracebackhide__ = True  # the skip or failure is reported at the line of the caller
    if condition:
        return
    for name in dict.fromkeys([REQUIRE_SERVICES, variable]):
        if required(name):
            pytest.fail(f"{why}; {name} is set, so this test must run here, not skip", pytrace=False)
    pytest.skip(why)


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = django_settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = "redis" if django_settings.REDIS_URL else "embedded filesystem broker"
    services = "fail" if required() else "skip"
    return [
        f"database: {database}; celery broker for worker tests: {broker}",
        f"tests whose service or tool is missing: {services} ({REQUIRE_SERVICES}={os.environ.get(REQUIRE_SERVICES)!r})",
    ]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep a SQLite test database in a file, so worker and server subprocesses can share it."""
    database = django_settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database["TEST"]["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def no_pending_counts(settings) -> Iterator[None]:
    """Counts are written when read (no timer thread writes outside a test's transaction); those a test
    left unwritten die with it. tests/ximilar_platform/test_daily_counts.py tests the interval and the timer."""
    settings.DAILY_COUNTS_FLUSH_SECONDS = 3600
    yield
    daily_counts.discard()


@pytest.fixture(autouse=True, scope="session")
def eager_jobs() -> None:
    """Jobs run inline unless a test starts a real worker."""
    celery_app.conf.task_always_eager = True


class ApiUser:
    def __init__(self, username: str) -> None:
        self.user, self.token = create_api_user(username=username)
        self.workspace = self.user.owned_workspaces.get(is_default=True)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {self.token}")


@pytest.fixture
def alice(db) -> ApiUser:
    return ApiUser("alice")


@pytest.fixture
def bob(db) -> ApiUser:
    return ApiUser("bob")


@pytest.fixture
def api(alice: ApiUser) -> APIClient:
    return alice.client


@pytest.fixture(scope="module")
def restore_torch_threads() -> Iterator[None]:
    """Training specs here may set torch's thread count (one thread is robust on 2 busy cores); undo it."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def shapes_detector(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingResult, float]:
    """A YOLO detector that has learned rectangles and circles (120 images, 30 epochs at 160 px, about 1.5 min
    on one CPU thread), shared by the learning test and the serving tests, and its training time in seconds."""
    import time

    import torch

    from tests.detection_shapes import LABELS, shapes_samples
    from training.detection import train_detector
    from training.spec import DetectionSpec

    tmp_path = tmp_path_factory.mktemp("shapes_detector")
    samples = shapes_samples(tmp_path / "images", 120, seed=7, negatives=6)
    spec = DetectionSpec(
        labels=LABELS,
        image_size=160,
        epochs=30,
        batch_size=8,
        num_threads=1,
        device="cpu",
        work_dir=str(tmp_path / "work"),
    )
    threads, started = torch.get_num_threads(), time.monotonic()
    result = train_detector(spec, samples, tmp_path / "model")
    torch.set_num_threads(threads)
    return result, time.monotonic() - started


@pytest.fixture(scope="session")
def ready_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A READY_MODELS_DIR with the generic tagger exported (about 10 s), shared by the session's tagging tests."""
    from inference.tagging import ensure_tagger

    folder = tmp_path_factory.mktemp("ready-models")
    ensure_tagger(folder)
    return folder
