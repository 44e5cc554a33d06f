"""The tiny models the flow tests train once per session, for downloading and splitting traffic."""

from tests.ximilar_platform.flows.conftest import colour_model, embedder_model  # noqa: F401
