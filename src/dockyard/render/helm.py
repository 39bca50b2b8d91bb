"""Kubernetes objects → a Helm chart whose default values render those same objects.

Pure: the prod objects (dicts, from `dockyard.render.kubernetes`), the `DeploySpec` and the
image references in; the chart's files out. The objects are rendered once with every optional
part present (an autoscaler, an Ingress with class and TLS, a GPU): each template is one of
those objects dumped as YAML, with its knob leaves replaced by template expressions, so
nothing about the objects is written twice. values.yaml holds the project's own values, so
`helm template` with the defaults gives exactly the prod overlay's objects — the optional
parts switched off when the project does not use them.

How a knob becomes template text: a leaf is replaced by a `Hole` (a token PyYAML dumps as a
plain word); after dumping, the line holding the token is rewritten, either in place
(`replicas: {{ .Values.replicaCount }}`) or as template lines at the key's indentation
(`{{- toYaml … | nindent N }}`, `{{- with … }}`). Objects stay dicts until the end, so YAML's
quoting rules are PyYAML's, never ours.

Namespace: every namespaced object gets `namespace: {{ .Release.Namespace }}` (helm
--namespace, as the overlay's kustomize `namespace:` sets it); values' `namespace` only
documents where the project means to run.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from dockyard.generate.artifacts import MARKER
from dockyard.render.k8s_pod import pull_policy
from dockyard.render.kubernetes import stable_name
from dockyard.spec.deploy import GPU_VENDORS, DeploySpec, Ingress

Doc = dict[str, Any]

API_ROLE = "api"
ROLE_LABEL = "dev.dockyard.role"
# Cluster-scoped kinds: no namespace in their metadata.
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding",
                            "PersistentVolume", "StorageClass", "PriorityClass"})
# `helm template` works offline; names and labels follow the objects, not the release name.
HELPERS = """\
{{/*
This file is MARKER. Edit dockyard.toml instead: `dockyard helm` rewrites it.
An image reference from values: REGISTRY/REPOSITORY@DIGEST, or :TAG when no digest is set.
*/}}
{{- define "dockyard.image" -}}
{{- with .registry }}{{ . }}/{{ end }}{{ .repository }}
{{- if .digest }}@{{ .digest }}{{ else }}:{{ .tag | default "latest" }}{{ end }}
{{- end }}
""".replace("MARKER", MARKER)


@dataclass(frozen=True)
class Hole:
    """Where a knob goes. `inline`: the token's text on its line; `block(indent)`: lines
    replacing `key: TOKEN` (each line's indentation given relative to the key's)."""

    inline: str = ""
    block: Callable[[str, int], list[str]] | None = None


@dataclass
class _Holes:
    holes: list[Hole] = field(default_factory=list)

    def put(self, hole: Hole) -> str:
        self.holes.append(hole)
        return f"__dockyard_hole_{len(self.holes) - 1}__"


_TOKEN = re.compile(r"__dockyard_hole_(\d+)__")
_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- )?(?P<key>[^:]+): __dockyard_hole_(?P<n>\d+)__$")


@dataclass(frozen=True)
class ImageValue:
    """One image the chart names, split for values: `registry`/`repository` @`digest` | :`tag`."""

    key: str  # values key: "image" (the API's), "projectImage"
    ref: str  # as the objects name it

    @property
    def parts(self) -> Doc:
        return split_ref(self.ref)


def split_ref(ref: str) -> Doc:
    """`reg.example.com/team/churn-serve@sha256:…` → registry, repository, tag, digest."""
    name, _, digest = ref.partition("@")
    registry, _, repository = name.rpartition("/")
    tag = ""
    if ":" in repository:
        repository, _, tag = repository.rpartition(":")
    return {"registry": registry, "repository": repository, "tag": tag if not digest else "",
            "digest": digest}


@dataclass(frozen=True)
class Chart:
    """What the chart is made of: objects with every optional part present, the project's
    knob values, and the images."""

    name: str
    version: str
    app_version: str
    objects: tuple[Doc, ...]  # rendered with autoscaling, ingress (class, TLS) and a GPU on
    deploy: DeploySpec
    images: tuple[ImageValue, ...]
    description: str = ""
    claims: tuple[tuple[str, str], ...] = ()  # claim or object name → its storage key


def every_part(d: DeploySpec) -> DeploySpec:
    """D with each optional part on (autoscaler, Ingress with class and TLS, a GPU): what the
    objects a chart is made from are rendered with, so every knob has its place in them."""
    return replace(
        d, autoscaling=replace(d.autoscaling, enabled=True, memory=d.autoscaling.memory or 80),
        ingress=Ingress(d.ingress.host or "api.example.invalid", d.ingress.class_name or "nginx",
                        d.ingress.tls_secret or "api-tls"),
        gpu=d.gpu if d.gpu.count else replace(d.gpu, count=1))


def chart_files(chart: Chart) -> dict[str, str]:
    """Every file of the chart, by path relative to the chart's folder."""
    files = {"Chart.yaml": _chart_yaml(chart), "values.yaml": _values_yaml(chart),
             "values.schema.json": values_schema(chart),
             "templates/_helpers.tpl": HELPERS, "templates/NOTES.txt": _notes(chart)}
    used: set[str] = set()
    for obj in chart.objects:
        if obj["kind"] in ("Namespace", "Secret"):
            continue  # helm --create-namespace; the Secret comes from .env, never a chart
        base = f"{obj['kind'].lower()}-{stable_name(obj)}"
        path, n = f"templates/{base}.yaml", 2
        while path in used:
            path, n = f"templates/{base}-{n}.yaml", n + 1
        used.add(path)
        files[path] = template(obj, chart)
    return files


