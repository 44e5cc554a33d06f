"""A checked ``filter`` as a Postgres condition on the records' ``fields`` (jsonb), deciding as `filters.matches` does.

The pgvector backend puts it in the search's WHERE clause, so the database selects the records
and ranks them in one query instead of sending every candidate's fields to Python. jsonb equality
already is JSON's (1 equals 1.0, true is not 1); comparisons take numbers with numbers (as
decimals, like their JSON text) and strings with strings (by code point: ``COLLATE "C"`` on UTF-8).
Equality with a list or an object is not compiled (Python's ``True == 1`` holds inside them, jsonb's
does not): `condition` answers None and the caller selects the allowed keys as the faiss backend does.
"""

from __future__ import annotations

import json
import math
from typing import Any

SIGNS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

Condition = tuple[str, list[Any]]


def condition(query: dict[str, Any], column: str) -> Condition | None:
    """SQL (with ``%s`` parameters) true exactly for the ``column`` values ``query`` matches; None if not compiled."""
    parts: list[Condition | None] = []
    for field, wanted in query.items():
        if field in ("$and", "$or"):
            parts.append(_joined([condition(part, column) for part in wanted], " AND " if field == "$and" else " OR "))
        elif isinstance(wanted, dict) and any(key.startswith("$") for key in wanted):
            for operator, operand in wanted.items():
                parts.append(
                    _among(column, field, operand) if operator == "$in" else _compared(column, field, operator, operand)
                )
        else:
            parts.append(_equal(column, field, wanted))
    return _joined(parts, " AND ")


def _joined(parts: list[Condition | None], joiner: str) -> Condition | None:
    if any(part is None for part in parts):
        return None
    compiled = [part for part in parts if part is not None]
    if not compiled:
        return "TRUE", []
    return "(" + joiner.join(sql for sql, _ in compiled) + ")", [value for _, values in compiled for value in values]


def _scalar(value: Any) -> bool:
    """A value whose jsonb equality is Python's: a string, a boolean or a finite number."""
    return isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value))


def _null(column: str, field: str) -> Condition:
    """A missing field equals null too."""
    return f"({column} -> %s IS NULL OR {column} -> %s = 'null'::jsonb)", [field, field]


def _equal(column: str, field: str, wanted: Any) -> Condition | None:
    if wanted is None:
        return _null(column, field)
    if not _scalar(wanted):
        return None
    return f"{column} -> %s = %s::jsonb", [field, json.dumps(wanted)]


def _among(column: str, field: str, items: list[Any]) -> Condition | None:
    values = [item for item in items if item is not None]
    if not all(_scalar(item) for item in values):
        return None
    sql, parameters = f"{column} -> %s = ANY(%s::jsonb[])", [field, [json.dumps(item) for item in values]]
    if len(values) < len(items):
        null, more = _null(column, field)
        sql, parameters = f"({sql} OR {null})", parameters + more
    return sql, parameters


def _compared(column: str, field: str, operator: str, bound: int | float | str) -> Condition | None:
    sign = SIGNS[operator]
    if isinstance(bound, str):
        sql = f"CASE WHEN jsonb_typeof({column} -> %s) = 'string' THEN ({column} ->> %s) COLLATE \"C\" {sign} %s END"
        return sql, [field, field, bound]
    if isinstance(bound, float) and not math.isfinite(bound):
        return None
    sql = f"CASE WHEN jsonb_typeof({column} -> %s) = 'number' THEN ({column} -> %s)::numeric {sign} %s::numeric END"
    return sql, [field, field, json.dumps(bound)]
