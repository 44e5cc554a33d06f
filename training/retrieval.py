"""Exact retrieval metrics over a set of embeddings: every image is a query against all the others."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

RECALL_KS = (1, 5, 10)
CHUNK = 256


def retrieval_metrics(embeddings: np.ndarray, groups: Sequence[str]) -> dict[str, float | int]:
    """precision_at_1, recall_at_k and map_at_r, with each image querying the rest by cosine similarity.

    Only images whose group has another image are queries; single images stay in the gallery
    as distractors. recall_at_k is the fraction of queries with a same-group image among their
    k nearest (the query excluded); map_at_r is MAP@R as in pytorch-metric-learning (R = the
    number of other images of the query's group). Ties in similarity rank the earlier image first.

    Args:
        embeddings: (N, D) L2-normalised vectors.
        groups: The group of each row.
    """
    labels = np.asarray(groups)
    counts = Counter(groups)
    queries = np.flatnonzero([counts[g] >= 2 for g in groups])
    if not len(queries):
        return {"precision_at_1": 0.0, **{f"recall_at_{k}": 0.0 for k in RECALL_KS}, "map_at_r": 0.0, "queries": 0}
    vectors = np.asarray(embeddings, dtype=np.float32)
    found: dict[int, list[float]] = {k: [] for k in RECALL_KS}
    first, precisions = [], []
    for start in range(0, len(queries), CHUNK):  # a (chunk, N) similarity block at a time bounds the memory
        rows = queries[start : start + CHUNK]
        similarity = vectors[rows] @ vectors.T
        similarity[np.arange(len(rows)), rows] = -np.inf  # a query never retrieves itself
        order = np.argsort(-similarity, axis=1, kind="stable")[:, :-1]
        hits = labels[order] == labels[rows][:, None]
        first.append(hits[:, 0])
        for k in RECALL_KS:
            found[k].append(hits[:, :k].any(axis=1))
        for row, group in zip(hits, labels[rows], strict=True):
            r = counts[group] - 1
            top = row[:r]
            precisions.append(float((np.cumsum(top) / np.arange(1, r + 1) * top).sum() / r))
    return {
        "precision_at_1": float(np.concatenate(first).mean()),
        **{f"recall_at_{k}": float(np.concatenate(found[k]).mean()) for k in RECALL_KS},
        "map_at_r": float(np.mean(precisions)),
        "queries": len(queries),
    }
