"""The error every image input problem raises, from decoding and from fetching URLs alike."""

from __future__ import annotations


class InvalidImage(Exception):
    """A client-side image problem.

    `status` is the HTTP status to answer with (400, 413...), `code` a short machine code.
    """

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid_image") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def too_large(message: str) -> InvalidImage:
    return InvalidImage(message, status=413, code="image_too_large")
