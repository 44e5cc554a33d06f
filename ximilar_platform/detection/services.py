"""Detection rules: box validation and recognition labels on objects."""

from __future__ import annotations

import math
from typing import Any

from rest_framework.exceptions import ValidationError

from ximilar_platform.detection.models import DetectionObject, ObjectLabel
from ximilar_platform.images.models import TrainingImage
from ximilar_platform.recognition.image_labels import save_label_link
from ximilar_platform.recognition.models import Label as RecognitionLabel


def parse_box(data: Any, image: TrainingImage) -> list[float]:
    """``[xmin, ymin, xmax, ymax]`` in the stored image's pixels, inside it and not empty."""
    if not isinstance(data, list | tuple) or len(data) != 4:
        raise ValidationError({"data": ["Give the box as [xmin, ymin, xmax, ymax]."]})
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in data):
        raise ValidationError({"data": ["Every coordinate must be a number."]})
    xmin, ymin, xmax, ymax = (float(value) for value in data)
    if not all(math.isfinite(value) for value in (xmin, ymin, xmax, ymax)):
        raise ValidationError({"data": ["Every coordinate must be a finite number."]})
    if xmin >= xmax or ymin >= ymax:
        raise ValidationError({"data": ["Need xmin < xmax and ymin < ymax."]})
    if xmin < 0 or ymin < 0 or xmax > image.width or ymax > image.height:
        raise ValidationError({"data": [f"The box must lie inside the {image.width}x{image.height} image."]})
    return [xmin, ymin, xmax, ymax]


def label_object(*, obj: DetectionObject, label: RecognitionLabel, value: Any = None) -> ObjectLabel:
    """Attach a recognition label (with a value for value labels) to an object; again updates the value."""
    return save_label_link(ObjectLabel, label, value, object=obj)


def unlabel_object(*, obj: DetectionObject, label: RecognitionLabel) -> None:
    ObjectLabel.objects.filter(object=obj, label=label).delete()
