"""A collection's record fields as columns, so a ``filter`` costs a few numpy operations, not a Python loop over JSON.

Every field some record has is a column over the records holding it: each value's kind (null,
false, true, number, string, other), numbers as float64, strings as their rank among the field's
distinct strings sorted by code point (so a string bound is a rank bound, and equality a rank).
A checked filter becomes a boolean mask over the records that decides as `filters.matches` does:
true is not 1, 1 is 1.0, a missing field equals null, numbers compare with numbers and strings with
strings. Values float64 cannot hold exactly (lists, objects, integers beyond 2**53) stay Python
values decided one by one by `filters`' own rules: they are rare, and their answers stay exact.

Memory: at most 13 bytes per (record, field) value (4 more when the field is not in every record),
columns of one kind of value lose the other's array, and each distinct string is kept once.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import compress
from typing import Any

import numpy as np

from ximilar_platform.collections import filters

NULL, FALSE, TRUE, NUMBER, STRING, OTHER = range(6)
EXACT_INTEGERS = 2**53  # every integer up to this size is a float64 exactly

# a string bound as a rank bound: (which bisect of the bound, whether ranks below it match)
STRING_CUTS: dict[str, tuple[Callable[[list[str], str], int], bool]] = {
    "$lt": (bisect_left, True),
    "$lte": (bisect_right, True),
    "$gt": (bisect_right, False),
    "$gte": (bisect_left, False),
}
NUMBER_TESTS: dict[str, Callable[[Any, Any], Any]] = {
    "$lt": np.less,
    "$lte": np.less_equal,
    "$gt": np.greater,
    "$gte": np.greater_equal,
}


@dataclass(frozen=True)
class Column:
    """One field's values in the records that have it (its entries)."""

    rows: np.ndarray | None  # int32, ascending: the records holding the field; None: every record, in order
    kinds: np.ndarray  # int8, per entry
    numbers: np.ndarray | None  # float64 per entry (0 unless NUMBER); None: no numbers in the column
    ranks: np.ndarray | None  # int32 per entry: the rank in `strings` (-1 unless STRING); None: no strings
    strings: list[str]  # the distinct strings, sorted by code point
    others: dict[int, Any]  # entry -> a value of kind OTHER

    def among(self, items: list[Any]) -> np.ndarray:
        """Entries equal (as JSON) to one of ``items``."""
        hit = np.zeros(len(self.kinds), dtype=bool)
        for kind, item in ((NULL, None), (TRUE, True), (FALSE, False)):
            if any(value is item for value in items):
                hit |= self.kinds == kind
        wanted = [float(v) for v in items if _number(v) and _float_exactly(v)]
        if wanted and self.numbers is not None:
            hit |= (self.kinds == NUMBER) & _isin(self.numbers, wanted)
        ranks = [rank for rank in (self._rank(v) for v in items if type(v) is str) if rank is not None]
        if ranks and self.ranks is not None:
            hit |= _isin(self.ranks, ranks)  # only strings have a rank of 0 or more
        for entry, value in self.others.items():
            hit[entry] = any(filters.equal(value, item) for item in items)
        return hit

    def compared(self, operator: str, bound: int | float | str) -> np.ndarray:
        """Entries that are ``operator`` (``$lt``...) ``bound``: numbers against a number, strings against a string."""
        if isinstance(bound, str):
            if self.ranks is None:
                hit = np.zeros(len(self.kinds), dtype=bool)
            else:
                bisect, below = STRING_CUTS[operator]
                cut = bisect(self.strings, bound)
                hit = (self.ranks >= 0) & (self.ranks < cut) if below else self.ranks >= cut
        elif self.numbers is None:
            hit = np.zeros(len(self.kinds), dtype=bool)
        else:
            nearest = _nearest_float(bound)
            hit = NUMBER_TESTS[operator](self.numbers, nearest)
            if nearest != bound:  # a huge integer: values equal to its nearest float decide exactly
                hit = np.where(self.numbers == nearest, filters.COMPARISONS[operator](nearest, bound), hit)
            hit &= self.kinds == NUMBER
        for entry, value in self.others.items():
            hit[entry] = filters.comparable(value, bound) and filters.COMPARISONS[operator](value, bound)
        return hit

    def _rank(self, string: str) -> int | None:
        rank = bisect_left(self.strings, string)
        return rank if rank < len(self.strings) and self.strings[rank] == string else None


