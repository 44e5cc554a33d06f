"""A detection training's plan: image size and epochs from the data, fitted to a CPU time budget, and its seconds."""

from __future__ import annotations

import pytest

from training.detection_plan import (
    FINISH_SECONDS,
    PREPARE_SECONDS_PER_IMAGE,
    SECONDS_PER_IMAGE,
    choose_epochs,
    choose_image_size,
    epoch_seconds,
    expected_seconds,
    measured_rates,
    plan_detection,
)


def test_defaults_follow_the_images_and_the_device() -> None:
    assert choose_image_size([100, 150, 160], "cpu") == 160
    assert choose_image_size([200, 220], "cpu") == 224
    assert choose_image_size([1280, 960], "cpu") == 320
    assert choose_image_size([1280, 960], "cuda") == 640
    assert choose_image_size([400], "cuda:0") == 416
    assert (choose_epochs(40), choose_epochs(240), choose_epochs(5000)) == (150, 83, 30)


def test_without_a_budget_the_data_decides_and_the_seconds_follow_the_pixels() -> None:
    plan = plan_detection(train_images=120, longer_sides=[320] * 150, device="cpu")
    assert (plan.image_size, plan.epochs, plan.budget) == (320, 150, None)
    assert plan.seconds == pytest.approx(150 * 120 * SECONDS_PER_IMAGE["cpu"] * 4 + FINISH_SECONDS)
    assert epoch_seconds(120, 320, "cpu") == pytest.approx(4 * epoch_seconds(120, 160, "cpu"))


def test_a_budget_the_data_would_overrun_shrinks_the_image_and_lets_the_epochs_fit() -> None:
    """150 photos of 320 px on a CPU: 150 epochs at 320 px would take about 23 minutes."""
    plan = plan_detection(train_images=120, longer_sides=[320] * 150, device="cpu", budget=240)
    assert (plan.image_size, plan.budget, plan.seconds) == (160, 240 - FINISH_SECONDS, 240)
    roomy = plan_detection(train_images=120, longer_sides=[320] * 150, device="cpu", budget=600)
    assert roomy.image_size == 224 and roomy.budget == 600 - FINISH_SECONDS  # 224 px still affords enough images
    fits = plan_detection(train_images=120, longer_sides=[320] * 150, device="cpu", budget=1500)
    assert (fits.image_size, fits.budget) == (320, None)  # the data's own plan fits: no budget


def test_a_budget_keeps_the_size_and_epochs_a_spec_gives() -> None:
    sized = plan_detection(train_images=120, longer_sides=[320] * 150, device="cpu", image_size=300, budget=240)
    assert (sized.image_size, sized.budget) == (320, 240 - FINISH_SECONDS)
    counted = plan_detection(train_images=120, longer_sides=[320] * 150, device="cpu", epochs=10, budget=1)
    assert (counted.image_size, counted.epochs, counted.budget) == (320, 10, None)


def test_expected_seconds_is_the_budget_when_it_binds_and_the_plan_otherwise() -> None:
    assert expected_seconds(images=150, longer_sides=[320] * 150, device="cpu", budget=240) == 240
    small = expected_seconds(images=25, longer_sides=[160] * 25, device="cuda")
    assert small == pytest.approx(
        25 * PREPARE_SECONDS_PER_IMAGE + 150 * 20 * SECONDS_PER_IMAGE["cuda"] + FINISH_SECONDS
    )


def test_the_workers_measured_speed_replaces_the_constant_of_its_device() -> None:
    def manifest(seconds: float | None, size: int, images: int) -> dict:
        metrics = {"epoch_seconds": seconds} if seconds else {}
        spec = {"device": "cpu"}
        return {"metrics": metrics, "preprocessing": {"image_size": size}, "train_size": images, "spec": spec}

    manifests = [manifest(None, 160, 10), manifest(8.0, 320, 100), manifest(1.0, 160, 100)]
    rates = measured_rates(manifests)
    assert rates == {"cpu": pytest.approx(0.02)}  # the newest measurement wins: 8 s / (100 images x 4)
    assert epoch_seconds(50, 160, "cpu", rates) == pytest.approx(1.0)
    assert epoch_seconds(50, 160, "cuda", rates) == pytest.approx(50 * SECONDS_PER_IMAGE["cuda"])
