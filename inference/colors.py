"""Dominant colours of an image: weighted k-means in CIE Lab, each colour named after the nearest CSS3 colour.

Lab rather than RGB because distances there follow perceived differences (CIE76 delta E), so the
clusters and names match what people call the colours. Seeded, so the same image always answers
the same. ``ignore_background`` (product photos) drops a plain background first; see `foreground`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from inference.color_names import CSS3_COLORS

CLUSTERS = 12  # k of k-means whatever the count asked for: the top colours do not depend on it
SAMPLE_SIDE = 128  # longest side the pixels are counted at: shares barely move, k-means gets 100x faster
ITERATIONS = 50
MERGE_DELTA_E = 10.0  # clusters nearer than this are one colour (2.3 is just noticeable side by side)
BACKGROUND_DELTA_E = 12.0  # pixels this near the border's colour are background
BORDER = 0.04  # the border ring, as a share of the shorter side (at least one pixel)
PLAIN_BORDER = 0.8  # plain: this share of the border ring is its colour (a studio background surrounds the product)
MIN_FOREGROUND = 0.01  # less left than this: the "background" was the product itself; keep every pixel
SRGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])


@dataclass(frozen=True)
class DominantColors:
    """The colours, largest share first; ``shares`` are of the pixels counted (0-1)."""

    rgb: list[tuple[int, int, int]]
    shares: list[float]
    names: list[str]

    @property
    def hex(self) -> list[str]:
        return ["#{:02x}{:02x}{:02x}".format(*rgb) for rgb in self.rgb]


def dominant_colors(image: Image.Image, *, count: int, ignore_background: bool = False) -> DominantColors:
    """The `count` (at most `CLUSTERS`) largest colours of `image`; fewer when it has fewer distinct ones.

    Pixels are sampled (nearest neighbour, so no blended colours are invented at edges) down to
    `SAMPLE_SIDE`, clustered by k-means (k-means++ seeded with 0, `CLUSTERS` clusters) over their
    distinct colours weighted by frequency, and clusters nearer than `MERGE_DELTA_E` are merged.
    Shares are of every pixel counted, so those answered may sum to less than 1.
    """
    sampled = image.convert("RGB")
    if max(sampled.size) > SAMPLE_SIDE:
        scale = SAMPLE_SIDE / max(sampled.size)
        size = (max(round(sampled.width * scale), 1), max(round(sampled.height * scale), 1))
        sampled = sampled.resize(size, Image.Resampling.NEAREST)
    pixels = np.asarray(sampled, dtype=np.uint8)
    lab = srgb_to_lab(pixels)
    kept = foreground(lab) if ignore_background else np.ones(lab.shape[:2], dtype=bool)
    colours, counts = np.unique(pixels[kept], axis=0, return_counts=True)
    colour_lab = srgb_to_lab(colours)
    labels, centres = kmeans(colour_lab, counts.astype(np.float64), CLUSTERS, np.random.default_rng(0))
    clusters = merged(
        [
            (colour_lab[labels == j], colours[labels == j], counts[labels == j])
            for j in range(len(centres))
            if (labels == j).any()
        ]
    )
    clusters = sorted(clusters, key=lambda cluster: -int(cluster[2].sum()))[:count]
    total = float(counts.sum())
    rgb = [mean_rgb(members, weights) for _, members, weights in clusters]
    return DominantColors(
        rgb=rgb,
        shares=[float(weights.sum()) / total for _, _, weights in clusters],
        names=[nearest_name(colour) for colour in rgb],
    )


def foreground(lab: np.ndarray) -> np.ndarray:
    """The pixels that are not a plain background, as a (H, W) mask.

    The background's colour is the median of the border ring; it counts as plain when most of
    the ring is near it, and then every pixel near it is dropped, inside the object too (a white
    stripe on a shirt shot on white goes with the background). A busy border keeps every pixel.
    """
    height, width = lab.shape[:2]
    ring = max(1, round(min(height, width) * BORDER))
    border = np.ones((height, width), dtype=bool)
    border[ring:-ring, ring:-ring] = False
    background = np.median(lab[border], axis=0)
    near = np.linalg.norm(lab - background, axis=-1) < BACKGROUND_DELTA_E
    if near[border].mean() < PLAIN_BORDER or (~near).mean() < MIN_FOREGROUND:
        return np.ones((height, width), dtype=bool)
    return ~near


def kmeans(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Lloyd iterations from a weighted k-means++ start: each point's cluster, and the centres."""
    centres = [points[rng.choice(len(points), p=weights / weights.sum())]]
    while len(centres) < k:
        distance = np.min(((points[:, None] - np.asarray(centres)[None]) ** 2).sum(axis=-1), axis=1) * weights
        if distance.sum() <= 0:  # every colour is already a centre
            break
        centres.append(points[rng.choice(len(points), p=distance / distance.sum())])
    found = np.asarray(centres)
    for _ in range(ITERATIONS):
        labels = np.argmin(((points[:, None] - found[None]) ** 2).sum(axis=-1), axis=1)
        mass = np.bincount(labels, weights, minlength=len(found))
        sums = np.stack([np.bincount(labels, weights * points[:, d], minlength=len(found)) for d in range(3)], 1)
        moved = np.where(mass[:, None] > 0, sums / np.maximum(mass, 1e-12)[:, None], found)
        if np.allclose(moved, found):
            break
        found = moved
    return np.argmin(((points[:, None] - found[None]) ** 2).sum(axis=-1), axis=1), found


Cluster = tuple[np.ndarray, np.ndarray, np.ndarray]  # Lab colours, their sRGB, their pixel counts


def merged(clusters: list[Cluster]) -> list[Cluster]:
    """Merge the nearest two clusters while their weighted centres are nearer than MERGE_DELTA_E."""
    clusters = list(clusters)
    while len(clusters) > 1:
        centres = np.asarray([np.average(lab, axis=0, weights=counts) for lab, _, counts in clusters])
        distance = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
        distance[np.diag_indices(len(clusters))] = np.inf
        i, j = np.unravel_index(np.argmin(distance), distance.shape)
        if distance[i, j] >= MERGE_DELTA_E:
            break
        first, second = clusters[i], clusters[j]
        clusters = [cluster for index, cluster in enumerate(clusters) if index not in (i, j)]
        lab, colours, counts = (np.concatenate([a, b]) for a, b in zip(first, second, strict=True))
        clusters.append((lab, colours, counts))
    return clusters


def mean_rgb(colours: np.ndarray, counts: np.ndarray) -> tuple[int, int, int]:
    red, green, blue = (int(round(value)) for value in np.average(colours.astype(np.float64), axis=0, weights=counts))
    return red, green, blue


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab (D65) of uint8 sRGB values, any leading shape (..., 3)."""
    value = rgb.astype(np.float64) / 255.0
    linear = np.where(value <= 0.04045, value / 12.92, ((value + 0.055) / 1.055) ** 2.4)
    xyz = linear @ SRGB_TO_XYZ.T / D65_WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


NAMES = list(CSS3_COLORS)
NAMED_LAB = srgb_to_lab(np.array([[int(code[i : i + 2], 16) for i in (1, 3, 5)] for code in CSS3_COLORS.values()]))


def nearest_name(rgb: tuple[int, int, int]) -> str:
    """The CSS3 name nearest in Lab."""
    distance = np.linalg.norm(NAMED_LAB - srgb_to_lab(np.array(rgb)), axis=-1)
    return NAMES[int(np.argmin(distance))]