def values(chart: Chart) -> Doc:
    """The default values: the project's own, so the defaults render the prod objects."""
    d = chart.deploy
    gpu_selector, gpu_tolerations = _gpu_placement(chart)
    doc: Doc = {
        "namespace": d.namespace,
        "replicaCount": d.replicas,
    }
    for image in chart.images:
        doc[image.key] = {**image.parts, "pullPolicy": pull_policy(image.ref)}
    doc |= {
        "autoscaling": {"enabled": d.autoscaling.enabled, "minReplicas": d.autoscaling.min,
                        "maxReplicas": d.autoscaling.max,
                        "targetCPUUtilizationPercentage": d.autoscaling.cpu,
                        "targetMemoryUtilizationPercentage": d.autoscaling.memory},
        "resources": {"requests": {"cpu": d.requests.cpu, "memory": d.requests.memory},
                      "limits": {"cpu": d.limits.cpu, "memory": d.limits.memory}},
        "gpu": {"count": d.gpu.count, "resource": d.gpu.resource},
        "nodeSelector": gpu_selector if d.gpu.count else {},
        "tolerations": gpu_tolerations if d.gpu.count else [],
        "ingress": {"enabled": bool(d.ingress.host), "host": d.ingress.host,
                    "className": d.ingress.class_name, "tlsSecret": d.ingress.tls_secret},
        "storage": {"className": d.storage.class_name,
                    "sizes": {key: d.storage.size_of(key) for _, key in chart.claims}},
    }
    return doc


