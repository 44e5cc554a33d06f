"""Benchmark: server time of the web app's heaviest pages with a 10,000-image workspace.

    .venv/bin/python bench/web_pages.py [--images 10000] [--runs 30]
    DATABASE_URL=postgres://root@127.0.0.1:5432/bench .venv/bin/python bench/web_pages.py   # on Postgres

Builds a fresh database (a temporary SQLite file unless DATABASE_URL names one, which it empties
first) with one workspace of ``--images`` training images, 20 labels spread over them, a
categorization task and a trained version whose metrics hold a 20x20 confusion matrix and 48
failed images. It then renders each page through Django's full stack in process (middleware,
session, templates: what the server spends, without the network) ``--runs`` times after a warm-up
and prints the median and p95 per page, with the target: under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def setup(database_url: str | None) -> None:
    data = tempfile.mkdtemp(prefix="web-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ximilar_platform.settings")
    os.environ["DATA_DIR"] = data
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    if database_url:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


def fill(count: int):
    from django.contrib.auth import get_user_model

    from ximilar_platform.accounts.services import ensure_default_workspace
    from ximilar_platform.images.models import TrainingImage
    from ximilar_platform.recognition.models import ImageLabel, Label, Task
    from ximilar_platform.training_jobs.models import ModelVersion, TrainingJob

    user = get_user_model().objects.create_user("bench")
    workspace = ensure_default_workspace(user=user)
    labels = Label.objects.bulk_create([Label(workspace=workspace, name=f"label {i}") for i in range(20)])
    task = Task.objects.create(workspace=workspace, name="bench", production_version=1)
    task.labels.add(*labels)
    images = TrainingImage.objects.bulk_create(
        [
            TrainingImage(
                workspace=workspace,
                file=f"images/{i}.jpg",
                thumbnail=f"thumbs/{i}.jpg",
                width=640,
                height=480,
                checksum=uuid.uuid4().hex,
                meta_data={"filename": f"photo-{i}.jpg"},
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    ImageLabel.objects.bulk_create(
        [ImageLabel(image=image, label=labels[i % 20]) for i, image in enumerate(images)], batch_size=2000
    )
    ids = [str(label.id) for label in labels]
    metrics = {
        "accuracy": 0.9,
        "per_label": {i: {"precision": 0.9, "recall": 0.9, "f1": 0.9, "support": 50} for i in ids},
        "confusion_matrix": {
            "labels": ids,
            "matrix": [[45 if r == c else (5 if c == (r + 1) % 20 else 0) for c in range(20)] for r in range(20)],
        },
        "failed_images": [
            {
                "image_id": str(images[i].id),
                "true_label": ids[i % 20],
                "predicted_label": ids[(i + 1) % 20],
                "prob": 0.8,
            }
            for i in range(100)
        ],
        "best_epoch": 9,
        "epochs_run": 12,
        "stopped": "early_stopping",
        "evaluated_on": "validation",
    }
    version = ModelVersion.objects.create(
        workspace=workspace,
        task_id=task.id,
        version=1,
        arch="efficientnet_lite0",
        artifact="x",
        metrics=metrics,
        manifest={"labels": ids},
    )
    TrainingJob.objects.create(workspace=workspace, task_id=task.id, state="succeeded", version=version)
    from ximilar_platform.annotate.models import Suggestion

    Suggestion.objects.bulk_create(  # the model's suggestions for every other image, for the "uncertain" queue
        [
            Suggestion(
                workspace=workspace,
                image=image,
                task_kind="recognition",
                task_id=task.id,
                version=version,
                label=labels[(i + 1) % 20],
                score=(i % 97) / 97,
            )
            for i, image in enumerate(images[::2])
        ],
        batch_size=2000,
    )
    return user, task, version, labels


def measure(client, url: str, runs: int, **headers: str) -> tuple[float, float]:
    for _ in range(3):
        assert client.get(url, **headers).status_code == 200, url
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, **headers)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    setup(os.environ.get("DATABASE_URL"))
    from django.db import connection
    from django.test import Client

    user, task, version, labels = fill(args.images)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    pages = {
        "image grid, first page": "/app/images/",
        "image grid, one label": f"/app/images/?label={labels[3].id}",
        "image grid, task and meta search": f"/app/images/?task={task.id}&search=photo-99",
        "image grid, page 100 (scroll)": "/app/images/?page=100",
        "version page": f"/app/versions/{version.id}/",
        "dashboard": "/app/",
        "annotate tab (status counts, jobs, people)": f"/app/recognition/{task.id}/annotate/",
        "annotate editor, 500 images, to do first": f"/app/recognition/{task.id}/annotate/work/",
        "annotate editor, least certain first": f"/app/recognition/{task.id}/annotate/work/?order=uncertain",
    }
    print(f"{connection.vendor}, {args.images} images, {args.runs} runs per page (ms)")
    for name, url in pages.items():
        headers = {"HTTP_HX_REQUEST": "true"} if "scroll" in name else {}
        median, p95 = measure(client, url, args.runs, **headers)
        print(f"  {name:44s} median {median:7.1f}  p95 {p95:7.1f}  {'ok' if p95 < 300 else 'OVER 300 ms'}")


if __name__ == "__main__":
    main()
