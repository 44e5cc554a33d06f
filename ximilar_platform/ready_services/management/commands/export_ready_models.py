"""``manage.py export_ready_models``: export the generic tagger and descriptor to ONNX now, not at first use.

Run it once per host (or when building an image) so that no API process imports torch to export
it while a request waits; a host without it exports on first use.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from inference.descriptors import ensure_descriptor
from ximilar_platform.ready_services.tagging import tagger_dir


class Command(BaseCommand):
    help = "Export the generic tagger and the generic descriptor into READY_MODELS_DIR (once per host)."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"Generic tagger: {tagger_dir()}")
        self.stdout.write(f"Generic descriptor: {ensure_descriptor(settings.READY_MODELS_DIR)}")
