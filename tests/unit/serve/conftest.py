"""Fixtures for the model server's tests: small real models of every kind, saved to disk,
and an in-process HTTP client on the ASGI app.

The server package is not part of the installed ``dockyard`` distribution's import path
(it is copied into images as ``dockyard_serve``), so its directory is put on ``sys.path``.
Its test dependencies are listed in ``requirements.txt`` beside this file; without them the
directory is skipped locally, and fails under ``CI=true`` (a green CI must not hide a missing
install step).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SERVE_DIR = Path(__file__).resolve().parents[3] / "src" / "dockyard" / "runtime" / "serve"
sys.path.insert(0, str(SERVE_DIR))

_NEEDED = ("numpy", "pandas", "sklearn", "joblib", "httpx", "uvicorn", "orjson", "httptools")
_missing = [m for m in _NEEDED if importlib.util.find_spec(m) is None]
_SKIPPED = ""
if _missing:
    _SKIPPED = (
        f"model-server tests not collected, packages missing: {', '.join(_missing)} "
        f"(pip install -r {Path(__file__).with_name('requirements.txt')})"
    )
    if os.environ.get("CI") == "true":
        raise RuntimeError(_SKIPPED)
    collect_ignore_glob = ["test_*.py"]
else:
    import httpx
    import numpy as np
    import pandas as pd
    from dockyard_serve.app import App
    from dockyard_serve.config import Settings


def pytest_report_header() -> list[str]:
    """Say so at the top of the run when this directory's tests were left out."""
    return [_SKIPPED] if _SKIPPED else []


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (marked ``anyio``) run on asyncio, like the server."""
    return "asyncio"


def _need(module: str) -> Any:
    if importlib.util.find_spec(module) is None and os.environ.get("CI") == "true":
        raise RuntimeError(f"{module} is required for the model-server tests in CI")
    return pytest.importorskip(module)


@pytest.fixture
def need() -> Callable[[str], Any]:
    """Import an optional model library, or skip (fail under CI) when it is not installed."""
    return _need


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def numeric_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def frame_data() -> tuple[pd.DataFrame, np.ndarray]:
    """A DataFrame with numeric, integer and string columns (the ColumnTransformer case)."""
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.normal(50_000, 15_000, n),
            "city": rng.choice(["paris", "lyon", "nantes"], n),
            "plan": rng.choice(["basic", "pro"], n),
        }
    )
    y = ((frame["age"] > 40) ^ (frame["city"] == "lyon")).astype(int).to_numpy()
    return frame, y


@pytest.fixture(scope="session")
def rf_path(model_dir: Path, numeric_data: tuple[np.ndarray, np.ndarray]) -> Path:
    import joblib
    from sklearn.ensemble import RandomForestClassifier

    X, y = numeric_data
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    path = model_dir / "rf.joblib"
    joblib.dump(model, path)
    return path


@pytest.fixture(scope="session")
def pipeline_path(model_dir: Path, frame_data: tuple[pd.DataFrame, np.ndarray]) -> Path:
    import joblib
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, y = frame_data
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["age", "income"]),
                        ("cat", OneHotEncoder(handle_unknown="error"), ["city", "plan"]),
                    ]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    ).fit(frame, y)
    path = model_dir / "pipeline.pkl"
    joblib.dump(pipeline, path)
    return path


def make_settings(model: Path | str | None = None, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "model_path": None if model is None else str(model),
        "host": "127.0.0.1",
        "port": 0,
        "workers": 1,
        "cpus": 1,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
def make_app() -> Callable[..., App]:
    """Build an App on a model and load it synchronously (no lifespan in-process)."""
    apps: list[App] = []

    def build(model: Path | str | None = None, **overrides: Any) -> App:
        app = App(make_settings(model, **overrides))
        app.load_model()
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()


@pytest.fixture
def client_for() -> Callable[[App], httpx.AsyncClient]:
    """An httpx client talking to the app in-process (no sockets, nothing to close)."""

    def build(app: App) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://serve")

    return build


@pytest.fixture
def predictor_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], str]]:
    """Write a predictor module into a temp dir on sys.path; returns its ``module:Class``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(source)
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)