def values_schema(chart: Chart) -> str:
    """values.schema.json: Helm checks given values against it (lint, template, install), so
    `--set replicaCount=three` is refused with the key's name instead of rendering nonsense."""
    def obj(props: Doc, required: tuple[str, ...] = ()) -> Doc:
        doc: Doc = {"type": "object", "properties": props}
        if required:
            doc["required"] = list(required)
        return doc

    text, count = {"type": "string"}, {"type": "integer", "minimum": 0}
    quantity = {"type": ["string", "number"]}
    amounts = obj({"cpu": quantity, "memory": quantity})
    image = obj({"registry": text, "repository": {"type": "string", "minLength": 1},
                 "tag": text, "digest": {"type": "string", "pattern": "^(sha256:[0-9a-f]{64})?$"},
                 "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}}, ("repository",))
    props: Doc = {
        "namespace": text,
        "replicaCount": {"type": "integer", "minimum": 1},
        **{i.key: image for i in chart.images},
        "autoscaling": obj({"enabled": {"type": "boolean"},
                            "minReplicas": {"type": "integer", "minimum": 1},
                            "maxReplicas": {"type": "integer", "minimum": 1},
                            "targetCPUUtilizationPercentage": count,
                            "targetMemoryUtilizationPercentage": count}),
        "resources": obj({"requests": amounts, "limits": amounts}),
        "gpu": obj({"count": count, "resource": {"type": "string", "minLength": 1}}),
        "nodeSelector": {"type": "object", "additionalProperties": text},
        "tolerations": {"type": "array", "items": {"type": "object"}},
        "ingress": {**obj({"enabled": {"type": "boolean"}, "host": text, "className": text,
                           "tlsSecret": text}),
                    # An enabled Ingress needs a host to route.
                    "if": {"properties": {"enabled": {"const": True}}},
                    "then": {"properties": {"host": {"minLength": 1}}}},
        # Each claim's size, by data folder or service: every one the chart makes.
        "storage": obj({"className": text,
                        "sizes": obj({key: {"type": "string", "minLength": 1}
                                      for _, key in chart.claims},
                                     tuple(key for _, key in chart.claims))}),
    }
    schema = {"$comment": f"This file is {MARKER}. Edit dockyard.toml instead: `dockyard "
                          "helm` rewrites it.",
              "$schema": "https://json-schema.org/draft-07/schema#", **obj(props)}
    return json.dumps(schema, indent=2) + "\n"


def _gpu_placement(chart: Chart) -> tuple[Doc, list[Doc]]:
    """The API pod's node selector and tolerations as the objects have them (GPU on)."""
    api = _api_deployment(chart.objects)
    pod = api["spec"]["template"]["spec"] if api else {}
    selector = pod.get("nodeSelector") or dict(GPU_VENDORS[chart.deploy.gpu.vendor][1])
    tolerations = pod.get("tolerations") or [
        {"key": chart.deploy.gpu.resource, "operator": "Exists", "effect": "NoSchedule"}]
    return copy.deepcopy(selector), copy.deepcopy(tolerations)


def _is_api(obj: Doc) -> bool:
    return bool(obj.get("metadata", {}).get("labels", {}).get(ROLE_LABEL) == API_ROLE)


def _api_deployment(objects: tuple[Doc, ...]) -> Doc | None:
    return next((o for o in objects if o["kind"] == "Deployment" and _is_api(o)), None)


# --- templates --------------------------------------------------------------------------------


def template(obj: Doc, chart: Chart) -> str:
    """One object as a template: knobs replaced, optional objects wrapped in their switch."""
    holes = _Holes()
    doc = copy.deepcopy(obj)
    if doc["kind"] not in CLUSTER_SCOPED:
        doc["metadata"] = {"name": doc["metadata"]["name"],
                           "namespace": holes.put(Hole(inline="{{ .Release.Namespace }}")),
                           **{k: v for k, v in doc["metadata"].items() if k != "name"}}
    _images(doc, chart, holes)
    _storage_holes(doc, chart, holes)
    condition = ""
    if _is_api(doc):
        kind = doc["kind"]
        if kind == "Deployment":
            _api_deployment_holes(doc, chart, holes)
        elif kind == "HorizontalPodAutoscaler":
            _autoscaler_holes(doc, holes)
            condition = ".Values.autoscaling.enabled"
        elif kind == "Ingress":
            _ingress_holes(doc, holes)
            condition = ".Values.ingress.enabled"
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True,
                          width=1_000_000)
    # Text of the objects that looks like a template action (a script, an annotation) is
    # printed as written, not run: `{{` becomes `{{ "{{" }}` (holes are added after this).
    body = _fill(text.replace("{{", '{{ "{{" }}'), holes)
    header = (f"{{{{/* This file is {MARKER}. Edit dockyard.toml instead: `dockyard helm` "
              f"rewrites it. */}}}}\n")
    if condition:
        return f"{header}{{{{- if {condition} }}}}\n{body}{{{{- end }}}}\n"
    return header + body


def _images(doc: Any, chart: Chart, holes: _Holes) -> None:
    """Every container (and init container) that runs one of the chart's images."""
    by_ref = {image.ref: image for image in chart.images}
    for container in _containers(doc):
        image = by_ref.get(container.get("image", ""))
        if image is None:
            continue
        key = f".Values.{image.key}"
        container["image"] = holes.put(Hole(
            inline=f'{{{{ include "dockyard.image" {key} | quote }}}}'))
        if "imagePullPolicy" in container:
            container["imagePullPolicy"] = holes.put(Hole(inline=f"{{{{ {key}.pullPolicy }}}}"))


def _containers(doc: Any) -> list[Doc]:
    """Containers anywhere in an object (a pod template, a CronJob's job template)."""
    found: list[Doc] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                found += [c for c in value if isinstance(c, dict)]
            else:
                found += _containers(value)
    elif isinstance(doc, list):
        for item in doc:
            found += _containers(item)
    return found


def _api_deployment_holes(doc: Doc, chart: Chart, holes: _Holes) -> None:
    # The autoscaler owns the count when there is one: no `replicas` to fight it.
    def replicas(indent: str, _n: int) -> list[str]:
        return [f"{indent}{{{{- if not .Values.autoscaling.enabled }}}}",
                f"{indent}replicas: {{{{ .Values.replicaCount }}}}",
                f"{indent}{{{{- end }}}}"]

    doc["spec"] = {"replicas": holes.put(Hole(block=replicas)),
                   **{k: v for k, v in doc["spec"].items() if k != "replicas"}}
    pod = doc["spec"]["template"]["spec"]
    api_name = doc["metadata"]["name"]
    for container in pod.get("containers", []):
        if container.get("name") == api_name or len(pod["containers"]) == 1:
            container["resources"] = holes.put(Hole(block=_resources))
    pod.pop("nodeSelector", None)
    pod.pop("tolerations", None)
    pod["nodeSelector"] = holes.put(Hole(block=_with_block(".Values.nodeSelector",
                                                           "nodeSelector")))
    pod["tolerations"] = holes.put(Hole(block=_with_block(".Values.tolerations",
                                                          "tolerations")))


def _resources(indent: str, n: int) -> list[str]:
    inner = n + 2
    return [f"{indent}resources:",
            f"{indent}  requests:",
            f"{indent}    {{{{- toYaml .Values.resources.requests | nindent {inner + 2} }}}}",
            f"{indent}  limits:",
            f"{indent}    {{{{- toYaml .Values.resources.limits | nindent {inner + 2} }}}}",
            f"{indent}    {{{{- if .Values.gpu.count }}}}",
            f"{indent}    {{{{ .Values.gpu.resource }}}}: {{{{ .Values.gpu.count }}}}",
            f"{indent}    {{{{- end }}}}"]


def _with_block(expr: str, key: str) -> Callable[[str, int], list[str]]:
    def lines(indent: str, n: int) -> list[str]:
        return [f"{indent}{{{{- with {expr} }}}}",
                f"{indent}{key}:",
                f"{indent}  {{{{- toYaml . | nindent {n + 2} }}}}",
                f"{indent}{{{{- end }}}}"]
    return lines


def _with_value(expr: str, key: str) -> Callable[[str, int], list[str]]:
    """`key: VALUE` (quoted) only when EXPR is set: an optional string field."""
    def lines(indent: str, _n: int) -> list[str]:
        return [f"{indent}{{{{- with {expr} }}}}",
                f"{indent}{key}: {{{{ . | quote }}}}",
                f"{indent}{{{{- end }}}}"]
    return lines


def _autoscaler_holes(doc: Doc, holes: _Holes) -> None:
    spec = doc["spec"]
    spec["minReplicas"] = holes.put(Hole(inline="{{ .Values.autoscaling.minReplicas }}"))
    spec["maxReplicas"] = holes.put(Hole(inline="{{ .Values.autoscaling.maxReplicas }}"))

    def metrics(indent: str, _n: int) -> list[str]:
        lines = [f"{indent}metrics:"]
        for name, key in (("cpu", "targetCPUUtilizationPercentage"),
                          ("memory", "targetMemoryUtilizationPercentage")):
            lines += [f"{indent}{{{{- with .Values.autoscaling.{key} }}}}",
                      f"{indent}- type: Resource",
                      f"{indent}  resource:",
                      f"{indent}    name: {name}",
                      f"{indent}    target:",
                      f"{indent}      type: Utilization",
                      f"{indent}      averageUtilization: {{{{ . }}}}",
                      f"{indent}{{{{- end }}}}"]
        return lines

    spec["metrics"] = holes.put(Hole(block=metrics))


def _ingress_holes(doc: Doc, holes: _Holes) -> None:
    spec = doc["spec"]
    host = holes.put(Hole(inline="{{ .Values.ingress.host | quote }}"))

    def tls(indent: str, _n: int) -> list[str]:
        return [f"{indent}{{{{- with .Values.ingress.tlsSecret }}}}",
                f"{indent}tls:",
                f"{indent}- hosts:",
                f"{indent}  - {{{{ $.Values.ingress.host | quote }}}}",
                f"{indent}  secretName: {{{{ . | quote }}}}",
                f"{indent}{{{{- end }}}}"]

    rules = spec.get("rules", [])
    for rule in rules:
        rule["host"] = host
    new: Doc = {"ingressClassName": holes.put(Hole(
        block=_with_value(".Values.ingress.className", "ingressClassName"))),
                "tls": holes.put(Hole(block=tls))}
    new |= {k: v for k, v in spec.items() if k not in ("ingressClassName", "tls")}
    doc["spec"] = new


def _storage_holes(doc: Doc, chart: Chart, holes: _Holes) -> None:
    """A claim's size and class (a data folder's claim, a StatefulSet's claim templates),
    for the claims `chart.claims` names."""
    key = dict(chart.claims).get(doc["metadata"]["name"])
    if key is None:
        return
    if doc["kind"] == "PersistentVolumeClaim":
        owners = [doc]
    elif doc["kind"] == "StatefulSet":
        owners = doc["spec"].get("volumeClaimTemplates", [])
    else:
        return

    storage_class = Hole(block=_with_value(".Values.storage.className", "storageClassName"))
    size = Hole(inline=f'{{{{ index .Values.storage.sizes "{key}" | quote }}}}')
    for owner in owners:
        rest = {k: v for k, v in owner["spec"].items() if k != "storageClassName"}
        owner["spec"] = {"accessModes": rest.pop("accessModes"),
                         "storageClassName": holes.put(storage_class), **rest}
        owner["spec"]["resources"]["requests"]["storage"] = holes.put(size)


def _fill(text: str, holes: _Holes) -> str:
    out: list[str] = []
    for line in text.splitlines():
        match = _KEY_LINE.match(line)
        hole = holes.holes[int(match["n"])] if match else None
        if match and hole is not None and hole.block is not None:
            if match["dash"]:  # a hole as a list item's first key: its own line, same column
                out.append(f"{match['indent']}-")
                indent = match["indent"] + "  "
            else:
                indent = match["indent"]
            out += hole.block(indent, len(indent))
            continue
        out.append(_TOKEN.sub(lambda m: holes.holes[int(m[1])].inline, line))
    return "\n".join(out) + "\n"


# --- Chart.yaml, values.yaml, NOTES.txt ------------------------------------------------------


def _chart_yaml(chart: Chart) -> str:
    doc = {"apiVersion": "v2", "name": chart.name,
           "description": chart.description or f"{chart.name}, packaged by dockyard",
           "type": "application", "version": chart.version, "appVersion": chart.app_version}
    return (f"# This file is {MARKER}. Edit dockyard.toml instead: `dockyard helm` rewrites "
            f"it.\n" + yaml.safe_dump(doc, sort_keys=False))


VALUES_NOTES = """\
# This file is MARKER. Edit dockyard.toml ([deploy]) instead: `dockyard helm`
# rewrites it. Override at install time (`helm upgrade --install -f my-values.yaml`, --set).
#
# The defaults render exactly the objects of `dockyard k8s`'s prod overlay.
# namespace: where [deploy] means the release to run; the objects take the release's own
#   namespace (helm --namespace N --create-namespace), this value only documents it.
# replicaCount: the API's pods when autoscaling is off (the autoscaler owns the count when on).
# image (projectImage: the project's, for dashboards and pipeline steps): the API's image,
#   REGISTRY/REPOSITORY@DIGEST (pinned: what `dockyard push` pushed), or
#   :TAG when digest is empty.
# resources: the API container's requests and limits (Kubernetes quantities).
# gpu: count GPUs of `resource` per API pod (0: none); with a GPU, nodeSelector and
#   tolerations usually pick the GPU nodes, e.g. nodeSelector {SELECTOR}.
# ingress: enabled with a host; className and tlsSecret (a kubernetes.io/tls Secret) optional.
# Secrets are never values: the pods read the Secret <name>-secrets, made from .env
#   (`dockyard deploy` does it, or kubectl create secret generic NAME-secrets --from-env-file=.env).
"""


def _values_yaml(chart: Chart) -> str:
    vendor = GPU_VENDORS[chart.deploy.gpu.vendor][1]
    selector = ", ".join(f'"{k}": "{v}"' for k, v in vendor.items())
    return (VALUES_NOTES.replace("MARKER", MARKER).replace("SELECTOR", selector)
            + yaml.safe_dump(values(chart), sort_keys=False, default_flow_style=False,
                             width=1_000_000))


def _notes(chart: Chart) -> str:
    api = _api_deployment(chart.objects)
    service = api["metadata"]["name"] if api else chart.name
    secret = f"{chart.deploy.name}-secrets"
    return f"""\
{{{{/* This file is {MARKER}. Edit dockyard.toml instead: `dockyard helm` rewrites it. */}}}}
{chart.name} is installed in namespace {{{{ .Release.Namespace }}}}.

The pods read their passwords and keys from the Secret {secret}, made from the project's
.env and never part of this chart. Create or update it before the pods start:

  kubectl -n {{{{ .Release.Namespace }}}} create secret generic {secret} --from-env-file=.env \\
    --dry-run=client -o yaml | kubectl apply -f -

(`dockyard deploy --helm` does this, then installs the chart and waits for the rollout.)

Reach the model API:
{{{{- if .Values.ingress.enabled }}}}
  http{{{{ if .Values.ingress.tlsSecret }}}}s{{{{ end }}}}://{{{{ .Values.ingress.host }}}}/info
{{{{- else }}}}
  kubectl -n {{{{ .Release.Namespace }}}} port-forward service/{service} 8080:80
  curl http://127.0.0.1:8080/info
{{{{- end }}}}

Watch the rollout:
  kubectl -n {{{{ .Release.Namespace }}}} rollout status deployment/{service}
"""