class FieldIndex:
    """The fields of a collection's records, in the order given, for masks of filters over them."""

    def __init__(self, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self.keys: list[str] = []
        values: dict[str, tuple[list[int], list[Any]]] = {}
        for row, (key, fields) in enumerate(records):
            self.keys.append(key)
            for name, value in fields.items():
                rows, found = values.setdefault(name, ([], []))
                rows.append(row)
                found.append(value)
        self.columns = {name: _column(rows, found, len(self.keys)) for name, (rows, found) in values.items()}

    def __len__(self) -> int:
        return len(self.keys)

    def mask(self, query: dict[str, Any]) -> np.ndarray:
        """Whether each record (in order) matches a checked filter, as `filters.matches` decides."""
        result = np.ones(len(self.keys), dtype=bool)
        for field, condition in query.items():
            if field == "$and":
                for part in condition:
                    result &= self.mask(part)
            elif field == "$or":
                either = np.zeros(len(self.keys), dtype=bool)
                for part in condition:
                    either |= self.mask(part)
                result &= either
            else:
                result &= self._field(field, condition)
        return result

    def selected(self, query: dict[str, Any]) -> set[str]:
        """The keys of the records a checked filter matches."""
        mask = self.mask(query)
        rows = np.flatnonzero(mask)
        if len(rows) * 8 < len(mask):  # a few: fetched by row; many: picked in one pass
            return {self.keys[row] for row in rows.tolist()}
        return set(compress(self.keys, mask.tolist()))

    def _field(self, field: str, condition: Any) -> np.ndarray:
        """Records whose ``field`` meets ``condition`` (a value, or operators all of which must hold)."""
        if isinstance(condition, dict) and any(key.startswith("$") for key in condition):
            tests = list(condition.items())
        else:
            tests = [("$in", [condition])]
        # a missing field reads as null: it meets equality with null, never a bound
        missing = all(operator == "$in" and any(item is None for item in operand) for operator, operand in tests)
        column = self.columns.get(field)
        if column is None:
            return np.full(len(self.keys), missing)
        hit = np.ones(len(column.kinds), dtype=bool)
        for operator, operand in tests:
            hit &= column.among(operand) if operator == "$in" else column.compared(operator, operand)
        if column.rows is None:
            return hit
        result = np.full(len(self.keys), missing)
        result[column.rows] = hit
        return result


def _column(rows: list[int], values: list[Any], total: int) -> Column:
    """A column of ``values`` held by ``rows`` (ascending) of ``total`` records."""
    strings = sorted({value for value in values if type(value) is str})
    rank_of = {string: rank for rank, string in enumerate(strings)}
    kinds, numbers, ranks, others = [], [], [], {}
    for entry, value in enumerate(values):
        kind = type(value)
        number, rank = 0.0, -1
        if kind is str:
            code, rank = STRING, rank_of[value]
        elif kind is float or (kind is int and -EXACT_INTEGERS <= value <= EXACT_INTEGERS):
            code, number = NUMBER, value
        elif value is None:
            code = NULL
        elif kind is bool:
            code = TRUE if value else FALSE
        else:
            code, others[entry] = OTHER, value
        kinds.append(code)
        numbers.append(number)
        ranks.append(rank)
    kind_array = np.array(kinds, dtype=np.int8)
    return Column(
        rows=None if len(rows) == total else np.array(rows, dtype=np.int32),
        kinds=kind_array,
        numbers=np.array(numbers, dtype=np.float64) if (kind_array == NUMBER).any() else None,
        ranks=np.array(ranks, dtype=np.int32) if strings else None,
        strings=strings,
        others=others,
    )


def _number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _float_exactly(value: int | float) -> bool:
    """Whether the float nearest ``value`` is ``value`` (a huge integer may have none, or another)."""
    try:
        return float(value) == value
    except OverflowError:
        return False


def _nearest_float(value: int | float) -> float:
    """``value`` as a float, infinite beyond float64's range: it still orders the same against every float."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _isin(values: np.ndarray, wanted: list[Any]) -> np.ndarray:
    return values == wanted[0] if len(wanted) == 1 else np.isin(values, wanted)
