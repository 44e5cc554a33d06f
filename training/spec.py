"""The plain data the training library takes and returns, so the caller's ORM never leaks in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class TrainingError(Exception):
    """The data cannot be trained on; the message is meant for the user who owns the data."""


@dataclass(frozen=True)
class Sample:
    """One training image.

    Attributes:
        image_id: Opaque id, echoed in metrics (failed images).
        path: Local path of the encoded image.
        labels: Label ids on the image: multi_class exactly one of the spec's labels, multi_label
            any subset, regression ignored.
        value: The target of regression tasks.
        test: A user-marked test image: evaluated separately, never trained on.
    """

    image_id: str
    path: str
    labels: tuple[str, ...] = ()
    value: float | None = None
    test: bool = False


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What every kind of training takes besides its data; None is chosen from the data or the machine.

    Attributes:
        image_size: The square network input.
        epochs: Passes over the training split (early stopping may end sooner).
        seed: Seeds the split, the initialisation and the batches.
        weights_dir: Directory with "<arch>.pth" (detection: "<arch>.pt") weights that replace the
            built-in initialisation.
        device: None picks "cuda" when available, else "cpu".
        num_threads: Passed to `torch.set_num_threads` when given.
        max_seconds: Wall-clock budget; training stops early (keeping the best epoch) past it.
    """

    image_size: int | None = None
    epochs: int | None = None
    seed: int = 0
    weights_dir: str | None = None
    device: str | None = None
    num_threads: int | None = None
    max_seconds: float | None = None


@dataclass(frozen=True)
class TrainingSpec(RunOptions):
    """What classifier to train (see `training.classification`), with the `RunOptions`.

    Attributes:
        task_type: "multi_class", "multi_label" or "regression".
        labels: Label ids in output order; regression: the one value label id.
        arch: A name of `training.backbones.ARCHITECTURES`.
        negative_label: multi_label: the label meaning "none of the tags"; it is not an output.
        quick_first_version: Publish a first model (a linear head on frozen pretrained features,
            `training.quick`) before the fine-tune; categorization and tagging with a pretrained
            EfficientNet only, otherwise ignored.
    """

    task_type: str
    labels: tuple[str, ...]
    arch: str = "efficientnet_lite0"
    batch_size: int = 32
    learning_rate: float | None = None
    negative_label: str | None = None
    quick_first_version: bool = False


@dataclass(frozen=True)
class Progress:
    """Reported after every epoch; `metric` is measured on the validation split.

    `phase` is "quick" for the first model on frozen features (epoch 0), else "fine_tune".
    """

    epoch: int
    epochs: int
    loss: float
    metric_name: str
    metric: float
    phase: str = "fine_tune"


@dataclass(frozen=True)
class TrainingResult:
    """A published artifact: `artifact_dir` already holds model.onnx, model.pt and manifest.json."""

    artifact_dir: str
    metrics: dict[str, Any]
    data_hash: str
    train_size: int
    validation_size: int
    test_size: int
    seconds: float


@dataclass(frozen=True)
class Box:
    """One labelled object, in the pixels of the EXIF-oriented image (`inference.images.decode_bytes`)."""

    label: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float


@dataclass(frozen=True)
class DetectionSample:
    """One detection training image; no boxes makes it a negative image, teaching "nothing here".

    Attributes:
        image_id: Opaque id, echoed in metrics (unreadable images).
        path: Local path of the encoded image.
        boxes: The objects on the image; boxes of labels outside the spec are ignored.
        test: A user-marked test image: evaluated separately, never trained on.
    """

    image_id: str
    path: str
    boxes: tuple[Box, ...] = ()
    test: bool = False


@dataclass(frozen=True)
class DetectionSpec(RunOptions):
    """What detector to train (see `training.detection`), with the `RunOptions`.

    The image size is rounded up to a multiple of 32; `max_seconds` ends training after the
    epoch that passes it (best epoch kept).

    Attributes:
        labels: Label ids in class-index order.
        arch: A name of `training.detection.DETECTORS`.
        patience: Epochs without a better validation fitness before training stops.
        work_dir: Writable directory for the exported dataset and the run; None uses a temporary one.
        cpu_time_budget: Seconds a training on a CPU should take: the image size and epochs are
            fitted to it when the data's own would take longer (`training.detection_plan`);
            ignored on CUDA and when `epochs` is given.
    """

    labels: tuple[str, ...]
    arch: str = "yolo11n"
    patience: int | None = None
    batch_size: int = 16
    work_dir: str | None = None
    cpu_time_budget: float | None = None


@dataclass(frozen=True)
class EmbeddingSample:
    """One image of a similarity training set; images of one `group` show the same item.

    Attributes:
        image_id: Opaque id, echoed in metrics (unreadable images).
        path: Local path of the encoded image.
        group: The item the image shows; retrieval should find the other images of its group.
        test: A user-marked test image: its whole group is evaluated separately, never trained on.
        box: (xmin, ymin, xmax, ymax) of an object in the pixels of the EXIF-oriented image;
            the crop is what is embedded. None embeds the whole image.
    """

    image_id: str
    path: str
    group: str
    test: bool = False
    box: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class EmbeddingSpec(RunOptions):
    """What embedding model to train (see `training.similarity`), with the `RunOptions`.

    Attributes:
        arch: A name of `training.backbones.ARCHITECTURES`; its head becomes the embedding layer.
        dimension: Length of the L2-normalised embedding.
    """

    arch: str = "efficientnet_lite0"
    dimension: int = 128
    batch_size: int = 32
    learning_rate: float | None = None
