"""Request bodies within bounds: a size per kind of endpoint and a nesting depth, refused in the error shape.

CRUD bodies are small (``API_MAX_BODY_BYTES``); views that take images set ``takes_images = True`` and
get ``API_MAX_IMAGE_BODY_BYTES``; a view taking a dataset's zip sets ``takes_archive`` (``DATASET_MAX_BYTES``).
The size is checked from ``Content-Length`` before anything is read and again while reading (a body
without a length is read up to the limit and no further). A JSON body of more than ``API_MAX_JSON_VALUES``
arrays, objects and items answers 413 before it is parsed: a 100 MiB body of empty objects would
take 2.9 GB and 7 s to parse, while 1,000 search records of 2,048-d descriptors hold about 2 million.
JSON deeper than ``API_MAX_JSON_DEPTH`` answers 400 before any code walks it, so no serializer, filter
or meta_data store recurses into a hostile document; a body that is not an object answers 400 too.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from ximilar_platform.core.api import fastjson
from ximilar_platform.core.api.exceptions import PayloadTooLarge

ARCHIVE_FORM_BYTES = 64 * 1024  # the multipart form's other fields and boundaries around an archive


def body_limit(parser_context: Mapping[str, Any] | None) -> int:
    view = (parser_context or {}).get("view")
    if getattr(view, "takes_archive", False):  # a dataset's zip (datasets/v2/import)
        return settings.DATASET_MAX_BYTES + ARCHIVE_FORM_BYTES
    return settings.API_MAX_IMAGE_BODY_BYTES if getattr(view, "takes_images", False) else settings.API_MAX_BODY_BYTES


def refuse_large(parser_context: Mapping[str, Any] | None, limit: int) -> None:
    request = (parser_context or {}).get("request")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError as error:
        raise ParseError("Content-Length is not a number.") from error
    if length > limit:
        raise PayloadTooLarge(f"The request body is {length} bytes; this endpoint takes at most {limit}.")


def read_within(stream: Any, limit: int) -> bytes:
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise PayloadTooLarge(f"The request body is larger than this endpoint takes ({limit} bytes).")
    return data


def refuse_many(data: bytes, limit: int) -> None:
    """Count the bytes that open or separate values (``{``, ``[``, ``,``): no document has more values than
    that plus one. Commas inside strings count too, so the count can only err towards refusing; a body
    shorter than the limit cannot reach it and is not counted."""
    if len(data) <= limit:
        return
    found = data.count(b",") + data.count(b"[") + data.count(b"{")
    if found > limit:
        raise PayloadTooLarge(
            f"The JSON body holds about {found} values (arrays, objects and items); this API takes at most "
            f"{limit} in one request: send fewer records per request."
        )


def refuse_deep(value: Any, limit: int) -> None:
    """Walk without recursion; raise as soon as a branch is deeper than ``limit`` arrays or objects."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise ParseError(f"The JSON body nests deeper than {limit} levels.")
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


class LimitedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = body_limit(parser_context)
        refuse_large(parser_context, limit)
        data = read_within(stream, limit)
        refuse_many(data, settings.API_MAX_JSON_VALUES)
        parsed = fastjson.loads(data, max_depth=settings.API_MAX_JSON_DEPTH)
        if not isinstance(parsed, dict):  # every endpoint takes an object; handlers may call .get on it
            raise ParseError("Send a JSON object as the request body.")
        refuse_deep(parsed, settings.API_MAX_JSON_DEPTH)
        return parsed


class LimitedFormParser(FormParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = body_limit(parser_context)
        refuse_large(parser_context, limit)
        return super().parse(io.BytesIO(read_within(stream, limit)), media_type, parser_context)


class LimitedMultiPartParser(MultiPartParser):
    """Checked from Content-Length, which Django's multipart reader needs anyway, before a byte is spooled."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        refuse_large(parser_context, body_limit(parser_context))
        return super().parse(stream, media_type, parser_context)
