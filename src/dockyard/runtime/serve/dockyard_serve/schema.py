"""Feature schema derived from the model, and per-row validation against it.

Every request is validated *before* it is queued, so a bad row is answered with a 422 naming
the row and the field instead of failing a whole micro-batch of other people's requests.
Validation is the per-request cost on the hot path: one checker per feature is picked once,
and the happy path is a type test and an append.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: JSON types a feature can have (OpenAPI names). "any" accepts any JSON value.
FEATURE_TYPES = ("number", "integer", "string", "boolean", "array", "object", "any")

#: Report at most this many problems in one 422 answer: enough to fix a request, bounded size.
MAX_ERRORS = 20

_MAX_FLOAT = 1.7976931348623157e308
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MISSING: Any = object()


@dataclass(frozen=True)
class Feature:
    """One model input column: its name, JSON type, and whether it may be null or omitted."""

    name: str
    type: str = "number"
    nullable: bool = False
    required: bool = True
    default: Any = None
    description: str | None = None
    #: A valid value to show in the API docs (e.g. a known category of a string column).
    example: Any = None
    #: The only values accepted (the categories of an encoder that errors on unknown ones).
    enum: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if self.type not in FEATURE_TYPES:
            raise ValueError(f"feature {self.name!r}: unknown type {self.type!r}")


@dataclass(frozen=True)
class FieldError:
    """A problem with one value of one row; ``field`` is None when the row itself is wrong."""

    row: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


class InvalidInput(Exception):
    """The request's rows do not match the schema; carries every problem found (bounded)."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors[:3]))
        self.errors = list(errors)


class _Invalid(Exception):
    """Raised by a checker; cheap to raise because it is off the happy path."""


@dataclass(frozen=True)
class Schema:
    """The ordered features a model takes. ``named`` is False when the model carries no
    feature names and the names shown (``f0``, ``f1``…) are positions made readable."""

    features: tuple[Feature, ...]
    named: bool = True
    _checks: tuple[Callable[[Any], Any], ...] = field(init=False, repr=False, compare=False)
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _required: int = field(init=False, repr=False, compare=False)
    _numeric: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "_checks", tuple(_checker(f) for f in self.features))
        set_(self, "_index", {f.name: i for i, f in enumerate(self.features)})
        set_(self, "_required", _required_prefix(self.features))
        # All plain numbers (the common tabular case): rows can be checked in bulk.
        set_(self, "_numeric", all(f.type == "number" and f.enum is None for f in self.features))

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def __len__(self) -> int:
        return len(self.features)

    def index(self, name: str) -> int | None:
        return self._index.get(name)

    def validate_records(self, records: Sequence[Any]) -> list[list[Any]]:
        """``[{"name": value}, …]`` → rows in feature order; raise :class:`InvalidInput`."""
        rows: list[list[Any]] = []
        errors: list[FieldError] = []
        pairs = tuple(zip(self.features, self._checks, strict=False))
        names = self.names if self._numeric else []
        for i, record in enumerate(records):
            fast = _numeric_record(record, names) if names else None
            if fast is not None:
                rows.append(fast)
            elif type(record) is not dict:
                errors.append(FieldError(i, None, "each instance must be a JSON object"))
            else:
                rows.append(self._record_row(i, record, pairs, errors))
            if len(errors) >= MAX_ERRORS:
                break
        if errors:
            raise InvalidInput(errors[:MAX_ERRORS])
        return rows

    def _record_row(
        self,
        i: int,
        record: dict[str, Any],
        pairs: tuple[tuple[Feature, Callable[[Any], Any]], ...],
        errors: list[FieldError],
    ) -> list[Any]:
        row: list[Any] = []
        present = 0
        for feature, check in pairs:
            value = record.get(feature.name, _MISSING)
            if value is _MISSING:
                if feature.required:
                    errors.append(FieldError(i, feature.name, "missing feature"))
                row.append(feature.default)
                continue
            present += 1
            try:
                row.append(check(value))
            except _Invalid as exc:
                errors.append(FieldError(i, feature.name, str(exc)))
                row.append(None)
        if present != len(record):
            for key in record:
                if key not in self._index:
                    errors.append(FieldError(i, str(key), "unknown feature"))
        return row

    def validate_rows(self, rows: Sequence[Any]) -> list[list[Any]]:
        """``[[v0, v1, …], …]`` in feature order → checked rows; raise :class:`InvalidInput`."""
        out: list[list[Any]] = []
        errors: list[FieldError] = []
        n_all = len(self.features)
        n_required = self._required
        numeric = self._numeric
        for i, values in enumerate(rows):
            if numeric and type(values) is list and len(values) == n_all and _plain_numbers(values):
                out.append(values)
            elif type(values) is not list:
                errors.append(FieldError(i, None, "each input row must be a JSON array"))
            elif not n_required <= len(values) <= n_all:
                errors.append(FieldError(i, None, _arity_message(len(values), n_required, n_all)))
            else:
                out.append(self._positional_row(i, values, errors))
            if len(errors) >= MAX_ERRORS:
                break
        if errors:
            raise InvalidInput(errors[:MAX_ERRORS])
        return out

    def _positional_row(self, i: int, values: list[Any], errors: list[FieldError]) -> list[Any]:
        row: list[Any] = []
        for feature, check, value in zip(self.features, self._checks, values, strict=False):
            try:
                row.append(check(value))
            except _Invalid as exc:
                errors.append(FieldError(i, feature.name, str(exc)))
                row.append(None)
        # Trailing optional features that the row left out take their defaults.
        row.extend(f.default for f in self.features[len(values) :])
        return row


