"""The Celery broker as the API sees it: is it reachable, and how many messages wait in each queue.

Redis when ``REDIS_URL`` is set (kombu keeps a queue as a list named after it, plus one list per
priority step), otherwise kombu's filesystem transport: a queue's messages are files named
``<time>_<uuid>.<queue>.msg`` in the queue folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import redis
from django.conf import settings
from kombu.transport.redis import PRIORITY_STEPS, Channel

FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def queues() -> list[str]:
    """The queues the service sends to: file deletions, trainings, suggestion runs and re-embeddings."""
    return sorted({settings.CELERY_TASK_DEFAULT_QUEUE, settings.TRAINING_QUEUE, settings.INFERENCE_QUEUE})


def _client(timeout: float) -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)


def ping(timeout: float) -> None:
    """Raise unless Redis answers within ``timeout`` seconds."""
    with _client(timeout) as client:
        client.ping()


def folders() -> dict[str, Path]:
    """The filesystem transport's folders, by option name (made when the Celery app is configured)."""
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    return {key: Path(options[key]) for key in FOLDERS}


def depths(timeout: float) -> dict[str, int]:
    """Messages waiting in each of `queues` (taken but unacknowledged ones are not counted)."""
    if settings.REDIS_URL:
        steps = [step for step in PRIORITY_STEPS if step]  # priority 0 is the queue's own list
        lists = {queue: [queue] + [f"{queue}{Channel.sep}{step}" for step in steps] for queue in queues()}
        with _client(timeout) as client, client.pipeline(transaction=False) as pipe:
            for name in (name for names in lists.values() for name in names):
                pipe.llen(name)
            lengths = iter(pipe.execute())
        return {queue: sum(next(lengths) for _ in names) for queue, names in lists.items()}
    counts = {queue: 0 for queue in queues()}
    folder = folders()["data_folder_in"]
    for name in os.listdir(folder) if folder.is_dir() else ():  # made by the first message or worker
        queue = name.partition(".")[2].removesuffix(".msg")
        if queue in counts:
            counts[queue] += 1
    return counts
