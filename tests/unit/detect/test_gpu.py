"""GPU: frameworks alone are not a request; CUDA extras, indexes and packages are."""

from __future__ import annotations

import pytest

from dockyard.detect import Gpu, detect
from tests.unit.detect.conftest import MakeProject


def gpu_of(make_project: MakeProject, files: dict[str, str]) -> Gpu:
    return detect(make_project(files)).gpu


def test_no_framework_no_gpu(make_project: MakeProject) -> None:
    assert gpu_of(make_project, {"requirements.txt": "numpy\n"}) == Gpu()


def test_framework_alone_is_not_a_request(make_project: MakeProject) -> None:
    det = detect(make_project({"requirements.txt": "torch\n"}))
    assert det.gpu == Gpu(False, ("torch",))
    assert any(
        f.message == "torch found: GPU not requested; set gpu = true in dockyard.toml to build "
        "for CUDA"
        for f in det.findings
    )


def test_undeclared_framework_imports_count(make_project: MakeProject) -> None:
    files = {"requirements.txt": "numpy\n", "train.py": "import tensorflow as tf\nimport jax\n"}
    assert gpu_of(make_project, files) == Gpu(False, ("jax", "tensorflow"))


@pytest.mark.parametrize(
    "requirements",
    [
        "jax[cuda12]\n",
        "tensorflow[and-cuda]\n",
        "--extra-index-url https://download.pytorch.org/whl/cu121\ntorch\n",
        "--index-url https://download.pytorch.org/whl/cu118\ntorch\n",
        "torch==2.3.0+cu121\n",
        "torch\nnvidia-cudnn-cu12\n",
        "tensorflow-gpu\n",
        "cupy-cuda12x\n",
    ],
)
def test_cuda_signs_request_a_gpu(make_project: MakeProject, requirements: str) -> None:
    det = detect(make_project({"requirements.txt": requirements}))
    assert det.gpu.wanted
    assert any(f.message.startswith("GPU build: ") for f in det.findings)


def test_cpu_index_is_not_a_request(make_project: MakeProject) -> None:
    files = {"requirements.txt": "--extra-index-url https://download.pytorch.org/whl/cpu\ntorch\n"}
    assert gpu_of(make_project, files) == Gpu(False, ("torch",))


def test_lock_pin_with_cuda_local_version_is_a_request(make_project: MakeProject) -> None:
    lock = '[[package]]\nname = "torch"\nversion = "2.3.0+cu121"\n'
    files = {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["torch"]\n',
             "uv.lock": lock}
    assert gpu_of(make_project, files) == Gpu(True, ("torch",))


def test_conda_cuda_packages_are_a_request(make_project: MakeProject) -> None:
    files = {"environment.yml": "dependencies: [pytorch, pytorch-cuda=12.1]\n"}
    assert gpu_of(make_project, files) == Gpu(True, ("torch",))
