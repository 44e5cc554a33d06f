"""Celery jobs: one-liners over services."""

from __future__ import annotations

from celery import shared_task

from ximilar_platform.training_jobs import services


@shared_task(acks_late=True)
def run_training_job(job_id: str) -> None:
    services.run_training_job(job_id=job_id)
