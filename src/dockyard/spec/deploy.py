"""`[deploy]`: how the project runs on a cluster — replicas, autoscaling, resources, GPUs,
ingress, namespace, registry — and the resolved `DeploySpec` every deploy target reads.

The user writes Kubernetes' own units (quantities such as `500m` CPU and `1Gi` memory), so
what they read in a manifest is what they wrote. pydantic checks types and unknown keys when
the file loads; `resolve_deploy` checks what spans fields (max below min, a request above its
limit, names Kubernetes would refuse) and raises one `SpecError` naming every key, before any
file is written. Defaults come from the serve section and `[gpu]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic_core import PydanticCustomError

from dockyard.errors import SpecError
from dockyard.spec.checks import Host
from dockyard.spec.patterns import pattern

# A DNS-1123 label: what Kubernetes accepts as a namespace or a Service's name.
DNS_LABEL = re.compile(pattern(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or "
    "digit), such as \"nginx\""))
# Object names get suffixes (`-api`, `-postgres-0`, `-pipeline-28712345` for a CronJob's
# Job): 40 characters leave room for all of them within 63.
NAME_MAX = 40
_CPU = re.compile(r"^([0-9]+(\.[0-9]+)?m?)$")
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T|k)?$")
_LABEL_KEY = re.compile(pattern(
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
    "a Kubernetes label key such as \"nvidia.com/gpu\" (an optional DNS prefix and '/', then "
    "letters, digits, '-', '_' and '.')"))
# A DNS-1123 subdomain: what Kubernetes accepts as a StorageClass's name.
DNS_SUBDOMAIN = re.compile(pattern(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.'), such as \"fast-ssd\""))
_REGISTRY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._-]+)*$")

# The device plugin's resource name, and where a vendor's GPU nodes are usually found.
GPU_VENDORS = {
    "nvidia": ("nvidia.com/gpu", {"nvidia.com/gpu.present": "true"}),
    "amd": ("amd.com/gpu", {"amd.com/gpu.present": "true"}),
    "intel": ("gpu.intel.com/i915", {"intel.feature.node.kubernetes.io/gpu": "true"}),
}


def _cpu(value: object) -> str:
    text = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if isinstance(text, str) and _CPU.match(text) and _amount(text) > 0:
        return text
    raise PydanticCustomError("spec_quantity", 'expected a positive CPU amount such as "500m" '
                                               'or "2"')


def _memory(value: object) -> str:
    if isinstance(value, str) and _MEMORY.match(value) and _amount(value) > 0:
        return value
    raise PydanticCustomError("spec_quantity", 'expected a positive memory size such as "512Mi" '
                                               'or "2Gi"')


def _size(value: object) -> str:
    if isinstance(value, str) and _MEMORY.match(value) and _amount(value) > 0:
        return value
    raise PydanticCustomError("spec_quantity", 'expected a positive storage size such as '
                                               '"10Gi" or "1Ti"')


def _dns_label(value: object) -> str:
    if isinstance(value, str) and len(value) <= NAME_MAX and DNS_LABEL.match(value):
        return value
    raise PydanticCustomError(
        "spec_dns_label", f"expected a DNS-1123 label: lowercase letters, digits and '-', "
                          f"starting and ending with a letter or digit, at most {NAME_MAX} "
                          "characters")


def _registry(value: object) -> str:
    if isinstance(value, str) and len(value) <= 200 and _REGISTRY.match(value):
        return value
    raise PydanticCustomError("spec_registry", 'expected a registry and repository prefix such '
                                               'as "registry.example.com/team"')


def _labels(value: object) -> dict[str, str]:
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                       and _LABEL_KEY.match(k) and len(v) <= 63
                                       for k, v in value.items()):
        return value
    raise PydanticCustomError("spec_labels", "expected a table of node label names to string "
                                             "values")


def _amount(text: str) -> Decimal:
    """A quantity's number of base units (cores, bytes), to compare requests with limits."""
    units = {"m": Decimal("0.001"), "k": Decimal(1000), "K": Decimal(1000),
             "M": Decimal(1000**2), "G": Decimal(1000**3), "T": Decimal(1000**4),
             "Ki": Decimal(1024), "Mi": Decimal(1024**2), "Gi": Decimal(1024**3),
             "Ti": Decimal(1024**4)}
    match = re.match(r"^([0-9.]+)([A-Za-z]*)$", text)
    if not match:
        return Decimal(0)
    try:
        return Decimal(match[1]) * units.get(match[2], Decimal(1))
    except InvalidOperation:
        return Decimal(0)


