"""Layout: data folders, notebooks, models; and apt.txt."""

from __future__ import annotations

import pytest

from dockyard.detect._apt import detect_apt
from dockyard.detect._layout import detect_layout, is_model
from dockyard.errors import UserError
from tests.unit.detect.conftest import MakeProject, notebook


def test_data_dirs_only_when_they_exist_at_the_top(make_project: MakeProject) -> None:
    view = make_project(
        {
            "data/a.csv": "",
            "raw/b.csv": "",
            "processed/c.csv": "",
            "src/data/x.py": "",
            "input.txt": "",
        }
    )
    assert detect_layout(view).data_dirs == ("data", "processed", "raw")


def test_notebooks_sorted_without_checkpoints(make_project: MakeProject) -> None:
    view = make_project(
        {
            "z.ipynb": notebook(),
            "a/b.ipynb": notebook(),
            ".ipynb_checkpoints/z-checkpoint.ipynb": notebook(),
            "a/.ipynb_checkpoints/b-checkpoint.ipynb": notebook(),
        }
    )
    assert detect_layout(view).notebooks == ("a/b.ipynb", "z.ipynb")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("model.joblib", True),
        ("out/clf.pkl", True),
        ("artifacts/net.onnx", True),
        ("booster.ubj", True),
        ("weights/model.safetensors", True),
        ("models/xgb.json", True),
        ("models/v1/config.json", True),
        ("xgb_model.json", True),
        ("config.json", False),
        ("models/lgbm.txt", True),
        ("lgbm_booster.txt", True),
        ("notes.txt", False),
        ("models/README.txt", False),
        ("model/pytorch_model.bin", True),
        ("data/cached_frame.pkl", False),
        ("data/models/clf.pkl", True),
        ("requirements.txt", False),
    ],
)
def test_model_files(path: str, expected: bool) -> None:
    assert is_model(path, ("data",)) is expected


def test_models_detected_and_sorted(make_project: MakeProject) -> None:
    view = make_project({"models/b.pkl": "", "a.onnx": "", "data/df.pkl": "", "x.json": ""})
    assert detect_layout(view).models == ("a.onnx", "models/b.pkl")


def test_apt_packages(make_project: MakeProject) -> None:
    view = make_project(
        {"apt.txt": "# system libs\nlibgl1\n\nlibglib2.0-0  # for cv2\ng++\nlibgl1\n"}
    )
    assert detect_apt(view).system_packages == ("g++", "libgl1", "libglib2.0-0")


@pytest.mark.parametrize("bad", ["LibGL1", "curl; rm -rf /", "pkg=1.0", "-x", "a"])
def test_invalid_apt_names_are_user_errors(make_project: MakeProject, bad: str) -> None:
    view = make_project({"apt.txt": f"curl\n{bad}\n"})
    with pytest.raises(UserError) as caught:
        detect_apt(view)
    assert caught.value.message == f"apt.txt:2: invalid Debian package name {bad!r}"
    assert caught.value.hint
