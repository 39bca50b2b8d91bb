"""scikit-learn estimators and Pipelines, and anything with the same ``predict`` API
(XGBoost's and LightGBM's scikit-learn wrappers included).

The schema comes from what a fitted estimator remembers: ``feature_names_in_`` (set when it
was fitted on a DataFrame) for names, and the fitted ColumnTransformer's encoders for types
(a OneHotEncoder whose categories are strings marks its columns as strings).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..schema import Feature, Schema, default_names
from .base import (
    ModelInfo,
    ModelLoadError,
    Prediction,
    class_name,
    library_versions,
    rows_to_array,
    rows_to_frame,
    to_list,
)

# Transformers that take raw text (one column of strings each).
_TEXT_TRANSFORMERS = {"CountVectorizer", "TfidfVectorizer", "HashingVectorizer"}
_ENCODERS = {"OneHotEncoder", "OrdinalEncoder", "TargetEncoder"}
_IMPUTERS = {"SimpleImputer", "KNNImputer", "IterativeImputer"}
# Names LightGBM invents when fitted on a plain array: not worth building DataFrames for.
_AUTO_NAME = re.compile(r"Column_\d+")


class SklearnModel:
    """Serves ``estimator.predict`` (and ``predict_proba``) on micro-batches."""

    vectorized = True

    def __init__(self, estimator: Any) -> None:
        if not callable(getattr(estimator, "predict", None)):
            raise ModelLoadError(f"{class_name(estimator)} has no predict method")
        self._estimator = estimator
        self.schema = derive_schema(estimator)
        self._frame = self.schema.named and _pandas_available()
        self._numeric = all(f.type in ("number", "integer") for f in self.schema.features)
        self.supports_proba = hasattr(estimator, "predict_proba")
        self.info = _model_info(estimator)

    def predict(self, rows: Sequence[list[Any]], proba: bool) -> Prediction:
        X = self._inputs(rows)
        predictions = to_list(self._estimator.predict(X))
        probabilities = None
        if proba and self.supports_proba:
            # A second call rather than argmax(proba): predict is not always argmax of
            # predict_proba (SVC, calibrated models), and answers must equal predict's.
            probabilities = to_list(self._estimator.predict_proba(X))
        return Prediction(predictions, probabilities)

    def _inputs(self, rows: Sequence[list[Any]]) -> Any:
        if self._frame:
            return rows_to_frame(rows, self.schema)
        return rows_to_array(rows, "float64" if self._numeric else "object")


def derive_schema(estimator: Any) -> Schema:
    """Feature names from ``feature_names_in_``, types from a ColumnTransformer if any."""
    nan_ok = accepts_missing(_steps(estimator))
    names = _feature_names(estimator)
    if names is not None:
        typed = _column_types(estimator)
        features = tuple(typed.get(n, Feature(n, "number", nullable=nan_ok)) for n in names)
        return Schema(features, named=not all(_AUTO_NAME.fullmatch(n) for n in names))
    count = getattr(estimator, "n_features_in_", None)
    if not isinstance(count, int):
        raise ModelLoadError(
            f"cannot tell which features {class_name(estimator)} takes (no n_features_in_); "
            "is it fitted? Otherwise serve it through a predictor class (DOCKYARD_PREDICTOR)"
        )
    return Schema(
        tuple(Feature(n, "number", nullable=nan_ok) for n in default_names(count)),
        named=False,
    )


def _feature_names(estimator: Any) -> list[str] | None:
    try:
        names = getattr(estimator, "feature_names_in_", None)
    except Exception:  # some wrappers raise NotFittedError or ValueError from the property
        return None
    return None if names is None else [str(n) for n in names]


def _pandas_available() -> bool:
    """DataFrames only when pandas is there to build them (a model fitted on a DataFrame
    still predicts from an array, with a warning, if the image lacks pandas)."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def allows_nan(estimator: Any) -> bool:
    """Whether the estimator accepts NaN (missing values), from scikit-learn's tags."""
    try:
        from sklearn.utils import get_tags  # scikit-learn >= 1.6

        return bool(get_tags(estimator).input_tags.allow_nan)
    except Exception:
        pass
    try:
        return bool(estimator._get_tags().get("allow_nan", False))  # scikit-learn < 1.6
    except Exception:
        module = type(estimator).__module__
        return module.startswith(("xgboost", "lightgbm"))


def accepts_missing(steps: list[Any]) -> bool:
    """Whether NaN can go through these steps in order: an imputer fills it for the steps
    after it; a step that does not allow NaN (by its tags) would raise."""
    for step in steps:
        if isinstance(step, str) or step is None:  # "passthrough"
            continue
        if type(step).__name__ in _IMPUTERS:
            return True
        if not allows_nan(step):
            return False
    return True


