"""Collections are searched with the tiny embedders the similarity tests train."""

from tests.ximilar_platform.similarity.conftest import quick_training, trained_task  # noqa: F401
