"""The train/validation split: deterministic, stratified, and never training on user test images."""

from __future__ import annotations

import random
from collections import Counter

from training.spec import Sample
from training.split import split_samples


def categorized(counts: dict[str, int], *, test: int = 0) -> list[Sample]:
    samples = [
        Sample(image_id=f"{label}-{i:03d}", path=f"/img/{label}-{i}.png", labels=(label,))
        for label, count in counts.items()
        for i in range(count)
    ]
    return samples + [Sample(image_id=f"t-{i}", path="/img/t.png", labels=("a",), test=True) for i in range(test)]


def ids(samples: list[Sample]) -> list[str]:
    return [s.image_id for s in samples]


def test_split_is_the_same_whatever_order_the_samples_come_in() -> None:
    samples = categorized({"a": 30, "b": 17, "c": 3}, test=4)
    first = split_samples(samples, seed=3)
    shuffled = samples[:]
    random.Random(1).shuffle(shuffled)
    second = split_samples(shuffled, seed=3)
    assert (ids(first.train), ids(first.validation), ids(first.test)) == (
        ids(second.train),
        ids(second.validation),
        ids(second.test),
    )


def test_seed_changes_which_images_are_held_out() -> None:
    samples = categorized({"a": 40, "b": 40})
    assert ids(split_samples(samples, seed=0).validation) != ids(split_samples(samples, seed=1).validation)


def test_each_label_is_held_out_in_proportion_and_kept_on_both_sides() -> None:
    split = split_samples(categorized({"a": 50, "b": 10, "c": 2}))
    held_out = Counter(s.labels[0] for s in split.validation)
    trained = Counter(s.labels[0] for s in split.train)
    assert held_out == {"a": 10, "b": 2, "c": 1}
    assert trained == {"a": 40, "b": 8, "c": 1}


def test_user_test_images_form_the_test_set_and_are_never_trained_on() -> None:
    split = split_samples(categorized({"a": 10, "b": 10}, test=3))
    assert ids(split.test) == ["t-0", "t-1", "t-2"]
    assert not {s.image_id for s in split.train + split.validation} & set(ids(split.test))
    assert len(split.train) + len(split.validation) == 20


def test_fewer_than_five_images_are_all_trained_on_with_no_validation() -> None:
    split = split_samples(categorized({"a": 2, "b": 2}, test=1))
    assert (len(split.train), len(split.validation), len(split.test)) == (4, 0, 1)


def test_tagging_split_puts_every_tag_with_two_images_on_both_sides() -> None:
    combos = [("x", "y")] * 12 + [("x",)] * 9 + [("z", "x")] * 2 + [("y", "w")] + [("w", "q")] + [("neg",)] * 6
    samples = [Sample(image_id=f"m{i:02d}", path="/img", labels=combo) for i, combo in enumerate(combos)]
    split = split_samples(samples, task_type="multi_label")
    for tag in ("x", "y", "z", "w", "neg"):
        assert any(tag in s.labels for s in split.train), tag
        assert any(tag in s.labels for s in split.validation), tag
    assert any("q" in s.labels for s in split.train)  # a tag on a single image is trained on
    assert 0.15 < len(split.validation) / len(samples) < 0.4


def test_regression_split_holds_out_values_from_the_whole_range() -> None:
    samples = [Sample(image_id=f"r{i:03d}", path="/img", value=float(i)) for i in range(100)]
    split = split_samples(samples)
    held_out = sorted(s.value or 0.0 for s in split.validation)
    assert len(held_out) == 20
    assert [sum(low <= v < low + 20 for v in held_out) for low in range(0, 100, 20)] == [4, 4, 4, 4, 4]
