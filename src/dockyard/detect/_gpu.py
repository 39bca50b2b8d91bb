"""Whether the project wants a CUDA build: a GPU framework plus an explicit sign of CUDA.

A framework alone is not enough: torch, TensorFlow and JAX all run on CPU, and a CUDA image is
gigabytes larger. The signs are the ones people write when they *mean* the GPU: CUDA extras
(`jax[cuda12]`, `tensorflow[and-cuda]`), a CUDA wheel index (`.../whl/cu121`), CUDA local
versions (`torch==2.3.0+cu121`), `nvidia-*` and `cupy-*` packages, conda's CUDA packages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from dockyard.detect._conda import is_gpu_conda_name
from dockyard.detect._types import Dependency, Finding, Gpu, UndeclaredImport
from dockyard.detect._urls import redact

# Distribution → framework name reported in Gpu.frameworks.
FRAMEWORKS = {
    "torch": "torch",
    "tensorflow": "tensorflow",
    "tensorflow-gpu": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "jax": "jax",
    "jaxlib": "jax",
}
_CUDA_INDEX = re.compile(r"/cu\d{2,3}\b|cuda")
_CUDA_VERSION = re.compile(r"\+cu(da)?\d")


def detect_gpu(
    dependencies: Sequence[Dependency],
    undeclared: Sequence[UndeclaredImport],
    index_urls: Iterable[str],
    pins: Iterable[tuple[str, str, str]],
    conda_names: Iterable[str],
) -> tuple[Gpu, list[Finding]]:
    names = [d.name for d in dependencies] + [u.distribution for u in undeclared]
    frameworks = tuple(sorted({f for f in map(_framework, names) if f}))
    if not frameworks:
        return Gpu(), []
    reasons = (
        _dependency_reasons(dependencies)
        + _index_reasons(index_urls)
        + _pin_reasons(pins)
        + _conda_reasons(conda_names)
    )
    if reasons:
        return Gpu(True, frameworks), [Finding("info", f"GPU build: {'; '.join(reasons)}")]
    return Gpu(False, frameworks), [
        Finding(
            "info",
            f"{', '.join(frameworks)} found: GPU not requested; "
            "set gpu = true in dockyard.toml to build for CUDA",
        )
    ]


def _framework(name: str) -> str:
    # CuPy is only ever a GPU library, so it is its own framework and its own sign of CUDA.
    return "cupy" if name.startswith("cupy") else FRAMEWORKS.get(name, "")


def _dependency_reasons(dependencies: Sequence[Dependency]) -> list[str]:
    reasons: list[str] = []
    for dep in dependencies:
        cuda_extras = [e for e in dep.extras if "cuda" in e.lower()]
        if cuda_extras:
            reasons.append(f"{dep.name}[{','.join(cuda_extras)}] in {dep.source}")
        elif dep.name == "tensorflow-gpu" or dep.name.startswith(("nvidia-", "cupy")):
            reasons.append(f"{dep.name} in {dep.source}")
        elif _CUDA_VERSION.search(dep.specifier):
            reasons.append(f"{dep.name}{dep.specifier} in {dep.source}")
    return reasons


def _index_reasons(urls: Iterable[str]) -> list[str]:
    return [f"CUDA wheel index {redact(url)}" for url in urls if _CUDA_INDEX.search(url.lower())]


def _pin_reasons(pins: Iterable[tuple[str, str, str]]) -> list[str]:
    return [
        f"{name}=={version} in {source}"
        for name, version, source in pins
        if _CUDA_VERSION.search(version)
    ]


def _conda_reasons(conda_names: Iterable[str]) -> list[str]:
    return [f"conda package {name}" for name in conda_names if is_gpu_conda_name(name)]
