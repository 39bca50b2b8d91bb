"""What the user writes: `dockyard.toml` or `[tool.dockyard]` in pyproject.toml.

Every field is optional; `resolve` fills the gaps from detection and defaults. Strict types
(TOML has real types, so "8888" for a port is a mistake worth reporting) and no unknown keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StringConstraints
from pydantic_core import PydanticCustomError

from dockyard.spec.checks import (
    Folder,
    Host,
    ImageRef,
    IndexUrl,
    PackageName,
    Predictor,
    RelativePath,
    RequirementText,
)
from dockyard.spec.deploy import DeploySection
from dockyard.spec.patterns import pattern
from dockyard.spec.stack import PipelineSection, ServiceSection


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _undeclared(value: object) -> bool | Literal["known"]:
    if isinstance(value, bool) or value == "known":
        return value
    raise PydanticCustomError("spec_choice", 'expected true, false or "known"')


Undeclared = Annotated[bool | Literal["known"], PlainValidator(_undeclared)]


class DependenciesSection(_Section):
    # "known": only imports the import map vouches for; true: every one; false: none.
    install_undeclared: Undeclared | None = None
    extra: list[RequirementText] = Field(default_factory=list)
    exclude: list[PackageName] = Field(default_factory=list)
    index_url: IndexUrl | None = None
    extra_index_urls: list[IndexUrl] = Field(default_factory=list)


DebianName = Annotated[str, StringConstraints(pattern=pattern(
    r"^[a-z0-9][a-z0-9+.-]+$",
    "a Debian package name (lowercase letters, digits, '+', '.' and '-'), such as \"libgomp1\""))]


class SystemSection(_Section):
    packages: list[DebianName] = Field(default_factory=list)


class BuildSection(_Section):
    base_image: ImageRef | None = None
    compilers: bool | None = None  # unset: on demand, when a package has no wheel
    uid: int | None = Field(default=None, ge=1, le=2**31 - 1)
    install_project: bool | None = None  # unset: when the folder is a package


class LabSection(_Section):
    port: int | None = Field(default=None, ge=1, le=65535)
    host: Host | None = None


class DataSection(_Section):
    dirs: list[Folder] | None = None


class GpuSection(_Section):
    enabled: bool | None = None
    cuda: str | None = Field(default=None, pattern=pattern(
        r"^[0-9]{1,2}(\.[0-9]{1,2})?$", "a CUDA version such as \"12.4\""))


class ServeSection(_Section):
    model: RelativePath | None = None
    predictor: Predictor | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    workers: int | None = Field(default=None, ge=1, le=64)
    max_batch: int | None = Field(default=None, ge=1, le=4096)
    max_wait_ms: float | None = Field(default=None, ge=0, le=1000)
    # Pins the model file: loading a pickle runs code stored in it.
    sha256: str | None = Field(default=None, pattern=pattern(
        r"^[0-9a-f]{64}$", "64 lowercase hex digits, as sha256sum prints them"))


class UserSpec(_Section):
    """The whole file. `version` lets the format evolve without guessing."""

    version: int = 1
    name: str | None = Field(default=None, pattern=pattern(
        r"^[a-z0-9][a-z0-9_.-]*$", "lowercase letters, digits, '.', '_' and '-', starting with a "
        "letter or digit, such as \"churn-model\""))
    python: str | None = Field(default=None, pattern=pattern(
        r"^3\.\d{1,2}$", "a Python version such as \"3.11\""))
    dependencies: DependenciesSection = Field(default_factory=DependenciesSection)
    system: SystemSection = Field(default_factory=SystemSection)
    build: BuildSection = Field(default_factory=BuildSection)
    lab: LabSection = Field(default_factory=LabSection)
    data: DataSection = Field(default_factory=DataSection)
    gpu: GpuSection = Field(default_factory=GpuSection)
    serve: ServeSection = Field(default_factory=ServeSection)
    services: dict[str, ServiceSection] = Field(default_factory=dict)
    pipeline: PipelineSection = Field(default_factory=PipelineSection)
    deploy: DeploySection = Field(default_factory=DeploySection)