Cpu = Annotated[str, PlainValidator(_cpu)]
Memory = Annotated[str, PlainValidator(_memory)]
Size = Annotated[str, PlainValidator(_size)]
DnsLabel = Annotated[str, PlainValidator(_dns_label)]
Registry = Annotated[str, PlainValidator(_registry)]
NodeLabels = Annotated[dict[str, str], PlainValidator(_labels)]
CUSTOM_TYPES = frozenset({"spec_quantity", "spec_dns_label", "spec_registry", "spec_labels"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class AutoscalingSection(_Section):
    enabled: bool | None = None
    min: int | None = Field(default=None, ge=1, le=1000)
    max: int | None = Field(default=None, ge=1, le=1000)
    cpu: int | None = Field(default=None, ge=1, le=1000)  # target average utilisation, %
    memory: int | None = Field(default=None, ge=1, le=1000)


class AmountsSection(_Section):
    cpu: Cpu | None = None
    memory: Memory | None = None


class ResourcesSection(_Section):
    requests: AmountsSection = Field(default_factory=AmountsSection)
    limits: AmountsSection = Field(default_factory=AmountsSection)


class TolerationSection(_Section):
    key: str = Field(pattern=_LABEL_KEY.pattern)
    operator: Literal["Exists", "Equal"] = "Exists"
    value: str | None = Field(default=None, max_length=63)
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class GpuDeploySection(_Section):
    count: int | None = Field(default=None, ge=0, le=16)
    vendor: str | None = None
    node_selector: NodeLabels | None = None
    tolerations: list[TolerationSection] | None = None


class IngressSection(_Section):
    host: Host | None = None
    class_name: str | None = Field(default=None, alias="class", pattern=DNS_LABEL.pattern)
    tls_secret: DnsLabel | None = None


class StorageSection(_Section):
    size: Size | None = None
    class_name: str | None = Field(default=None, alias="class", pattern=DNS_SUBDOMAIN.pattern,
                                   max_length=253)
    sizes: dict[str, Size] | None = None


class DeploySection(_Section):
    name: DnsLabel | None = None  # the objects' name prefix; default: the project's name
    namespace: DnsLabel | None = None
    registry: Registry | None = None
    replicas: int | None = Field(default=None, ge=1, le=1000)
    autoscaling: AutoscalingSection = Field(default_factory=AutoscalingSection)
    resources: ResourcesSection = Field(default_factory=ResourcesSection)
    gpu: GpuDeploySection = Field(default_factory=GpuDeploySection)
    ingress: IngressSection = Field(default_factory=IngressSection)
    storage: StorageSection = Field(default_factory=StorageSection)


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool = True
    min: int = 2
    max: int = 10
    cpu: int = 70  # target average CPU utilisation, % of the request
    memory: int = 0  # 0: no memory target


@dataclass(frozen=True)
class Amounts:
    cpu: str = ""
    memory: str = ""


@dataclass(frozen=True)
class Toleration:
    key: str
    operator: str = "Exists"
    value: str = ""
    effect: str = ""


@dataclass(frozen=True)
class GpuDeploy:
    count: int = 0  # 0: no GPU
    vendor: str = "nvidia"
    resource: str = "nvidia.com/gpu"  # the device plugin's extended resource
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()

    @property
    def placement(self) -> tuple[tuple[tuple[str, str], ...], tuple[Toleration, ...]]:
        """Where a pod with a GPU goes — a GPU step too, when the API asks for none: the
        spec's node selector and tolerations, else the vendor's usual label and taint."""
        selector = self.node_selector or tuple(sorted(GPU_VENDORS[self.vendor][1].items()))
        return selector, self.tolerations or (Toleration(self.resource, "Exists", "",
                                                         "NoSchedule"),)


@dataclass(frozen=True)
class Ingress:
    host: str = ""  # "": no Ingress
    class_name: str = ""
    tls_secret: str = ""


@dataclass(frozen=True)
class Storage:
    """The volume claims' request and class. `sizes`: by data folder or service name, as the
    user wrote them (which names exist is known with the stack: `plan.cluster` checks)."""

    size: str = "10Gi"
    class_name: str = ""  # "": the cluster's default StorageClass
    sizes: tuple[tuple[str, str], ...] = ()

    def size_of(self, key: str) -> str:
        return dict(self.sizes).get(key, self.size)


@dataclass(frozen=True)
class DeploySpec:
    name: str
    namespace: str
    registry: str  # "" : images are referenced as built (push them and set it)
    replicas: int
    local_replicas: int  # the Compose stack's api: 1 unless [deploy] replicas is set
    autoscaling: Autoscaling
    requests: Amounts
    limits: Amounts
    gpu: GpuDeploy
    ingress: Ingress
    storage: Storage = Storage()


DEFAULT_REQUESTS = Amounts("250m", "512Mi")
DEFAULT_LIMITS = Amounts("1", "1Gi")


def k8s_name(project: str) -> str:
    """The project's name as a DNS-1123 label of at most NAME_MAX characters."""
    name = re.sub(r"[^a-z0-9-]+", "-", project.lower()).strip("-")[:NAME_MAX].strip("-")
    return name if name and name[0].isalnum() else f"app-{name}".strip("-")


def resolve_deploy(section: DeploySection, project: str, *, gpu: bool, serve_workers: int,
                   file: str) -> DeploySpec:
    """Every knob concrete. `gpu`: the project asked for one (`[gpu] enabled`)."""
    problems: list[str] = []
    name = section.name or k8s_name(project)
    replicas = section.replicas or 2
    auto = _autoscaling(section.autoscaling, replicas, problems)
    requests, limits = _resources(section.resources, serve_workers, problems)
    deploy = DeploySpec(
        name=name, namespace=section.namespace or name, registry=section.registry or "",
        replicas=replicas, local_replicas=section.replicas or 1, autoscaling=auto,
        requests=requests, limits=limits,
        gpu=_gpu(section.gpu, gpu, problems),
        ingress=Ingress(section.ingress.host or "", section.ingress.class_name or "",
                        section.ingress.tls_secret or ""),
        storage=Storage(section.storage.size or Storage.size,
                        section.storage.class_name or "",
                        tuple(sorted((section.storage.sizes or {}).items()))))
    if section.ingress.tls_secret and not section.ingress.host:
        problems.append("deploy.ingress.tls_secret: needs deploy.ingress.host")
    if problems:
        raise SpecError(file, problems, hint=f"fix [{_table(problems[0])}] in {file}")
    return deploy


def _table(problem: str) -> str:
    return ".".join(problem.split(":", 1)[0].split(".")[:2])


def _autoscaling(s: AutoscalingSection, replicas: int, problems: list[str]) -> Autoscaling:
    low = s.min or replicas
    high = s.max or max(10, low)
    if s.max is not None and high < low:
        problems.append(f"deploy.autoscaling.max: {high} is below the minimum of {low} "
                        f"replicas" + ("" if s.min else " (deploy.replicas)"))
    enabled = s.enabled if s.enabled is not None else True
    return Autoscaling(enabled, low, high, s.cpu or 70, s.memory or 0)


def _resources(s: ResourcesSection, workers: int, problems: list[str]) -> tuple[Amounts, Amounts]:
    # One model-server worker per core asked for: the CPU limit follows [serve] workers.
    cpu_limit = str(workers) if workers else DEFAULT_LIMITS.cpu
    requests = Amounts(s.requests.cpu or DEFAULT_REQUESTS.cpu,
                       s.requests.memory or DEFAULT_REQUESTS.memory)
    limits = Amounts(s.limits.cpu or cpu_limit, s.limits.memory or DEFAULT_LIMITS.memory)
    # A request above its limit is refused by the API server; a default that would be is raised.
    for kind in ("cpu", "memory"):
        asked, limit = getattr(requests, kind), getattr(limits, kind)
        if _amount(asked) <= _amount(limit):
            continue
        if getattr(s.limits, kind):
            problems.append(f"deploy.resources.requests.{kind}: {asked} is above the limit "
                            f"{limit}")
        else:
            limits = replace(limits, **{kind: asked})
    return requests, limits


def _gpu(s: GpuDeploySection, wanted: bool, problems: list[str]) -> GpuDeploy:
    vendor = s.vendor or "nvidia"
    if vendor not in GPU_VENDORS:
        problems.append(f'deploy.gpu.vendor: unknown GPU vendor "{vendor}" (known: '
                        f"{', '.join(GPU_VENDORS)})")
        return GpuDeploy()
    count = s.count if s.count is not None else (1 if wanted else 0)
    if count == 0:
        return GpuDeploy(vendor=vendor, resource=GPU_VENDORS[vendor][0])
    resource, selector = GPU_VENDORS[vendor]
    tolerations = (tuple(Toleration(t.key, t.operator, t.value or "", t.effect or "")
                         for t in s.tolerations) if s.tolerations is not None
                   else (Toleration(resource, "Exists", "", "NoSchedule"),))
    return GpuDeploy(count, vendor, resource,
                     tuple(sorted((s.node_selector if s.node_selector is not None
                                   else selector).items())),
                     tolerations)
