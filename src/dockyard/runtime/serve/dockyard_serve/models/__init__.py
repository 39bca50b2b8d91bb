"""Model adapters: every supported kind behind the one :class:`Model` interface."""

from __future__ import annotations

import hashlib
from typing import Any

from ..config import Settings
from ..inspect_model import detect_kind
from .base import Model, ModelInfo, ModelLoadError, Prediction

__all__ = ["Model", "ModelInfo", "ModelLoadError", "Prediction", "load_model", "model_for_object"]


def load_model(settings: Settings) -> Model:
    """Load what the settings point at; raise :class:`ModelLoadError` with a useful message."""
    threads = settings.threads_per_worker
    if settings.predictor or settings.model_kind == "predictor":
        from .predictor import load_predictor

        if not settings.predictor:
            raise ModelLoadError("DOCKYARD_MODEL_KIND=predictor needs DOCKYARD_PREDICTOR")
        if settings.model_path and settings.model_sha256:
            verify_sha256(settings.model_path, settings.model_sha256)
        return load_predictor(settings.predictor, settings.model_path)
    path = settings.model_path
    assert path is not None  # load_settings guarantees a model or a predictor
    try:
        kind = settings.model_kind or detect_kind(path)
    except FileNotFoundError:
        raise ModelLoadError(f"model file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(str(exc)) from exc
    if settings.model_sha256:
        verify_sha256(path, settings.model_sha256)
    return _load_kind(kind, path, threads)


def verify_sha256(path: str, expected: str) -> None:
    """Refuse a model file other than the pinned one *before* loading it: unpickling runs
    code stored in the file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelLoadError(
            f"{path} has sha256 {digest.hexdigest()}, but DOCKYARD_MODEL_SHA256 pins "
            f"{expected}: refusing to load it (loading a model file can run code stored in it)"
        )


def _load_kind(kind: str, path: str, threads: int) -> Model:
    if kind == "onnx":
        from .onnx_model import OnnxModel

        return OnnxModel(path, threads)
    if kind == "xgboost":
        from .boosting import load_xgboost_file

        return load_xgboost_file(path, threads)
    if kind == "lightgbm":
        from .boosting import load_lightgbm_file

        return load_lightgbm_file(path, threads)
    if kind in ("sklearn", "pickle", "joblib"):
        return model_for_object(_unpickle(path), threads)
    raise ModelLoadError(f"unknown DOCKYARD_MODEL_KIND {kind!r}")


def model_for_object(obj: Any, threads: int = 1) -> Model:
    """The adapter for an in-memory model object (what a joblib/pickle file contained)."""
    module = type(obj).__module__
    if module.startswith("xgboost") and type(obj).__name__ == "Booster":
        from .boosting import XGBoostModel

        return XGBoostModel(obj, threads)
    if module.startswith("lightgbm") and type(obj).__name__ == "Booster":
        from .boosting import LightGBMModel

        return LightGBMModel(obj, threads)
    from .sklearn_model import SklearnModel

    return SklearnModel(obj)


def _unpickle(path: str) -> Any:
    """joblib when installed (it reads plain pickles too, and its memory-mapped arrays)."""
    try:
        import joblib
    except ImportError:
        joblib = None
    try:
        if joblib is not None:
            return joblib.load(path)
        import pickle

        with open(path, "rb") as handle:
            return pickle.load(handle)
    except FileNotFoundError:
        raise ModelLoadError(f"model file not found: {path}") from None
    except (ImportError, AttributeError, ModuleNotFoundError) as exc:
        # Typical of a pickle written by another library version: say which one it wants.
        from ..inspect_model import model_requirements

        needs = ", ".join(model_requirements(path)) or "unknown"
        raise ModelLoadError(f"cannot unpickle {path}: {exc} (the file asks for: {needs})") from exc
