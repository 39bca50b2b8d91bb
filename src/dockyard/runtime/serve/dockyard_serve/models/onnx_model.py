"""ONNX models through onnxruntime.

Two input layouts are understood, the two that converters such as skl2onnx produce:

- one 2-D tensor ``[batch, n]``: n positional features (named from the model's metadata
  property ``feature_names`` when present, a comma-separated list, else ``f0``…);
- one ``[batch, 1]`` (or ``[batch]``) tensor per feature, named after the inputs (what
  skl2onnx makes from a DataFrame pipeline, strings included).

The first output is the prediction. A second output named like ``*prob*`` holds class
probabilities, as a tensor or as ZipMap's list of ``{class: p}`` maps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..schema import Feature, Schema, default_names
from .base import ModelInfo, ModelLoadError, Prediction, library_versions, to_list

# onnxruntime type string -> (feature type, numpy dtype)
_TENSOR_TYPES = {
    "tensor(float)": ("number", "float32"),
    "tensor(double)": ("number", "float64"),
    "tensor(float16)": ("number", "float16"),
    "tensor(int64)": ("integer", "int64"),
    "tensor(int32)": ("integer", "int32"),
    "tensor(int16)": ("integer", "int16"),
    "tensor(int8)": ("integer", "int8"),
    "tensor(uint8)": ("integer", "uint8"),
    "tensor(bool)": ("boolean", "bool"),
    "tensor(string)": ("string", "object"),
}


class OnnxModel:
    """An ``onnxruntime.InferenceSession`` on CPU."""

    vectorized = True

    def __init__(self, path: str, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One worker process per core already: more intra-op threads would oversubscribe.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        inputs = self._session.get_inputs()
        self._dtypes = [_tensor_type(i.name, i.type)[1] for i in inputs]
        self._names = [i.name for i in inputs]
        self._matrix = len(inputs) == 1 and len(inputs[0].shape) == 2 and _width(inputs[0]) != 1
        self.schema = self._schema(inputs)
        outputs = self._session.get_outputs()
        self._proba_index = next(
            (k for k, o in enumerate(outputs) if k > 0 and "prob" in o.name.lower()), None
        )
        self.supports_proba = self._proba_index is not None
        meta = self._session.get_modelmeta()
        self.info = ModelInfo(
            kind="onnx",
            class_name=f"onnx:{meta.producer_name or 'unknown'}:{meta.graph_name or 'graph'}",
            task="classification" if self.supports_proba else "unknown",
            libraries=library_versions("onnxruntime", "numpy"),
        )

    def _schema(self, inputs: Sequence[Any]) -> Schema:
        if self._matrix:
            width = _width(inputs[0])
            if not isinstance(width, int):
                raise ModelLoadError(
                    f"ONNX input {inputs[0].name!r} has no fixed feature count ({inputs[0].shape})"
                )
            kind = _tensor_type(inputs[0].name, inputs[0].type)[0]
            names = self._metadata_names(width)
            features = tuple(Feature(n, kind) for n in (names or default_names(width)))
            return Schema(features, named=names is not None)
        for i in inputs:
            if len(i.shape) not in (1, 2) or (len(i.shape) == 2 and _width(i) not in (1, None)):
                raise ModelLoadError(
                    f"ONNX input {i.name!r} has shape {i.shape}: serve models with one "
                    "[batch, n] input or one [batch, 1] input per feature, or use a predictor"
                )
        return Schema(tuple(Feature(i.name, _tensor_type(i.name, i.type)[0]) for i in inputs))

    def _metadata_names(self, width: int) -> list[str] | None:
        raw = self._session.get_modelmeta().custom_metadata_map.get("feature_names")
        names = [n.strip() for n in raw.split(",")] if raw else []
        return names if len(names) == width else None

    def predict(self, rows: Sequence[list[Any]], proba: bool) -> Prediction:
        import numpy as np

        if self._matrix:
            feed = {self._names[0]: np.array(rows, dtype=self._dtypes[0])}
        else:
            columns = list(zip(*rows, strict=False))
            feed = {
                name: np.array(col, dtype=dtype).reshape(-1, 1)
                for name, dtype, col in zip(self._names, self._dtypes, columns, strict=False)
            }
        outputs = self._session.run(None, feed)
        predictions = _flatten_column(outputs[0])
        probabilities = None
        if proba and self._proba_index is not None:
            probabilities = _probabilities(outputs[self._proba_index])
        return Prediction(predictions, probabilities)


def _width(tensor: Any) -> Any:
    return tensor.shape[1] if len(tensor.shape) == 2 else None


def _tensor_type(name: str, onnx_type: str) -> tuple[str, str]:
    try:
        return _TENSOR_TYPES[onnx_type]
    except KeyError:
        raise ModelLoadError(f"ONNX input {name!r} has unsupported type {onnx_type}") from None


def _flatten_column(values: Any) -> list[Any]:
    """A ``[batch, 1]`` output (regressors) becomes one value per row."""
    shape = getattr(values, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] == 1:
        values = values.reshape(-1)
    return to_list(values)


def _probabilities(values: Any) -> list[Any]:
    if isinstance(values, list) and values and isinstance(values[0], dict):
        classes = list(values[0])  # ZipMap: one {class: probability} map per row, in class order
        return [[float(row[c]) for c in classes] for row in values]
    return to_list(values)
