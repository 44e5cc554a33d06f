"""Celery jobs of the similarity app: one-liners over services."""

from __future__ import annotations

from celery import shared_task

from ximilar_platform.similarity import reembedding


@shared_task(acks_late=True)
def reembed_collection(job_id: str) -> None:
    reembedding.run(job_id=job_id)
