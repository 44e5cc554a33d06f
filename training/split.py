"""Deterministic, stratified train/validation split; user-marked test images form a separate test set."""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.spec import EmbeddingSample, Sample

MIN_SAMPLES_TO_VALIDATE = 5
REGRESSION_BINS = 5


@dataclass(frozen=True)
class Split:
    """Three disjoint lists, each sorted by image id."""

    train: list[Sample]
    validation: list[Sample]
    test: list[Sample]


def split_samples(
    samples: Sequence[Sample], *, task_type: str | None = None, validation_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Hold out about `validation_fraction` of each stratum, the same way whatever order the samples come in.

    Strata are the label (multi_class), the sorted tag set (multi_label; a set rarer than
    1/`validation_fraction` images falls back to its first tag) or a value quantile bin
    (regression), so that validation looks like training. Within a stratum a hash of
    (seed, image id) orders the samples. Every label or tag with at least 2 non-test images
    keeps one in train and one in validation. With fewer than 5 non-test samples everything
    is trained on and the validation set is empty: the caller evaluates on train instead.

    Args:
        samples: All samples; those with `test=True` form the test set.
        task_type: Guessed from the samples when None (all have values: regression; some have
            several labels: multi_label; else multi_class).
        validation_fraction: Share of each stratum to hold out.
        seed: Changes which images are held out.
    """
    pool = sorted((s for s in samples if not s.test), key=lambda s: s.image_id)
    test = sorted((s for s in samples if s.test), key=lambda s: s.image_id)
    if len(pool) < MIN_SAMPLES_TO_VALIDATE:
        return Split(train=pool, validation=[], test=test)
    task_type = task_type or _guess_task_type(pool)
    held_out: set[str] = set()
    for _, members in sorted(_strata(pool, task_type, validation_fraction).items()):
        if len(members) >= 2:
            members.sort(key=lambda s: _rank(s, seed))
            count = min(max(1, round(len(members) * validation_fraction)), len(members) - 1)
            held_out.update(s.image_id for s in members[:count])
    if task_type == "multi_label":
        _cover_every_tag(pool, held_out, seed)
    return Split(
        train=[s for s in pool if s.image_id not in held_out],
        validation=[s for s in pool if s.image_id in held_out],
        test=test,
    )


def _guess_task_type(pool: Sequence[Sample]) -> str:
    if all(s.value is not None for s in pool):
        return "regression"
    return "multi_label" if any(len(s.labels) > 1 for s in pool) else "multi_class"


def _rank(sample: Sample, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{sample.image_id}".encode()).hexdigest()


def _strata(pool: Sequence[Sample], task_type: str, validation_fraction: float) -> dict[str, list[Sample]]:
    if task_type == "regression":
        values = np.array([s.value for s in pool], dtype=np.float64)
        bins = min(REGRESSION_BINS, len(pool) // MIN_SAMPLES_TO_VALIDATE)
        edges = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
        keys = [str(int(np.searchsorted(edges, value, side="right"))) for value in values]
    elif task_type == "multi_label":
        combos = ["|".join(sorted(s.labels)) for s in pool]
        counts = Counter(combos)
        rare = math.ceil(1 / validation_fraction) if validation_fraction > 0 else 1
        keys = [combo if counts[combo] >= rare else combo.split("|")[0] for combo in combos]
    else:
        keys = [s.labels[0] if s.labels else "" for s in pool]
    strata: dict[str, list[Sample]] = defaultdict(list)
    for key, sample in zip(keys, pool, strict=True):
        strata[key].append(sample)
    return strata


def _cover_every_tag(pool: Sequence[Sample], held_out: set[str], seed: int) -> None:
    """Move single images so each tag on 2+ images is on both sides (tag sets may not cover tags)."""
    ranked = sorted(pool, key=lambda s: _rank(s, seed))
    for tag in sorted({tag for s in pool for tag in s.labels}):
        carriers = [s for s in ranked if tag in s.labels]
        inside = sum(s.image_id in held_out for s in carriers)
        if len(carriers) < 2 or 0 < inside < len(carriers):
            continue
        to_validation = inside == 0
        for sample in carriers:
            if _movable(sample, pool, held_out):
                (held_out.add if to_validation else held_out.discard)(sample.image_id)
                break


def _movable(sample: Sample, pool: Sequence[Sample], held_out: set[str]) -> bool:
    """Whether moving `sample` to the other side leaves each of its tags on its current side."""
    side = sample.image_id in held_out
    return all(
        sum(tag in other.labels and (other.image_id in held_out) == side for other in pool) > 1 for tag in sample.labels
    )


@dataclass(frozen=True)
class GroupSplit:
    """Three disjoint lists of embedding samples, each sorted by image id; no group spans two of them."""

    train: list[EmbeddingSample]
    validation: list[EmbeddingSample]
    test: list[EmbeddingSample]


def split_groups(samples: Sequence[EmbeddingSample], *, validation_fraction: float = 0.2, seed: int = 0) -> GroupSplit:
    """Hold out about `validation_fraction` of the groups, so validation measures retrieval of unseen items.

    A group with any user-marked test image goes wholly to the test set. Among the other
    groups, those of 2+ images are ordered by a hash of (seed, group) and the first fifth is
    held out; with fewer than 5 such groups none is held out (the caller evaluates on train).
    Single-image groups cannot be anchors (they have no positive), so they are never trained
    on: they all join validation as distractors, which are searched but never queried.
    """
    by_group: dict[str, list[EmbeddingSample]] = defaultdict(list)
    for sample in samples:
        by_group[sample.group].append(sample)
    test_groups = {group for group, members in by_group.items() if any(s.test for s in members)}
    pairs = sorted(
        (g for g, members in by_group.items() if g not in test_groups and len(members) >= 2),
        key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest(),
    )
    held_out: set[str] = set()
    if len(pairs) >= MIN_SAMPLES_TO_VALIDATE:
        held_out = set(pairs[: max(1, round(len(pairs) * validation_fraction))])
    singles = {g for g, members in by_group.items() if g not in test_groups and len(members) == 1}
    ordered = sorted(samples, key=lambda s: s.image_id)
    return GroupSplit(
        train=[s for s in ordered if s.group not in test_groups | held_out | singles],
        validation=[s for s in ordered if s.group in held_out | singles],
        test=[s for s in ordered if s.group in test_groups],
    )
