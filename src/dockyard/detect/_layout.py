"""Detector for the project's layout: data folders, notebooks and model files.

Only names are looked at; no file here is opened, so large data and model files cost nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection

from dockyard.detect._types import Fragment
from dockyard.project import ProjectView

DATA_DIRS = frozenset({"data", "datasets", "dataset", "input", "raw", "processed"})
# Formats that hold a trained model wherever they are.
MODEL_SUFFIXES = frozenset(
    {
        ".joblib",
        ".pkl",
        ".pickle",
        ".onnx",
        ".ubj",
        ".pt",
        ".pth",
        ".safetensors",
        ".keras",
        ".cbm",
        ".tflite",
    }
)
# Generic formats (XGBoost/LightGBM JSON and text dumps, Hugging Face configs and weights,
# Keras HDF5) that are a model only in a model folder or when named like one.
CONTEXT_SUFFIXES = frozenset({".json", ".txt", ".bin", ".h5", ".pb"})
MODEL_FOLDERS = frozenset({"model", "models"})
_MODEL_WORDS = ("model", "booster")
_NOT_MODELS = ("readme", "license", "requirements")


def detect_layout(view: ProjectView) -> Fragment:
    files = list(view.files())
    data_dirs = sorted(
        name for name in view.top_level() if name.lower() in DATA_DIRS and view.is_dir(name)
    )
    notebooks = sorted(f for f in files if f.endswith(".ipynb") and ".ipynb_checkpoints/" not in f)
    models = sorted(f for f in files if is_model(f, data_dirs))
    return Fragment(data_dirs=tuple(data_dirs), notebooks=tuple(notebooks), models=tuple(models))


def is_model(rel: str, data_dirs: Collection[str] = ()) -> bool:
    """Whether a file looks like a trained model, from its path alone.

    Inside a data folder, a pickle is more likely a cached DataFrame than a model, so files
    there count only with a model folder or a model-like name.
    """
    folder, name = posixpath.split(rel)
    stem, suffix = posixpath.splitext(name.lower())
    in_model_folder = any(part.lower() in MODEL_FOLDERS for part in folder.split("/"))
    named_like_model = any(word in stem for word in _MODEL_WORDS)
    if stem.startswith(_NOT_MODELS):
        return False
    if suffix in MODEL_SUFFIXES:
        in_data = rel.split("/", 1)[0] in data_dirs
        return not in_data or in_model_folder or named_like_model
    return suffix in CONTEXT_SUFFIXES and (in_model_folder or named_like_model)
