"""The one interface every model kind is served through, and helpers they share."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..schema import Schema, column_dtype


class ModelLoadError(Exception):
    """The model file or predictor class cannot be loaded; the message says what to fix."""


@dataclass
class Prediction:
    """Outputs for a batch: one prediction per row, optionally class probabilities."""

    predictions: list[Any]
    probabilities: list[Any] | None = None


@dataclass
class ModelInfo:
    """What /info and the OpenAPI document say about the model."""

    kind: str
    class_name: str
    task: str = "unknown"  # classification, regression or unknown
    classes: list[Any] | None = None
    libraries: dict[str, str] = field(default_factory=dict)


class Model(Protocol):
    """A loaded model, called from the single predict thread of a worker process.

    ``predict`` takes validated rows (lists in schema order) for a whole micro-batch and must
    return exactly one prediction per row, in order.
    """

    schema: Schema
    info: ModelInfo
    supports_proba: bool
    #: True when one call on N rows is much cheaper than N calls (so batching pays off).
    vectorized: bool

    def predict(self, rows: Sequence[list[Any]], proba: bool) -> Prediction: ...


def library_versions(*distributions: str) -> dict[str, str]:
    """Installed versions of the given distributions, skipping those not installed."""
    versions: dict[str, str] = {}
    for name in distributions:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def rows_to_array(rows: Sequence[list[Any]], dtype: str = "float64") -> Any:
    """A 2-D numpy array of the batch, built once per batch (not once per request)."""
    import numpy as np

    return np.array(rows, dtype=dtype)


def rows_to_frame(rows: Sequence[list[Any]], schema: Schema) -> Any:
    """A pandas DataFrame with one explicitly typed column per feature.

    Columns get a fixed dtype from the schema so that a batch whose values happen to be all
    integers is not typed differently from the next one.
    """
    import numpy as np
    import pandas as pd

    columns = list(zip(*rows, strict=False)) if rows else [() for _ in schema.features]
    data = {
        f.name: np.array(col, dtype=column_dtype(f))
        for f, col in zip(schema.features, columns, strict=False)
    }
    return pd.DataFrame(data, columns=schema.names)


def to_list(values: Any) -> list[Any]:
    """Model output (numpy array, list, pandas object) as plain JSON-ready Python values."""
    if hasattr(values, "tolist"):
        out = values.tolist()
        return out if isinstance(out, list) else [out]
    return list(values)


def class_name(obj: Any) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"
