"""What the user writes: `dockyard.toml` or `[tool.dockyard]` in pyproject.toml.

Every field is optional; `resolve` fills the gaps from detection and defaults. Strict types
(TOML has real types, so "8888" for a port is a mistake worth reporting) and no unknown keys.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dockyard.spec.stack import PipelineSection, ServiceSection


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DependenciesSection(_Section):
    install_undeclared: bool | None = None
    extra: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = Field(default_factory=list)


DebianName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9+.-]+$")]


class SystemSection(_Section):
    packages: list[DebianName] = Field(default_factory=list)


class BuildSection(_Section):
    base_image: str | None = None
    compilers: bool | None = None  # unset: on demand, when a package has no wheel
    uid: int | None = Field(default=None, ge=1, le=2**31 - 1)


class LabSection(_Section):
    port: int | None = Field(default=None, ge=1, le=65535)
    host: str | None = None


class DataSection(_Section):
    dirs: list[str] | None = None


class GpuSection(_Section):
    enabled: bool | None = None
    cuda: str | None = None


class ServeSection(_Section):
    model: str | None = None
    predictor: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    workers: int | None = Field(default=None, ge=1, le=64)
    max_batch: int | None = Field(default=None, ge=1, le=4096)
    max_wait_ms: float | None = Field(default=None, ge=0, le=1000)
    # Pins the model file: loading a pickle runs code stored in it.
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")  # as sha256sum prints


class UserSpec(_Section):
    """The whole file. `version` lets the format evolve without guessing."""

    version: int = 1
    name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    python: str | None = Field(default=None, pattern=r"^3\.\d{1,2}$")
    dependencies: DependenciesSection = Field(default_factory=DependenciesSection)
    system: SystemSection = Field(default_factory=SystemSection)
    build: BuildSection = Field(default_factory=BuildSection)
    lab: LabSection = Field(default_factory=LabSection)
    data: DataSection = Field(default_factory=DataSection)
    gpu: GpuSection = Field(default_factory=GpuSection)
    serve: ServeSection = Field(default_factory=ServeSection)
    services: dict[str, ServiceSection] = Field(default_factory=dict)
    pipeline: PipelineSection = Field(default_factory=PipelineSection)
