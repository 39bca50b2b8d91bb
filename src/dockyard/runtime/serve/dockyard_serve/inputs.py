"""Request bodies → validated rows: JSON records, JSON rows, or CSV.

Malformed bodies are the client's fault and are answered, never raised further:
:class:`BadRequest` (400) when the body is not JSON/CSV at all, :class:`InvalidInput` (422,
from :mod:`schema`) when it is but does not fit the model's schema.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from typing import Any

import orjson

from .schema import Feature, FieldError, InvalidInput, Schema


class BadRequest(Exception):
    """The body cannot be parsed (400)."""


class UnsupportedMediaType(Exception):
    """The Content-Type is neither JSON nor CSV (415)."""


class TooManyRows(Exception):
    """More rows than ``DOCKYARD_MAX_ROWS`` in one request (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} rows in one request; send them in several")


JSON_TYPES = ("application/json", "")  # a missing Content-Type is taken as JSON
CSV_TYPES = ("text/csv", "application/csv")


def parse_body(
    body: bytes, content_type: str, schema: Schema, max_rows: int
) -> list[list[Any]]:
    """Rows in schema order from a request body; raises BadRequest, InvalidInput,
    TooManyRows, UnsupportedMediaType."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or media.endswith("+json"):
        return parse_json(body, schema, max_rows)
    if media in CSV_TYPES:
        return parse_csv(body, schema, max_rows)
    raise UnsupportedMediaType(
        f"unsupported Content-Type {media!r}: use application/json or text/csv"
    )


def parse_json(body: bytes, schema: Schema, max_rows: int) -> list[list[Any]]:
    _count_containers(body, schema, max_rows)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if type(document) is not dict:
        raise InvalidInput(
            [FieldError(None, None, 'expected an object with "instances" or "inputs"')]
        )
    keys = document.keys()
    if len(keys) != 1 or not ("instances" in keys or "inputs" in keys):
        unknown = [k for k in keys if k not in ("instances", "inputs")]
        message = (
            f"unknown key {unknown[0]!r}"
            if unknown
            else 'give either "instances" or "inputs", not both'
        )
        if not keys:
            message = 'expected "instances" (records) or "inputs" (rows)'
        raise InvalidInput([FieldError(None, unknown[0] if unknown else None, message)])
    key = "instances" if "instances" in keys else "inputs"
    items = document[key]
    if type(items) is not list or not items:
        raise InvalidInput([FieldError(None, key, "expected a non-empty array")])
    if len(items) > max_rows:
        raise TooManyRows(max_rows)
    if key == "instances":
        return schema.validate_records(items)
    return schema.validate_rows(items)


# A JSON string, escapes included: what may hide brackets that are not containers.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NESTING_TYPES = ("array", "object", "any")


def _count_containers(body: bytes, schema: Schema, max_rows: int) -> None:
    """Refuse a body with more rows than allowed *before* parsing it.

    Parsing holds the GIL: millions of one-value rows took orjson seconds, during which the
    worker answered nothing, /health included. A valid body has one array or object per row
    plus two around them, unless features themselves are arrays or objects, so counting
    brackets outside strings (at memory speed) is exact enough to refuse early.
    """
    limit = max_rows + 2
    if body.count(b"[") + body.count(b"{") <= limit:
        return  # every normal request ends here
    if any(f.type in _NESTING_TYPES for f in schema.features):
        return  # nested values are legitimate: the row count after parsing decides
    stripped = _JSON_STRING.sub(b'""', body)
    if stripped.count(b"[") + stripped.count(b"{") > limit:
        raise TooManyRows(max_rows)


def parse_csv(body: bytes, schema: Schema, max_rows: int) -> list[list[Any]]:
    """CSV with a header row of feature names (any order), or without a header in schema order.

    A first line is a header when every cell in it is a feature name. Reading stops past
    ``max_rows`` data lines (plus the header), so an oversized body costs no more than that.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("CSV body is not UTF-8") from None
    try:
        nonblank = (line for line in csv.reader(io.StringIO(text)) if line)
        lines = list(itertools.islice(nonblank, max_rows + 2))
    except csv.Error as exc:
        raise BadRequest(f"malformed CSV: {exc}") from None
    if lines and all(schema.index(cell) is not None for cell in lines[0]):
        header, lines = lines[0], lines[1:]
    else:
        header = schema.names[: max((len(line) for line in lines), default=0)]
    if not lines:
        raise InvalidInput([FieldError(None, None, "CSV body has no data rows")])
    if len(lines) > max_rows:
        raise TooManyRows(max_rows)
    records, errors = _csv_records(header, lines, schema)
    if errors:
        raise InvalidInput(errors)
    return schema.validate_records(records)


def _csv_records(
    header: list[str], lines: list[list[str]], schema: Schema
) -> tuple[list[dict[str, Any]], list[FieldError]]:
    features = {f.name: f for f in schema.features}
    records: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for i, line in enumerate(lines):
        if len(line) != len(header):
            errors.append(FieldError(i, None, f"expected {len(header)} values, got {len(line)}"))
            continue
        record: dict[str, Any] = {}
        for name, cell in zip(header, line, strict=False):
            feature = features.get(name)
            try:
                record[name] = _csv_value(cell, feature) if feature else cell
            except ValueError:
                errors.append(FieldError(i, name, f"cannot read {cell!r} as {feature.type}"))  # type: ignore[union-attr]
        records.append(record)
    return records, errors[:20]


def _csv_value(cell: str, feature: Feature) -> Any:
    """CSV cells are text: convert to the feature's JSON type (empty cell = null)."""
    if cell == "" and feature.type != "string":
        return None
    kind = feature.type
    if kind == "number":
        return float(cell)
    if kind == "integer":
        return int(cell)
    if kind == "boolean":
        lowered = cell.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(cell)
    if kind in ("array", "object"):
        try:
            return orjson.loads(cell)
        except orjson.JSONDecodeError:
            raise ValueError(cell) from None
    return cell