def _numeric_record(record: Any, names: list[str]) -> list[Any] | None:
    """Fast path for an all-number schema: the record's values in order, or None."""
    if type(record) is not dict or len(record) != len(names):
        return None
    try:
        values = [record[name] for name in names]
    except KeyError:
        return None
    return values if _plain_numbers(values) else None


def _plain_numbers(values: list[Any]) -> bool:
    """Fast path: only floats and ints, all finite (anything else takes the slow path that
    says exactly what is wrong)."""
    if not {type(v) for v in values} <= _NUMBER_TYPES:
        return False
    try:
        total = math.fsum(values)
    except (OverflowError, ValueError):  # an int too large for a float; inf + -inf
        return False
    return total - total == 0.0  # false for inf and nan (also when finite values overflow)


_NUMBER_TYPES = frozenset((float, int))


def _required_prefix(features: Sequence[Feature]) -> int:
    """Rows may leave out optional features only at the end: count up to the last required."""
    last = -1
    for i, f in enumerate(features):
        if f.required:
            last = i
    return last + 1


def _arity_message(got: int, low: int, high: int) -> str:
    expected = str(high) if low == high else f"{low} to {high}"
    return f"expected {expected} values, got {got}"


def _type_name(value: Any) -> str:
    return {
        type(None): "null",
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


def _checker(feature: Feature) -> Callable[[Any], Any]:
    """Pick the converter for a feature once; each returns the value to feed the model."""
    base = _CHECKERS[feature.type]
    if feature.enum is not None:
        base = _enum_checker(base, feature.enum)
    if not feature.nullable:
        return base
    null_value = math.nan if feature.type in ("number", "integer") else None

    def nullable(value: Any) -> Any:
        return null_value if value is None else base(value)

    return nullable


def _enum_checker(base: Callable[[Any], Any], allowed: tuple[Any, ...]) -> Callable[[Any], Any]:
    members = frozenset(allowed)
    shown = ", ".join(repr(v) for v in allowed[:10]) + (", ..." if len(allowed) > 10 else "")

    def check(value: Any) -> Any:
        value = base(value)
        if value in members:
            return value
        raise _Invalid(f"unknown category {value!r}; expected one of {shown}")

    return check


def _check_number(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        if value - value == 0.0:  # false for inf and nan, cheaper than math.isfinite
            return value
        raise _Invalid("expected a finite number")
    if kind is int:
        if -_MAX_FLOAT <= value <= _MAX_FLOAT:
            return value
        raise _Invalid("number out of range")
    raise _Invalid(f"expected number, got {_type_name(value)}")


def _check_integer(value: Any) -> Any:
    kind = type(value)
    if kind is float and value.is_integer():
        value = int(value)
        kind = int
    if kind is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            return value
        raise _Invalid("integer out of range")
    raise _Invalid(f"expected integer, got {_type_name(value)}")


def _check_type(expected: type, name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is expected:
            return value
        raise _Invalid(f"expected {name}, got {_type_name(value)}")

    return check


def _check_any(value: Any) -> Any:
    return value


_CHECKERS: dict[str, Callable[[Any], Any]] = {
    "number": _check_number,
    "integer": _check_integer,
    "string": _check_type(str, "string"),
    "boolean": _check_type(bool, "boolean"),
    "array": _check_type(list, "array"),
    "object": _check_type(dict, "object"),
    "any": _check_any,
}


def column_dtype(feature: Feature) -> str:
    """The numpy dtype a batch column of this feature is built with."""
    if feature.type == "number" or (feature.type == "integer" and feature.nullable):
        return "float64"
    if feature.type == "integer":
        return "int64"
    if feature.type == "boolean" and not feature.nullable:
        return "bool"
    return "object"


def default_names(count: int) -> list[str]:
    """Readable names for models that carry none: the position, as ``f0``, ``f1``, …"""
    return [f"f{i}" for i in range(count)]
