"""Background jobs of the images app."""

from __future__ import annotations

from celery import shared_task

from ximilar_platform.images import storage


@shared_task(acks_late=True)
def delete_stored_files(names: list[str]) -> None:
    """Delete files of removed images; object storage deletes are slow, so a worker does them."""
    storage.delete_files(names)
