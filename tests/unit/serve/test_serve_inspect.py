"""model_requirements / detect_kind: read model files without unpickling them."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import pytest
import sklearn
from dockyard_serve.inspect_model import detect_kind, model_requirements, sklearn_version

NUMPY2 = "numpy>=2" if __import__("numpy").__version__.startswith("2") else None


def expected_sklearn(*extra: str) -> list[str]:
    return [f"scikit-learn=={sklearn.__version__}", *extra, *([NUMPY2] if NUMPY2 else [])]


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3)])
def test_joblib_files_plain_and_compressed(tmp_path, rf_path, compress):
    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump(joblib.load(rf_path), path, compress=compress)
    assert detect_kind(path) == "sklearn"
    assert model_requirements(path) == expected_sklearn()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_pickles_of_every_protocol(tmp_path, pipeline_path, protocol):
    import joblib

    path = tmp_path / "model.bin"  # unknown suffix: recognised by its first bytes
    path.write_bytes(pickle.dumps(joblib.load(pipeline_path), protocol=protocol))
    assert sklearn_version(path) == sklearn.__version__
    # Fitted on a DataFrame: serving it with column names needs pandas.
    assert model_requirements(path)[:2] == [f"scikit-learn=={sklearn.__version__}", "pandas"]


def test_never_unpickles(tmp_path):
    """A hostile pickle is only read as bytes: its payload does not run."""
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"

    class Evil:
        def __reduce__(self):
            return (eval, (payload,))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(Evil()))
    assert model_requirements(path) == []
    assert not marker.exists()


def test_works_without_scikit_learn_installed(tmp_path, rf_path):
    """The host side may not have scikit-learn (or the model's version of it) at all."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["sklearn"] = None  # any import of it fails
        sys.path.insert(0, {str(rf_path.parents[0])!r})
        from dockyard_serve.inspect_model import model_requirements
        print(model_requirements({str(rf_path)!r}))
        """
    )
    from conftest import SERVE_DIR

    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SERVE_DIR)},
    )
    assert f"scikit-learn=={sklearn.__version__}" in out.stdout


def test_boosters_and_onnx(tmp_path, numeric_data, need):
    xgb = need("xgboost")
    lgb = need("lightgbm")
    X, y = numeric_data
    booster = xgb.train({"nthread": 1}, xgb.DMatrix(X, label=y), num_boost_round=2)
    major_minor_patch = xgb.__version__.split("+")[0].split("rc")[0]
    for suffix in ("json", "ubj"):
        path = tmp_path / f"m.{suffix}"
        booster.save_model(path)
        assert detect_kind(path) == "xgboost"
        assert model_requirements(path) == [f"xgboost>={major_minor_patch}"]
    lgb_path = tmp_path / "m.txt"
    lgb.train({"verbose": -1, "num_threads": 1}, lgb.Dataset(X, label=y), 2).save_model(lgb_path)
    assert detect_kind(lgb_path) == "lightgbm"
    assert model_requirements(lgb_path) == ["lightgbm"]

    import joblib

    wrapper = tmp_path / "xgb.joblib"
    joblib.dump(xgb.XGBClassifier(n_estimators=2, n_jobs=1).fit(X, y), wrapper)
    assert model_requirements(wrapper)[:2] == ["scikit-learn", f"xgboost=={major_minor_patch}"]

    onnx_path = tmp_path / "m.onnx"
    onnx_path.write_bytes(b"\x08\x07\x12\x07skl2onnx")
    assert detect_kind(onnx_path) == "onnx"
    assert model_requirements(onnx_path) == ["onnxruntime"]


def test_unknown_files(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# not a model\n")
    with pytest.raises(ValueError, match="cannot tell what kind of model"):
        detect_kind(path)
    assert model_requirements(path) == []
    assert model_requirements(tmp_path / "absent.pkl") == []
