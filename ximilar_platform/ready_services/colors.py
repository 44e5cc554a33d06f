"""Dominant colours (``dom_colors/generic|product/v2/dominantcolor``) as Ximilar's ``_dominant_colors``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ValidationError

from inference.colors import CLUSTERS, dominant_colors

MAX_COLORS = CLUSTERS
DEFAULT_COLORS = {False: 6, True: 3}  # Ximilar's defaults: generic photos 6, product photos 3


def color_options(data: Mapping[str, Any], *, product: bool) -> dict[str, Any]:
    """The request's ``colors`` (the most colours to answer), checked; absent: Ximilar's default."""
    count = data.get("colors", DEFAULT_COLORS[product])
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COLORS:
        raise ValidationError({"colors": [f"Give a whole number of colours from 1 to {MAX_COLORS}."]})
    return {"count": count}


def color_images(images: list, *, product: bool, count: int) -> list[dict[str, Any]]:
    """Per image ``_dominant_colors``: parallel lists, largest share first; ``product`` ignores a plain background."""
    answers = []
    for image in images:
        found = dominant_colors(image, count=count, ignore_background=product)
        answers.append(
            {
                "_dominant_colors": {
                    "rgb_colors": [list(rgb) for rgb in found.rgb],
                    "rgb_hex_colors": found.hex,
                    "percentages": [round(share, 4) for share in found.shares],
                    "color_names": found.names,
                }
            }
        )
    return answers
