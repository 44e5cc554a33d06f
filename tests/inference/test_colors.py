"""Dominant colours: shares of known colour blocks, CSS names, merging, a product's plain background."""

from __future__ import annotations

import numpy as np
from PIL import Image

from inference.colors import dominant_colors, nearest_name, srgb_to_lab

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def blocks(*parts: tuple[tuple[int, int, int], int], height: int = 60) -> Image.Image:
    """Vertical colour blocks, each `width` columns wide, left to right."""
    pixels = np.concatenate([np.full((height, width, 3), colour, dtype=np.uint8) for colour, width in parts], axis=1)
    return Image.fromarray(pixels)


def object_on(background: tuple[int, int, int], colour: tuple[int, int, int], size: int = 200) -> Image.Image:
    pixels = np.full((size, size, 3), background, dtype=np.uint8)
    pixels[size // 4 : 3 * size // 4, size // 5 : 4 * size // 5] = colour  # 30 % of the image
    return Image.fromarray(pixels)


def test_two_blocks_answer_their_shares_largest_first_with_their_names() -> None:
    found = dominant_colors(blocks((BLUE, 30), (RED, 70)), count=6)
    assert found.names == ["red", "blue"] and found.rgb == [RED, BLUE]
    assert found.hex == ["#ff0000", "#0000ff"]
    assert np.allclose(found.shares, [0.7, 0.3], atol=0.01)


def test_large_images_are_sampled_and_keep_their_shares() -> None:
    found = dominant_colors(blocks((RED, 1400), (BLUE, 600), height=300), count=3)
    assert found.names == ["red", "blue"] and np.allclose(found.shares, [0.7, 0.3], atol=0.02)


def test_noise_around_a_colour_is_one_cluster_not_many() -> None:
    rng = np.random.default_rng(3)
    pixels = np.asarray(blocks((RED, 70), (BLUE, 30)), dtype=np.int16) + rng.integers(-15, 16, (60, 100, 3))
    found = dominant_colors(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), count=6)
    assert found.names == ["red", "blue"] and np.allclose(found.shares, [0.7, 0.3], atol=0.01)


def test_count_caps_the_colours_and_the_answer_is_stable() -> None:
    rng = np.random.default_rng(5)
    image = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    first = dominant_colors(image, count=4)
    assert len(first.rgb) == 4 and first == dominant_colors(image, count=4)
    assert first.shares == sorted(first.shares, reverse=True) and sum(first.shares) < 1
    assert dominant_colors(image, count=2).rgb == first.rgb[:2]  # the count only cuts the list


def test_a_plain_background_is_ignored_for_products_only() -> None:
    image = object_on(WHITE, RED)
    product = dominant_colors(image, count=3, ignore_background=True)
    assert product.names == ["red"] and product.shares == [1.0]
    generic = dominant_colors(image, count=3)
    assert generic.names == ["white", "red"] and np.allclose(generic.shares, [0.7, 0.3], atol=0.01)


def test_a_busy_border_or_a_product_filling_the_frame_keeps_every_pixel() -> None:
    stripes = blocks(*[(RED if i % 2 else BLUE, 10) for i in range(10)])
    found = dominant_colors(stripes, count=3, ignore_background=True)
    assert sorted(found.names) == ["blue", "red"] and np.allclose(found.shares, [0.5, 0.5], atol=0.01)
    plain = blocks((WHITE, 50))
    assert dominant_colors(plain, count=3, ignore_background=True).names == ["white"]


def test_names_are_the_nearest_css_colour_in_lab() -> None:
    assert nearest_name((250, 5, 5)) == "red" and nearest_name((128, 128, 128)) == "gray"
    assert nearest_name((0, 0, 140)) == "darkblue" and nearest_name((252, 248, 249)) == "snow"
    assert np.allclose(srgb_to_lab(np.array(WHITE)), [100, 0, 0], atol=0.01)
