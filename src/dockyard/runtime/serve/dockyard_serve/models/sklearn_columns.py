"""Column types of a scikit-learn Pipeline, read from what its ColumnTransformer does with
each column — so that a wrong value is refused with a 422 naming the field and the row
before the model sees it (the model's own error names neither).

- routed to an encoder (after imputers, if any): categorical, typed like its fitted
  ``categories_``; those become an ``enum`` when unknown categories would raise;
- routed to text vectorisers: string; to an imputer filling strings: string;
- routed to scalers, numeric imputers, discretisers and the like anywhere in its branch
  (also after a FunctionTransformer such as ``np.log1p``), or passed through: number;
- a FunctionTransformer alone, or dropped: any (nothing says what it takes).

Search CVs, calibrated classifiers and TransformedTargetRegressor are looked through to the
pipeline they fitted.
"""

from __future__ import annotations

from typing import Any

from ..schema import Feature

# Transformers that take raw text (one column of strings each).
_TEXT_TRANSFORMERS = {"CountVectorizer", "TfidfVectorizer", "HashingVectorizer"}
_ENCODERS = {"OneHotEncoder", "OrdinalEncoder", "TargetEncoder"}
_IMPUTERS = {"SimpleImputer", "KNNImputer", "IterativeImputer", "MissingIndicator"}
# Transformers that only take numbers: a column routed through one of them is numeric.
_NUMERIC = {
    "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer",
    "PowerTransformer", "QuantileTransformer", "KBinsDiscretizer", "PolynomialFeatures",
    "SplineTransformer", "Binarizer", "KNNImputer", "IterativeImputer",
}  # fmt: skip
# Meta-estimators and the attribute holding the fitted estimator they wrap.
_WRAPPED = ("best_estimator_", "regressor_", "estimator_")


def feature_names(estimator: Any) -> list[str] | None:
    try:
        names = getattr(estimator, "feature_names_in_", None)
    except Exception:  # some wrappers raise NotFittedError or ValueError from the property
        return None
    return None if names is None else [str(n) for n in names]


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


def steps(estimator: Any) -> list[Any]:
    """A Pipeline's steps, flattened (nested Pipelines and fitted wrappers looked through);
    an estimator alone."""
    if hasattr(estimator, "steps"):
        return [s for _, step in estimator.steps for s in steps(step)]
    inner = _wrapped(estimator)
    return [estimator] if inner is None else steps(inner)


def _wrapped(estimator: Any) -> Any:
    """The fitted estimator a meta-estimator wraps, or None."""
    for attr in _WRAPPED:
        try:
            inner = getattr(estimator, attr, None)
        except Exception:  # refit=False, not fitted...
            inner = None
        if inner is not None and hasattr(inner, "fit"):
            return inner
    calibrated = getattr(estimator, "calibrated_classifiers_", None)
    if calibrated:
        return getattr(calibrated[0], "estimator", None)
    return None


def column_types(estimator: Any) -> dict[str, Feature]:
    """Per-column features of the ColumnTransformer the pipeline starts with, if any."""
    flat = steps(estimator)
    transformer = flat[0]
    if type(transformer).__name__ != "ColumnTransformer":
        return {}
    after = flat[1:]  # what sees the ColumnTransformer's output
    names = feature_names(transformer) or []
    indices: dict[str, list[int]] = getattr(transformer, "_transformer_to_input_indices", {})
    typed: dict[str, Feature] = {}
    for name, fitted, _columns in getattr(transformer, "transformers_", []):
        for position, index in enumerate(indices.get(name, [])):
            if 0 <= index < len(names):
                column = names[index]
                typed[column] = _column_feature(column, fitted, position, after)
    return typed


def _column_feature(column: str, transformer: Any, position: int, after: list[Any]) -> Feature:
    """Type of one input column from the (fitted) branch that consumes it."""
    if isinstance(transformer, str):  # "drop" or "passthrough" (older scikit-learn)
        if transformer == "drop":
            return Feature(column, "any", nullable=True)
        return Feature(column, "number", nullable=accepts_missing(after))
    branch = steps(transformer)
    names = [type(step).__name__ for step in branch]
    nullable = accepts_missing([*branch, *after])
    if names[0] in _TEXT_TRANSFORMERS:
        return Feature(column, "string")
    encoder = _encoder(branch)
    if encoder is not None:
        imputed = type(branch[0]).__name__ in _IMPUTERS  # null is filled before encoding
        return _categorical(column, encoder, position, imputed)
    if names[0] == "SimpleImputer" and _fills_strings(branch[0]):
        return Feature(column, "string", nullable=True)
    if any(_numeric(step) for step in branch) or all(_identity(step) for step in branch):
        return Feature(column, "number", nullable=nullable)
    if "FunctionTransformer" in names:
        return Feature(column, "any", nullable=True)
    return Feature(column, "number", nullable=nullable)


def _encoder(branch: list[Any]) -> Any:
    """The encoder that sees the raw column (only imputers before it), or None."""
    for step in branch:
        name = type(step).__name__
        if name in _ENCODERS and hasattr(step, "categories_"):
            return step
        if name not in _IMPUTERS:
            return None
    return None


def _categorical(column: str, encoder: Any, position: int, imputed: bool) -> Feature:
    categories = encoder.categories_[position] if position < len(encoder.categories_) else None
    kind = _dtype_type(categories)
    values = _plain_values(categories)
    seen_missing = any(v is None or v != v for v in values)  # None/NaN was a category
    known = [v for v in values if v is not None and v == v]
    # An encoder that raises on unknown categories accepts exactly the known ones: say so
    # in the schema, and refuse others with a 422 naming the field.
    strict = getattr(encoder, "handle_unknown", "error") == "error" and kind != "number"
    # Encoded output never holds NaN: a lenient encoder takes null as one more unknown.
    nullable = seen_missing or imputed if strict else True
    example = known[0] if known else None
    enum = tuple(known) if strict and known else None
    description = None
    if not strict and known:  # still worth showing: the values the model learned from
        shown = ", ".join(map(str, known[:20])) + (", ..." if len(known) > 20 else "")
        description = f"known categories: {shown} (others are accepted)"
    return Feature(
        column, kind, nullable=nullable, example=example, enum=enum, description=description
    )


def _numeric(step: Any) -> bool:
    name = type(step).__name__
    return name in _NUMERIC or (name == "SimpleImputer" and not _fills_strings(step))


def _identity(step: Any) -> bool:
    """A fitted "passthrough": FunctionTransformer without a function."""
    return type(step).__name__ == "FunctionTransformer" and getattr(step, "func", 0) is None


def _fills_strings(imputer: Any) -> bool:
    stats = getattr(imputer, "statistics_", None)
    return getattr(getattr(stats, "dtype", None), "kind", "") in ("O", "U", "S")


def _plain_values(categories: Any) -> list[Any]:
    """Categories as plain Python values (numpy scalars unwrapped)."""
    values = list(categories) if categories is not None else []
    return [v.item() if hasattr(v, "item") else v for v in values]


def _dtype_type(values: Any) -> str:
    kind = getattr(getattr(values, "dtype", None), "kind", "O")
    return {"i": "integer", "u": "integer", "f": "number", "b": "boolean"}.get(kind, "string")