def _steps(estimator: Any) -> list[Any]:
    """A Pipeline's steps, flattened (nested Pipelines included); an estimator alone."""
    if hasattr(estimator, "steps"):
        return [s for _, step in estimator.steps for s in _steps(step)]
    return [estimator]


def _column_types(estimator: Any) -> dict[str, Feature]:
    """Per-column features of the first ColumnTransformer found (Pipeline's first step)."""
    steps = _steps(estimator)
    transformer = steps[0]
    if type(transformer).__name__ != "ColumnTransformer":
        return {}
    after = steps[1:]  # what sees the ColumnTransformer's output
    names = _feature_names(transformer) or []
    indices: dict[str, list[int]] = getattr(transformer, "_transformer_to_input_indices", {})
    typed: dict[str, Feature] = {}
    for name, fitted, _columns in getattr(transformer, "transformers_", []):
        for position, index in enumerate(indices.get(name, [])):
            if 0 <= index < len(names):
                column = names[index]
                typed[column] = _column_feature(column, fitted, position, after)
    return typed


def _first_step(estimator: Any) -> Any:
    while hasattr(estimator, "steps") and estimator.steps:
        estimator = estimator.steps[0][1]
    return estimator


def _column_feature(column: str, transformer: Any, position: int, after: list[Any]) -> Feature:
    """Type of one input column from the (fitted) transformer that consumes it."""
    if isinstance(transformer, str):  # "drop" or "passthrough"
        if transformer == "drop":
            return Feature(column, "any", nullable=True)
        return Feature(column, "number", nullable=accepts_missing(after))
    first = _first_step(transformer)
    name = type(first).__name__
    nullable = accepts_missing([*_steps(transformer), *after])
    if name in _TEXT_TRANSFORMERS:
        return Feature(column, "string")
    if name == "FunctionTransformer":
        return Feature(column, "any", nullable=True)
    if name in _ENCODERS and hasattr(first, "categories_"):
        categories = first.categories_[position] if position < len(first.categories_) else None
        kind = _dtype_type(categories)
        values = _plain_values(categories)
        seen_missing = any(v is None or v != v for v in values)  # None/NaN was a category
        known = [v for v in values if v is not None and v == v]
        # An encoder that raises on unknown categories accepts exactly the known ones: say so
        # in the schema, and refuse others with a 422 naming the field.
        strict = getattr(first, "handle_unknown", "error") == "error" and kind != "number"
        # Encoded output never holds NaN: a lenient encoder takes null as one more unknown.
        nullable = seen_missing if strict else True
        example = known[0] if known else None
        enum = tuple(known) if strict and known else None
        return Feature(column, kind, nullable=nullable, example=example, enum=enum)
    if name == "SimpleImputer" and hasattr(first, "statistics_"):
        stats = first.statistics_
        if getattr(stats, "dtype", None) is not None and stats.dtype.kind in "OUS":
            return Feature(column, "string", nullable=True)
    return Feature(column, "number", nullable=nullable)


def _plain_values(categories: Any) -> list[Any]:
    """Categories as plain Python values (numpy scalars unwrapped)."""
    values = list(categories) if categories is not None else []
    return [v.item() if hasattr(v, "item") else v for v in values]


def _task(estimator: Any) -> str:
    try:
        from sklearn.base import is_regressor

        return "regression" if is_regressor(estimator) else "unknown"
    except Exception:
        return "unknown"


def _dtype_type(values: Any) -> str:
    kind = getattr(getattr(values, "dtype", None), "kind", "O")
    return {"i": "integer", "u": "integer", "f": "number", "b": "boolean"}.get(kind, "string")


def _model_info(estimator: Any) -> ModelInfo:
    module = type(estimator).__module__.split(".")[0]
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    final_module = type(final).__module__.split(".")[0]
    kind = "sklearn" if final_module == "sklearn" else f"{final_module}-sklearn"
    classes = getattr(estimator, "classes_", None)
    is_classifier = classes is not None
    task = "classification" if is_classifier else _task(estimator)
    libraries = library_versions("scikit-learn", "numpy", "scipy", "pandas", "joblib")
    libraries.update(library_versions(*{module, final_module} - {"sklearn"}))
    return ModelInfo(
        kind=kind,
        class_name=class_name(estimator),
        task=task,
        classes=to_list(classes) if is_classifier else None,
        libraries=libraries,
    )
