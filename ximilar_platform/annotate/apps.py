from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "ximilar_platform.annotate"
    label = "annotate"

    def ready(self) -> None:
        from ximilar_platform.annotate.models import SuggestionRun
        from ximilar_platform.annotate.suggestions import run_suggestions
        from ximilar_platform.core.jobs import register_runner

        register_runner(SuggestionRun.runner, run_suggestions)
