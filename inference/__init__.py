"""Serving trained models: image decoding, artifact loading, predictors, the model cache, vector search."""

from inference.predictors import Predictor, load_predictor

__all__ = ["Predictor", "load_predictor"]
