from django.apps import AppConfig


class CollectionsConfig(AppConfig):
    name = "ximilar_platform.collections"
    label = "collections"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from ximilar_platform.collections import checks  # noqa: F401 - registers the pgvector checks
        from ximilar_platform.collections.models import Collection, Reembedding
        from ximilar_platform.collections.pgvector_backend import forget
        from ximilar_platform.collections.reembedding import follow_task, run
        from ximilar_platform.core.jobs import register_runner
        from ximilar_platform.core.models import TaskKind
        from ximilar_platform.training_jobs.adapters import on_deploy

        register_runner(Reembedding.runner, run)
        on_deploy(TaskKind.SIMILARITY, follow_task)
        post_delete.connect(forget, sender=Collection, dispatch_uid="collections.pgvector_backend.forget")
