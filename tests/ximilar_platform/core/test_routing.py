"""Work goes to the queue of its kind, decided in one place (`core.jobs.queue_of`, ``CELERY_TASK_ROUTES``)."""

from __future__ import annotations

import pytest

from ximilar_platform.celery import app as celery_app


@pytest.mark.parametrize(
    ("name", "args", "queue"),
    [
        ("ximilar_platform.core.jobs.run_job", ("training", "id"), "training"),
        ("ximilar_platform.core.jobs.run_job", ("suggestions", "id"), "inference"),
        ("ximilar_platform.core.jobs.run_job", ("reembedding", "id"), "inference"),
        ("ximilar_platform.core.jobs.run_job", ("datasets", "id"), "default"),
        ("ximilar_platform.images.jobs.delete_stored_files", ([],), "default"),
    ],
)
def test_celery_routes_each_kind_of_work_to_its_queue(name: str, args: tuple, queue: str) -> None:
    router = celery_app.amqp.Router()
    assert router.route({}, name, args=args, kwargs={})["queue"].name == queue


def test_the_runners_are_the_ones_routed() -> None:
    from ximilar_platform.annotate.models import SuggestionRun
    from ximilar_platform.collections.models import Reembedding
    from ximilar_platform.datasets.models import DatasetJob
    from ximilar_platform.training_jobs.models import TrainingJob

    runners = (TrainingJob.runner, SuggestionRun.runner, Reembedding.runner, DatasetJob.runner)
    assert runners == ("training", "suggestions", "reembedding", "datasets")
