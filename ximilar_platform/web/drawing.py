"""Geometry for what pages draw as inline SVG and HTML: boxes on images, heat maps, scatter plots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    name: str
    color: str
    prob: float | None = None


def box(data: list[float], name: str, color: str, prob: float | None = None) -> Box:
    """``[xmin, ymin, xmax, ymax]`` as an SVG rectangle."""
    xmin, ymin, xmax, ymax = (float(v) for v in data)
    return Box(xmin, ymin, xmax - xmin, ymax - ymin, name, color, prob)


PALETTE = ["#2f5bea", "#e5484d", "#12a594", "#f76b15", "#8e4ec6", "#ffb224", "#0090ff", "#d6409f"]


def heat(matrix: list[list[int]], labels: list[str]) -> list[dict[str, Any]]:
    """Rows of a confusion matrix with a background per cell: the share of its true label's images."""
    rows = []
    for row, (name, counts) in enumerate(zip(labels, matrix, strict=True)):
        total = sum(counts) or 1
        cells = []
        for column, count in enumerate(counts):
            share = count / total
            hue = 145 if column == row else 4  # green where right, red where wrong
            background = f"hsl({hue} 65% {97 - 45 * share:.0f}%)" if count else "#f7f8fa"
            cells.append(
                {"count": count, "share": share, "background": background, "ink": "#fff" if share > 0.6 else "#1d2330"}
            )
        rows.append({"label": name, "cells": cells, "total": sum(counts)})
    return rows


@dataclass(frozen=True)
class Scatter:
    """Points of predicted against true values, scaled into a square SVG of ``size`` units."""

    points: list[tuple[float, float, str]]
    size: int
    low: float
    high: float
    diagonal: tuple[float, float, float, float]


def scatter(pairs: list[list[float]], size: int = 320, pad: int = 36) -> Scatter | None:
    if not pairs:
        return None
    values = [v for pair in pairs for v in pair[:2]]
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def at(value: float) -> float:
        return pad + (value - low) / span * (size - 2 * pad)

    points = [
        (round(at(truth), 1), round(size - at(predicted), 1), f"true {truth:g}, predicted {predicted:g}")
        for truth, predicted, *_ in pairs
    ]
    return Scatter(points, size, low, high, (at(low), size - at(low), at(high), size - at(high)))
