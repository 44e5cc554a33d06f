"""``manage.py export_ready_models``: export the generic tagger to ONNX now, not at the first tagging request.

Run it once per host (or when building an image) so that no API process imports torch to export
it while a request waits; a host without it exports on first use.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ximilar_platform.ready_services.tagging import tagger_dir


class Command(BaseCommand):
    help = "Export the ready-to-use generic tagger into READY_MODELS_DIR (once per host)."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(f"Generic tagger: {tagger_dir()}")
