"""Request bodies → validated rows: JSON records, JSON rows, or CSV.

Malformed bodies are the client's fault and are answered, never raised further:
:class:`BadRequest` (400) when the body is not JSON/CSV at all, :class:`InvalidInput` (422,
from :mod:`schema`) when it is but does not fit the model's schema.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from .schema import Feature, FieldError, InvalidInput, Schema


class BadRequest(Exception):
    """The body cannot be parsed (400)."""


class UnsupportedMediaType(Exception):
    """The Content-Type is neither JSON nor CSV (415)."""


JSON_TYPES = ("application/json", "")  # a missing Content-Type is taken as JSON
CSV_TYPES = ("text/csv", "application/csv")


def parse_body(body: bytes, content_type: str, schema: Schema) -> list[list[Any]]:
    """Rows in schema order from a request body; raises BadRequest, InvalidInput,
    UnsupportedMediaType."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or media.endswith("+json"):
        return parse_json(body, schema)
    if media in CSV_TYPES:
        return parse_csv(body, schema)
    raise UnsupportedMediaType(
        f"unsupported Content-Type {media!r}: use application/json or text/csv"
    )


def parse_json(body: bytes, schema: Schema) -> list[list[Any]]:
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
    if key == "instances":
        return schema.validate_records(items)
    return schema.validate_rows(items)


def parse_csv(body: bytes, schema: Schema) -> list[list[Any]]:
    """CSV with a header row of feature names (any order), or without a header in schema order.

    A first line is a header when every cell in it is a feature name.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("CSV body is not UTF-8") from None
    try:
        lines = [line for line in csv.reader(io.StringIO(text)) if line]
    except csv.Error as exc:
        raise BadRequest(f"malformed CSV: {exc}") from None
    if lines and all(schema.index(cell) is not None for cell in lines[0]):
        header, lines = lines[0], lines[1:]
    else:
        header = schema.names[: max((len(line) for line in lines), default=0)]
    if not lines:
        raise InvalidInput([FieldError(None, None, "CSV body has no data rows")])
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
