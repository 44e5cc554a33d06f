"""The events a workspace's webhooks may subscribe to; `services.notify` sends them.

Payloads (the webhook body's ``data``) are JSON objects chosen by the app that notifies:
training events carry ``job``, ``task`` ({id, kind, name}), ``state``, ``attempt``, and
``version`` ({number, metrics}) or ``error``; ``version.deployed`` carries ``task``, ``version``
and ``previous_version``; dataset jobs carry what their app says (at least ``job``).
"""

from __future__ import annotations

TRAINING_STARTED = "training.started"
TRAINING_SUCCEEDED = "training.succeeded"
TRAINING_FAILED = "training.failed"
VERSION_DEPLOYED = "version.deployed"
DATASET_IMPORT_DONE = "dataset.import.done"
DATASET_EXPORT_DONE = "dataset.export.done"

EVENTS = (
    TRAINING_STARTED,
    TRAINING_SUCCEEDED,
    TRAINING_FAILED,
    VERSION_DEPLOYED,
    DATASET_IMPORT_DONE,
    DATASET_EXPORT_DONE,
)
# the seed's promise: "You will be notified about the start and finish of the training by email"
EMAILED = frozenset({TRAINING_STARTED, TRAINING_SUCCEEDED, TRAINING_FAILED})
