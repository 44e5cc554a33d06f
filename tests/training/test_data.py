"""Training images decoded once: big JPEGs at a reduced scale, sizes read from headers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from inference.images import decode_bytes
from inference.preprocess import squash
from training.data import LOAD_LIMITS, decode, load_pixels, shorter_sides
from training.spec import Sample


def photo(path: Path, size: tuple[int, int]) -> Sample:
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    ImageDraw.Draw(image).ellipse([size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2], fill=(250, 20, 20))
    image.save(path, "JPEG", quality=90)
    return Sample(path.stem, str(path), ("a",))


def test_a_big_jpeg_is_squashed_from_a_reduced_scale_to_the_same_pixels(tmp_path: Path) -> None:
    sample = photo(tmp_path / "big.jpg", (4000, 3000))
    pixels, kept, unreadable = load_pixels([sample], 64)
    full = squash(decode_bytes((tmp_path / "big.jpg").read_bytes(), LOAD_LIMITS).image, 64)
    assert kept == [sample] and unreadable == [] and pixels.shape == (1, 64, 64, 3)
    assert np.abs(pixels[0].astype(int) - full.astype(int)).mean() < 2.0  # within rounding of the resampling
    assert decode(sample, draft_side=128).size == (500, 375)  # what load_pixels decodes for 64 px: 1/8 scale


def test_the_shorter_sides_come_from_the_headers_and_unreadable_files_are_left_out(tmp_path: Path) -> None:
    samples = [photo(tmp_path / "wide.jpg", (640, 480)), photo(tmp_path / "tall.jpg", (300, 900))]
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    samples.append(Sample("broken", str(tmp_path / "broken.jpg"), ("a",)))
    assert sorted(shorter_sides(samples)) == [300, 480]
