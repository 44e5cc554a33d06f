"""Annotation tests use the flow tests' tiny trained models, registered as versions of real tasks."""

from tests.ximilar_platform.flows.conftest import colour_model, embedder_model, models  # noqa: F401
