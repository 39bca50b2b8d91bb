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
from .sklearn_columns import accepts_missing, column_types, feature_names, steps

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
    nan_ok = accepts_missing(steps(estimator))
    names = feature_names(estimator)
    if names is not None:
        typed = column_types(estimator)
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


def _pandas_available() -> bool:
    """DataFrames only when pandas is there to build them (a model fitted on a DataFrame
    still predicts from an array, with a warning, if the image lacks pandas)."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def _task(estimator: Any) -> str:
    try:
        from sklearn.base import is_regressor

        return "regression" if is_regressor(estimator) else "unknown"
    except Exception:
        return "unknown"


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
