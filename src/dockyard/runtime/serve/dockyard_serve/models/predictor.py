"""User predictor classes: anything else (PyTorch, transformers, rules) behind the same API.

The contract, kept deliberately small::

    class Predictor:
        batched = False            # optional; True means predict takes columns (lists)

        def setup(self) -> None:   # optional; or setup(self, model_path: str | None)
            self.model = load_weights()

        def predict(self, text: str, max_length: int = 64) -> str:
            return self.model(text, max_length)

The type hints of ``predict`` are the input schema: each parameter is a feature (``float``,
``int``, ``str``, ``bool``, ``list``, ``dict``, ``X | None`` for nullable, a default makes it
optional). With ``batched = True`` every parameter is annotated ``list[X]`` and receives one
list per feature for the whole micro-batch, and ``predict`` returns one result per row — the
way to let a vectorised model profit from micro-batching. An optional ``predict_proba`` with
the same parameters answers ``?proba=true``.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..schema import Feature, Schema
from .base import ModelInfo, ModelLoadError, Prediction, class_name, library_versions, to_list

_SCALARS: dict[Any, str] = {float: "number", int: "integer", str: "string", bool: "boolean"}
_CONTAINERS: dict[Any, str] = {list: "array", tuple: "array", dict: "object"}


class PredictorModel:
    """Wraps an instance of the user's class; ``predict`` runs in the predict thread."""

    def __init__(self, instance: Any, model_path: str | None) -> None:
        self._instance = instance
        self.vectorized = bool(getattr(instance, "batched", False))
        self._predict: Callable[..., Any] = instance.predict
        self._proba: Callable[..., Any] | None = getattr(instance, "predict_proba", None)
        self.supports_proba = callable(self._proba)
        self.schema = signature_schema(self._predict, self.vectorized)
        self._names = self.schema.names
        self.info = ModelInfo(
            kind="predictor",
            class_name=class_name(instance),
            libraries=library_versions("numpy", "torch", "transformers", "tensorflow", "jax"),
        )

    def predict(self, rows: Sequence[list[Any]], proba: bool) -> Prediction:
        predictions = self._call(self._predict, rows)
        probabilities = None
        if proba and self._proba is not None:
            probabilities = self._call(self._proba, rows)
        return Prediction(predictions, probabilities)

    def _call(self, fn: Callable[..., Any], rows: Sequence[list[Any]]) -> list[Any]:
        if not self.vectorized:
            return [fn(**dict(zip(self._names, row, strict=False))) for row in rows]
        columns = list(zip(*rows, strict=False))
        result = to_list(fn(**{n: list(c) for n, c in zip(self._names, columns, strict=False)}))
        if len(result) != len(rows):
            raise RuntimeError(
                f"batched {fn.__qualname__} returned {len(result)} results for {len(rows)} rows"
            )
        return result


def load_predictor(spec: str, model_path: str | None) -> PredictorModel:
    """Import ``module:Class``, instantiate it and run its ``setup`` once."""
    module_name, _, attr = spec.partition(":")
    # The project's own code sits in the working directory of the container.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ModelLoadError(f"cannot import predictor {spec!r}: {exc}") from exc
    instance = cls()
    if not callable(getattr(instance, "predict", None)):
        raise ModelLoadError(f"predictor {spec!r} has no predict method")
    setup = getattr(instance, "setup", None)
    if callable(setup):
        params = inspect.signature(setup).parameters
        setup(model_path) if params else setup()
    return PredictorModel(instance, model_path)


def signature_schema(fn: Callable[..., Any], batched: bool) -> Schema:
    """One feature per parameter of ``fn``, typed from its annotations."""
    hints = _type_hints(fn)
    features = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise ModelLoadError(
                f"{fn.__qualname__}: parameter {param.name!r} must be a plain named parameter"
            )
        hint = hints.get(param.name, Any)
        if batched:
            hint = _list_item(fn, param.name, hint)
        kind, nullable = hint_type(hint)
        required = param.default is inspect.Parameter.empty
        default = None if required else param.default
        features.append(Feature(param.name, kind, nullable, required, default))
    return Schema(tuple(features))


def _type_hints(fn: Callable[..., Any]) -> Mapping[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to "any"
        return {}


def _list_item(fn: Callable[..., Any], name: str, hint: Any) -> Any:
    if typing.get_origin(hint) in (list, Sequence) and typing.get_args(hint):
        return typing.get_args(hint)[0]
    if hint is Any:
        return Any
    raise ModelLoadError(f"{fn.__qualname__}: batched parameter {name!r} must be list[...]")


def hint_type(hint: Any) -> tuple[str, bool]:
    """A type hint as (JSON type, nullable)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(hint))
        kind = hint_type(args[0])[0] if len(args) == 1 else "any"
        return kind, nullable
    if hint in _SCALARS:
        return _SCALARS[hint], False
    container = _CONTAINERS.get(origin or hint)
    if container is not None:
        return container, False
    return "any", hint is Any
