"""Native XGBoost and LightGBM boosters (files saved with ``save_model``, or pickled Boosters).

A native booster's ``predict`` returns the raw model output — for a binary or multi-class
objective these are already probabilities — so predictions are exactly that output, and
there is no separate ``?proba``. Both libraries handle missing values natively, so every
feature is nullable (JSON null becomes NaN).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..schema import Feature, Schema, default_names
from .base import ModelInfo, Prediction, class_name, library_versions, rows_to_array, to_list

# XGBoost feature types: "int" and "i" (indicator) are integer codes, "c" categorical codes.
_XGB_TYPES = {"int": "integer", "i": "integer", "c": "integer"}


class XGBoostModel:
    """An ``xgboost.Booster``, predicting through a ``DMatrix`` like ``booster.predict``."""

    vectorized = True
    supports_proba = False

    def __init__(self, booster: Any, threads: int) -> None:
        import xgboost

        self._xgb = xgboost
        self._booster = booster
        self._threads = threads
        booster.set_param({"nthread": threads})
        names = booster.feature_names
        types = booster.feature_types or [None] * booster.num_features()
        shown = names or default_names(booster.num_features())
        self.schema = Schema(
            tuple(
                Feature(n, _XGB_TYPES.get(str(t), "number"), nullable=True)
                for n, t in zip(shown, types, strict=False)
            ),
            named=names is not None,
        )
        self._categorical = "c" in (booster.feature_types or [])
        objective = _xgb_objective(booster)
        self.info = ModelInfo(
            kind="xgboost",
            class_name=class_name(booster),
            task=_task_of_objective(objective),
            libraries=library_versions("xgboost", "numpy"),
        )

    def predict(self, rows: Sequence[list[Any]], proba: bool) -> Prediction:
        matrix = self._xgb.DMatrix(
            rows_to_array(rows),
            feature_names=self._booster.feature_names,
            feature_types=self._booster.feature_types,
            enable_categorical=self._categorical,
            nthread=self._threads,
        )
        return Prediction(to_list(self._booster.predict(matrix)))


def load_xgboost_file(path: str, threads: int) -> XGBoostModel:
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(path)
    return XGBoostModel(booster, threads)


def _xgb_objective(booster: Any) -> str:
    try:
        return str(json.loads(booster.save_config())["learner"]["objective"]["name"])
    except Exception:  # informational only; never fail a load over it
        return ""


def _task_of_objective(objective: str) -> str:
    if objective.startswith(("binary:", "multi:")):
        return "classification"
    if objective.startswith(("reg:", "count:", "survival:")):
        return "regression"
    return "unknown"


class LightGBMModel:
    """A ``lightgbm.Booster``; predictions are ``booster.predict`` on the batch array."""

    vectorized = True
    supports_proba = False

    def __init__(self, booster: Any, threads: int) -> None:
        self._booster = booster
        self._threads = threads
        names = [str(n) for n in booster.feature_name()]
        auto = all(n == f"Column_{i}" for i, n in enumerate(names))
        self.schema = Schema(
            tuple(Feature(n, "number", nullable=True) for n in names), named=not auto
        )
        objective = str(booster.params.get("objective", "")) if booster.params else ""
        self.info = ModelInfo(
            kind="lightgbm",
            class_name=class_name(booster),
            task=_lgb_task(objective),
            libraries=library_versions("lightgbm", "numpy"),
        )

    def predict(self, rows: Sequence[list[Any]], proba: bool) -> Prediction:
        out = self._booster.predict(rows_to_array(rows), num_threads=self._threads)
        return Prediction(to_list(out))


def load_lightgbm_file(path: str, threads: int) -> LightGBMModel:
    import lightgbm

    return LightGBMModel(lightgbm.Booster(model_file=path), threads)


def _lgb_task(objective: str) -> str:
    if objective in ("binary", "multiclass", "multiclassova", "softmax", "cross_entropy"):
        return "classification"
    if objective.startswith(("regression", "l1", "l2", "huber", "poisson", "quantile", "gamma")):
        return "regression"
    return "unknown"
