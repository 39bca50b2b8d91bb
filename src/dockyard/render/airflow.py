"""A pipeline → one Airflow DAG file (Airflow 3 task SDK): one container task per step.

Pure: the `Pipeline` value (its steps are Workloads) and an `AirflowTarget` (operator, image,
where the project lives) in, the text of a Python module out. Every value is written with
`repr`, so no quoting can go wrong; strings Airflow would read as Jinja or as a template file
name are wrapped in `literal(...)`. Secrets appear by name only: DockerOperator tasks read them
from Airflow Variables at run time (`{{ var.value.NAME }}`, which an `AIRFLOW_VAR_NAME` variable
of the worker's environment also provides), KubernetesPodOperator tasks from the Kubernetes
Secret the layout creates (`<project>-secrets`, one key per name).

What a step is in the Workload and a task cannot say is refused (`NotRenderable`), never
dropped: ports, probes, replicas, file secrets, a long-running restart policy.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from dockyard.plan.cluster import claim_name
from dockyard.plan.pipeline import Pipeline, identifier
from dockyard.render.k8s_pod import mebibytes
from dockyard.render.kubernetes import (
    COPY_COMMAND,
    COPY_CONTAINER,
    COPY_RESOURCES,
    COPY_TARGET,
)
from dockyard.workload import LABEL_PROJECT, LABEL_ROLE, EnvVar, Mount, SecretRef, Workload

Operator = Literal["docker", "kubernetes"]
OPERATORS: tuple[Operator, ...] = ("docker", "kubernetes")
WIDTH = 99  # ruff's default line length is 88; the generated file keeps under 100
IMAGE_WORKDIR = "/workspace"  # the project image's WORKDIR (a pod cannot set another)
IMAGE_UID = 1000  # the project image's USER
GPU_RESOURCE = "nvidia.com/gpu"
# Template file extensions DockerOperator's templated fields would try to load.
_TEMPLATE_EXT = (".sh", ".bash", ".env")
_JINJA = re.compile(r"\{\{|\{%|\{#")
# Names the module itself defines or imports: a step so named gets a `_task` suffix.
_RESERVED = {"dag", "log", "os", "importlib", "logging", "datetime", "timedelta", "timezone",
             "literal", "k8s", "docker", "airflow", "annotations", "on_step_failure",
             "secret_env", "security", "claim"}


class NotRenderable(ValueError):
    """The step has a field an Airflow container task cannot express."""


@dataclass(frozen=True)
class AirflowTarget:
    """Where and how the tasks run: what the steps' Workloads do not say."""

    operator: Operator
    project: str  # the project's name: Variable and Secret names derive from it
    project_dir: str  # the project folder on the Docker host (DockerOperator's default)
    uid: int = IMAGE_UID  # DockerOperator: the folder owner's (files written stay theirs)
    gid: int = IMAGE_UID
    network: str = ""  # DockerOperator: the Compose network of the stack's data services
    # KubernetesPodOperator, as the Kubernetes layout ([deploy]) has them:
    namespace: str = "default"
    k8s_name: str = ""  # the objects' name prefix (Secret, claims, pods); "": the project's
    gpu_resource: str = GPU_RESOURCE  # the device plugin's resource
    gpu_tolerations: tuple[tuple[str, str, str, str], ...] = (
        (GPU_RESOURCE, "Exists", "", "NoSchedule"),)  # key, operator, value, effect
    gpu_node_selector: tuple[tuple[str, str], ...] = ()

    @property
    def prefix(self) -> str:
        return self.k8s_name or dns_name(self.project)

    @property
    def project_dir_variable(self) -> str:
        return f"dockyard_{identifier(self.project)}_project_dir"

    @property
    def secret_name(self) -> str:
        """The Kubernetes Secret holding the stack's secrets, one key per name."""
        return f"{self.prefix}-secrets"


def dag_file(pipeline: Pipeline, target: AirflowTarget, header: str) -> str:
    """The whole module text; `header` is the generated-file comment line(s)."""
    for w in pipeline.steps:
        check(w, target.operator)
    render = _docker if target.operator == "docker" else _kubernetes
    constants, tasks = render(pipeline, target)
    names = task_names(pipeline)
    code = [*constants, _callback(), _dag_open(pipeline), *(_indent(t, 4) for t in tasks),
            _indent(_edges(pipeline, names), 4)]
    body = "\n".join(code)
    parts = [header.rstrip("\n"), _docstring(pipeline, target), _imports(target, body), body]
    return "\n".join(parts).rstrip("\n") + "\n"


def check(w: Workload, operator: Operator) -> None:
    refused = {"ports": w.ports, "probe": w.probe, "replicas": w.replicas != 1,
               "secret_files": w.secret_files,
               "restart": w.restart not in ("", "no")}
    if operator == "docker":
        refused["read_only"] = w.read_only
    if operator == "kubernetes":  # the pod runs as the image's user, in its WORKDIR
        refused["workdir"] = w.workdir not in ("", IMAGE_WORKDIR)
        refused["user"] = w.user is not None and w.user.uid not in (None, IMAGE_UID)
    for field, value in refused.items():
        if value:
            raise NotRenderable(f"step {w.name}: {field} cannot be said by an Airflow "
                                f"{operator} task")


def task_names(pipeline: Pipeline) -> dict[str, str]:
    """Step → the Python variable of its task (the step's name where it can be one)."""
    names = {}
    for w in pipeline.steps:
        name = w.name.replace("-", "_")
        reserved = keyword.iskeyword(name) or name in _RESERVED
        names[w.name] = f"{name}_task" if reserved else name
    return names


def dns_name(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:50] or "project"


# ---- the module's parts ----

def _docstring(pipeline: Pipeline, target: AirflowTarget) -> str:
    order = ", ".join(w.name for w in pipeline.steps)
    how = {"docker": "a container of the project's image on a Docker engine (DockerOperator)",
           "kubernetes": "a pod of the project's image (KubernetesPodOperator)"}[target.operator]
    lines = [*_wrap(f'"""The {pipeline.name} pipeline as an Airflow DAG; its steps in run order: '
                    f"{order}."), "",
             *_wrap(f"Each step runs as {how}, as `dockyard pipeline run` runs it with "
                    "Compose. Put this file in your Airflow deployment's dags folder; the "
                    "workers must be able to pull IMAGE (`dockyard push REGISTRY/NAME:TAG` "
                    "first, then generate again).")]
    if target.operator == "docker":
        lines += ["", *_wrap(f"Airflow Variable {target.project_dir_variable}: the project "
                             "folder on the Docker host (default: the folder this file was "
                             "generated from).")]
    secrets = sorted({s for w in pipeline.steps for s in w.secrets})
    if secrets:
        where = ("Airflow Variables (or AIRFLOW_VAR_<NAME> in the workers' environment)"
                 if target.operator == "docker"
                 else f"the Kubernetes Secret {target.secret_name}, one key each")
        lines += ["", f"Secrets, by name, from {where}:", *_wrap(", ".join(secrets))]
    lines.append('"""')
    return "\n".join(lines) + "\n"


def _wrap(text: str) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + len(word) + 1 > WIDTH - 4:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _imports(target: AirflowTarget, body: str) -> str:
    """What the body uses, sorted as ruff's isort wants it."""
    def used(*names: str) -> list[str]:
        return [n for n in names if re.search(rf"\b{n}\b", body)
                and (n != "literal" or "literal(" in body)]

    stdlib = ["import importlib", "import logging", "import os",
              f"from datetime import {', '.join(used('datetime', 'timedelta', 'timezone'))}"]
    sdk = f"from airflow.sdk import {', '.join(used('DAG', 'literal'))}"
    if target.operator == "docker":
        types = used("DeviceRequest", "Mount")
        third = ["from airflow.providers.docker.operators.docker import DockerOperator", sdk,
                 *([f"from docker.types import {', '.join(types)}"] if types else [])]
    else:
        third = ["from airflow.providers.cncf.kubernetes.operators.pod import "
                 "KubernetesPodOperator", sdk,
                 "from kubernetes.client import models as k8s"]
    return "\n".join(["from __future__ import annotations", "", *stdlib, "", *third]) + "\n"


def _callback() -> str:
    return '''
log = logging.getLogger(__name__)


def on_step_failure(context):
    """Called once a step has failed for good (after its retries): the place for an alert.

    Set DOCKYARD_ON_FAILURE=package.module:function in the workers' environment to call a
    function of yours with the same context (this file is rewritten by `dockyard airflow`).
    """
    ti = context["task_instance"]
    log.error("dockyard step %s failed (try %s) in %s", ti.task_id, ti.try_number, ti.dag_id)
    target = os.environ.get("DOCKYARD_ON_FAILURE", "")
    if target:
        module, _, name = target.partition(":")
        getattr(importlib.import_module(module), name)(context)

'''


def _dag_open(pipeline: Pipeline) -> str:
    schedule = q(pipeline.schedule) if pipeline.schedule else "None"
    return (f"with DAG(\n"
            f"    dag_id={q(pipeline.name + '_pipeline')},\n"
            f"    schedule={schedule},\n"
            f"    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),\n"
            f"    catchup=False,\n"
            f"    max_active_runs=1,  # steps share the project folder\n"
            f"    default_args={{\"owner\": \"dockyard\", \"on_failure_callback\": "
            f"on_step_failure}},\n"
            f"    tags=[\"dockyard\", {q(pipeline.name)}],\n"
            f") as dag:")


def _edges(pipeline: Pipeline, names: dict[str, str]) -> str:
    lines = []
    upstream = pipeline.upstream
    for w in pipeline.steps:
        ups = [names[s.name] for s in pipeline.steps if s.name in upstream[w.name]]
        if len(ups) == 1:
            lines.append(f"{ups[0]} >> {names[w.name]}")
        elif ups:
            lines.append(f"[{', '.join(ups)}] >> {names[w.name]}")
    return "\n".join(lines) + "\n" if lines else ""


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line.strip() else "" for line in text.split("\n"))


def _task(kind: str, names: dict[str, str], w: Workload, args: list[tuple[str, str]]) -> str:
    """`name = Kind(key=value, ...)`, each argument on its own line."""
    lines = [f"{names[w.name]} = {kind}("]
    for key, value in args:
        lines.append(_argument(key, value))
    lines.append(")")
    return "\n".join(lines) + "\n"


def _argument(key: str, value: str) -> str:
    return f"    {key}={value},"


def _common(w: Workload) -> list[tuple[str, str]]:
    """Retries, their delay and the time limit: the spec's, the same for both operators."""
    args = [("retries", str(w.retries))]
    if w.retries and w.retry_delay:
        args.append(("retry_delay", f"timedelta(seconds={w.retry_delay})"))
    if w.timeout:
        args.append(("execution_timeout", f"timedelta(seconds={w.timeout})"))
    return args


# ---- values as Python source ----

def q(value: str) -> str:
    """A Python string literal in double quotes (JSON's escapes are Python's too), or in
    single quotes when that spares backslashes (JSON text)."""
    if '"' in value and "'" not in value:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def text(value: str, files: tuple[str, ...] = _TEMPLATE_EXT) -> str:
    """A string Airflow must pass as it is: a plain literal, or `literal(...)` when Jinja or
    the operator's template-file lookup (names ending in `files`) would otherwise read it."""
    if _JINJA.search(value) or (files and value.endswith(files)):
        return f"literal({q(value)})"
    return q(value)


def lead(key: str) -> int:
    """The column a task argument's value starts at (`        key=`)."""
    return 9 + len(key)


def py_list(items: Iterable[str], indent: int, start: int) -> str:
    """Already-rendered items as a list literal: on one line when it fits (`start`: its
    column), else one item a line, `indent` being the line's own (before the DAG's block)."""
    items = list(items)
    inline = "[" + ", ".join(items) + "]"
    if start + len(inline) + 1 <= WIDTH:
        return inline
    pad = " " * (indent + 4)
    return "[\n" + "".join(f"{pad}{_fit(item, indent + 8, 0)},\n" for item in items) \
        + " " * indent + "]"


def py_dict(items: Iterable[tuple[str, str]], indent: int, start: int) -> str:
    items = list(items)
    pairs = [f"{q(k)}: {v}" for k, v in items]
    inline = "{" + ", ".join(pairs) + "}"
    if start + len(inline) + 1 <= WIDTH:
        return inline
    pad = " " * (indent + 4)
    return "{\n" + "".join(f"{pad}{q(k)}: {_fit(v, indent + 8, len(q(k)) + 2)},\n"
                           for k, v in items) + " " * indent + "}"


def _fit(source: str, column: int, prefix: int) -> str:
    """A string literal too long for its line (at `column`, after `prefix` characters) as
    adjacent literals in parentheses, which Python joins; anything else as it is."""
    if column + prefix + len(source) + 1 <= WIDTH or source[:1] not in "\"'":
        return source
    value = ast.literal_eval(source)
    size = max(20, WIDTH - column - 8)
    chunks = [value[i:i + size] for i in range(0, len(value), size)]
    inner = " " * (column - 4 + 4)
    return "(\n" + "".join(f"{inner}{q(c)}\n" for c in chunks) + " " * (column - 4) + ")"


def _constant(name: str, value: str) -> str:
    return f"{name} = {_fit(q(value), 4, len(name) + 3)}"


def _labels(w: Workload) -> list[tuple[str, str]]:
    return [(LABEL_PROJECT, q(w.project)), (LABEL_ROLE, q(w.role))]


# ---- DockerOperator ----

def _docker(pipeline: Pipeline, target: AirflowTarget) -> tuple[list[str], list[str]]:
    image = pipeline.steps[0].image if pipeline.steps else ""
    project_dir = (f"{{{{ var.value.get({target.project_dir_variable!r}, "
                   f"{target.project_dir!r}) }}}}")
    constants = [
        _constant("IMAGE", image),
        "# The project folder on the Docker host, mounted at /workspace (as `dockyard pipeline",
        "# run` does): the Airflow Variable, or else the folder this file was generated from.",
        _constant("PROJECT_DIR", project_dir),
        "# The folder owner's uid:gid, so that what the steps write stays theirs.",
        f"USER = {q(f'{target.uid}:{target.gid}')}",
    ]
    if target.network:
        constants += ["# The stack's network: `dockyard up` starts its data services there.",
                      _constant("NETWORK", target.network)]
    names = task_names(pipeline)
    tasks = [_task("DockerOperator", names, w, _docker_args(w, target)) for w in pipeline.steps]
    return ["\n".join(constants) + "\n"], tasks


def _docker_args(w: Workload, target: AirflowTarget) -> list[tuple[str, str]]:
    args = [("task_id", q(w.name)), ("image", "IMAGE"),
            ("command", py_list((text(a) for a in w.command), 4, lead("command")))]
    if w.workdir:
        args.append(("working_dir", q(w.workdir)))
    if w.user is not None:
        args.append(("user", "USER" if w.user.uid is None else q(f"{w.user.uid}:"
                                                                     f"{w.user.gid}")))
    args.append(("environment", py_dict(((v.name, _jinja_env(v)) for v in w.env), 4,
                                        lead("environment"))))
    if w.mounts:
        args.append(("mounts", py_list((_docker_mount(m) for m in w.mounts), 4, lead("mounts"))))
    args += [("mount_tmp_dir", "False"), ("auto_remove", q("success"))]
    if target.network and any(d.condition == "healthy" for d in w.depends_on):
        args.append(("network_mode", "NETWORK"))
    if w.resources.cpus is not None:
        args.append(("cpus", repr(float(w.resources.cpus))))
    if w.resources.memory:
        args.append(("mem_limit", q(w.resources.memory)))
    if w.resources.gpus:
        args.append(("device_requests",
                     f"[DeviceRequest(count={w.resources.gpus}, capabilities=[[\"gpu\"]])]"))
    args.append(("labels", py_dict(_labels(w), 4, lead("labels"))))
    return args + _common(w)


def _jinja_env(var: EnvVar) -> str:
    """An environment value for DockerOperator's templated `environment`: text as it is,
    secrets as Airflow Variables read when the task runs."""
    if not var.secrets:
        return text(var.text)
    parts = []
    for part in var.parts:
        if isinstance(part, SecretRef):
            parts.append(f"{{{{ var.value.{part.name} }}}}" if part.required
                         else f"{{{{ var.value.get({part.name!r}, '') }}}}")
        elif _JINJA.search(part):
            parts.append(f"{{% raw %}}{part}{{% endraw %}}")
        else:
            parts.append(part)
    return q("".join(parts))


def _docker_mount(m: Mount) -> str:
    if m.kind == "volume":
        source = q(m.source)
        kind = "volume"
    elif m.source in (".", ""):
        source, kind = "PROJECT_DIR", "bind"
    elif m.source.startswith("/"):
        source, kind = q(m.source), "bind"
    else:
        source, kind = f"PROJECT_DIR + {q('/' + m.source.strip('/'))}", "bind"
    ro = ", read_only=True" if m.read_only else ""
    return f"Mount(source={source}, target={q(m.target)}, type={q(kind)}{ro})"


# ---- KubernetesPodOperator ----

def _kubernetes(pipeline: Pipeline, target: AirflowTarget) -> tuple[list[str], list[str]]:
    image = pipeline.steps[0].image if pipeline.steps else ""
    constants = [
        *(["# Never pushed: pods run it only where a node has it (pull policy Never)."]
          if any(w.local_image for w in pipeline.steps) else []),
        _constant("IMAGE", image),
        f"NAMESPACE = {q(target.namespace)}",
        "# The Secret of the Kubernetes layout: one key per secret name.",
        f"SECRETS = {q(target.secret_name)}",
        "POD_SECURITY = k8s.V1PodSecurityContext(",
        f"    run_as_non_root=True, run_as_user={IMAGE_UID}, run_as_group={IMAGE_UID}, "
        f"fs_group={IMAGE_UID},",
        "    seccomp_profile=k8s.V1SeccompProfile(type=\"RuntimeDefault\"),",
        ")",
    ]
    if any(w.resources.gpus for w in pipeline.steps):
        constants += ["# Where GPU steps go ([deploy.gpu]): GPU nodes are usually tainted.",
                      f"GPU_TOLERATIONS = {py_list(_tolerations(target), 0, 18)}"]
        if target.gpu_node_selector:
            nodes = ((k, q(v)) for k, v in target.gpu_node_selector)
            constants.append(f"GPU_NODES = {py_dict(nodes, 0, 12)}")
    volumes = _k8s_volumes(pipeline, target)
    helpers = [CLAIM_HELPER if any(v.startswith("claim(") for v in volumes) else "", '''

def secret_env(name, optional=False):
    """The environment variable NAME from the key NAME of the Secret SECRETS."""
    selector = k8s.V1SecretKeySelector(name=SECRETS, key=name, optional=optional)
    return k8s.V1EnvVar(name=name, value_from=k8s.V1EnvVarSource(secret_key_ref=selector))


def security(read_only):
    return k8s.V1SecurityContext(
        allow_privilege_escalation=False, capabilities=k8s.V1Capabilities(drop=["ALL"]),
        read_only_root_filesystem=read_only, run_as_non_root=True,
    )
''']
    names = task_names(pipeline)
    tasks = [_task("KubernetesPodOperator", names, w, _k8s_args(w, target, pipeline.steps))
             for w in pipeline.steps]
    helpers.append("\n\n" + "\n".join(_copy_workspace(pipeline)) + "\n")
    helpers.append("\n\n# The workspace copy, and claims the Kubernetes layout creates for data "
                   f"folders\n# and volumes.\nVOLUMES = {py_list(volumes, 0, 10)}\n")
    return ["\n".join(constants) + "\n" + "".join(helpers)], tasks


WORKSPACE_VOLUME = "scratch-workspace"  # the Kubernetes layout's name for it


def _copy_workspace(pipeline: Pipeline) -> list[str]:
    """The init container that gives each step's pod a writable /workspace, as the layout's
    Job has: the image's project folder is root's, and a notebook's executed copy or a file
    a script writes beside itself would fail. Only data folders outlive the pod."""
    local = any(w.local_image for w in pipeline.steps)
    return [
        "# Each pod's /workspace is a writable copy of the image's (an emptyDir this container",
        "# fills first), so a step writes beside its code as under Compose; only data folders'",
        "# claims outlive the pod.",
        "COPY_WORKSPACE = k8s.V1Container(",
        f"    name={q(COPY_CONTAINER)}, image=IMAGE, "
        f"image_pull_policy={q('Never' if local else 'IfNotPresent')},",
        f"    command={json.dumps(list(COPY_COMMAND))},",
        f"    volume_mounts=[k8s.V1VolumeMount(name={q(WORKSPACE_VOLUME)}, "
        f"mount_path={q(COPY_TARGET)})],",
        "    security_context=security(True),",
        "    resources=k8s.V1ResourceRequirements("
        f"requests={json.dumps(COPY_RESOURCES['requests'])},",
        f"                                         limits={json.dumps(COPY_RESOURCES['limits'])}),",
        ")",
    ]


CLAIM_HELPER = '''

def claim(name, claim_name):
    """A volume of the PersistentVolumeClaim CLAIM_NAME."""
    source = k8s.V1PersistentVolumeClaimVolumeSource(claim_name=claim_name)
    return k8s.V1Volume(name=name, persistent_volume_claim=source)
'''


def _tolerations(target: AirflowTarget) -> list[str]:
    found = []
    for key, operator, value, effect in target.gpu_tolerations:
        args = [f"key={q(key)}", f"operator={q(operator)}"]
        args += [f"value={q(value)}"] if value else []
        args += [f"effect={q(effect)}"] if effect else []
        found.append(f"k8s.V1Toleration({', '.join(args)})")
    return found


def _claim(m: Mount, target: AirflowTarget) -> str:
    """The claim the Kubernetes layout makes for this mount (a data folder's, named there)."""
    if m.kind == "data":
        return claim_name(target.prefix, m.source)
    return dns_name(f"{target.prefix}-{m.source.strip('/').replace('/', '-')}")


def _volume_name(m: Mount) -> str:
    return dns_name(m.source.strip("/").replace("/", "-"))[:63]


def _k8s_volumes(pipeline: Pipeline, target: AirflowTarget) -> list[str]:
    """One claim per data folder or named volume; the project itself is in the image."""
    seen: dict[str, str] = {WORKSPACE_VOLUME: ""}
    for m in (m for w in pipeline.steps for m in w.mounts if m.kind != "bind"):
        seen.setdefault(_volume_name(m), _claim(m, target))
    if any(w.read_only for w in pipeline.steps):
        seen["tmp"] = ""
    return [f"claim({q(name)}, {q(claim)})" if claim
            else f"k8s.V1Volume(name={q(name)}, empty_dir=k8s.V1EmptyDirVolumeSource())"
            for name, claim in seen.items()]


def _k8s_args(w: Workload, target: AirflowTarget,
              steps: tuple[Workload, ...]) -> list[tuple[str, str]]:
    args = [("task_id", q(w.name)), ("name", q(dns_name(f"{target.prefix}-{w.name}"))),
            ("namespace", "NAMESPACE"), ("image", "IMAGE"),
            ("image_pull_policy", q("Never" if w.local_image else "IfNotPresent")),
            ("cmds", py_list((text(a, ()) for a in w.command[:1]), 4, lead("cmds"))),
            ("arguments", py_list((text(a, ()) for a in w.command[1:]), 4,
                                  lead("arguments"))),
            ("env_vars", py_list(_k8s_env(w), 4, lead("env_vars")))]
    mounts = [m for m in w.mounts if m.kind != "bind"]
    used = {WORKSPACE_VOLUME, *(_volume_name(m) for m in mounts)}
    used |= {"tmp"} if w.read_only else set()
    every = {WORKSPACE_VOLUME, *(_volume_name(m) for s in steps for m in s.mounts
                                 if m.kind != "bind")}
    every |= {"tmp"} if any(s.read_only for s in steps) else set()
    args.append(("init_containers", "[COPY_WORKSPACE]"))
    args.append(("volumes", "VOLUMES" if used == every else
                 f"[v for v in VOLUMES if v.name in {json.dumps(sorted(used))}]"))
    items = [f"k8s.V1VolumeMount(name={q(WORKSPACE_VOLUME)}, mount_path={q(IMAGE_WORKDIR)})"]
    items += [f"k8s.V1VolumeMount(name={q(_volume_name(m))}, mount_path={q(m.target)}"
              f"{', read_only=True' if m.read_only else ''})" for m in mounts]
    if w.read_only:
        items.append("k8s.V1VolumeMount(name='tmp', mount_path='/tmp')")
    args.append(("volume_mounts", py_list(items, 4, lead("volume_mounts"))))
    resources = _k8s_resources(w, target.gpu_resource)
    if resources:
        args.append(("container_resources", resources))
    if w.resources.gpus:
        args.append(("tolerations", "GPU_TOLERATIONS"))
        if target.gpu_node_selector:
            args.append(("node_selector", "GPU_NODES"))
    args += [("security_context", "POD_SECURITY"),
             ("container_security_context", f"security({w.read_only})"),
             ("labels", py_dict(((k, q(_label_value(v)))
                                 for k, v in ((LABEL_PROJECT, w.project),
                                              (LABEL_ROLE, w.role))), 4, lead("labels"))),
             ("on_finish_action", q("delete_succeeded_pod")), ("get_logs", "True")]
    if w.timeout:
        args.append(("active_deadline_seconds", str(w.timeout)))
    return args + _common(w)


def _label_value(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-._")[:63]


def _k8s_env(w: Workload) -> list[str]:
    """Secrets first (from the Secret), then the rest: `$(NAME)` refers to a secret inside a
    value, which Kubernetes expands from variables defined before it."""
    found = [f"secret_env({q(s.name)}" + (", optional=True)" if not s.required else ")")
             for s in dict.fromkeys(s for v in w.env for s in v.secrets)]
    found = list(dict.fromkeys(found))
    for var in w.env:
        if var.secrets and var.parts == (SecretRef(var.name, var.secrets[0].required),):
            continue  # the variable is the secret itself: defined above
        value = "".join(p.replace("$(", "$$(") if isinstance(p, str) else f"$({p.name})"
                        for p in var.parts)
        found.append(f"k8s.V1EnvVar(name={q(var.name)}, value={text(value, ())})")
    return found


def _k8s_resources(w: Workload, gpu_resource: str) -> str:
    limits: list[tuple[str, str]] = []
    if w.resources.cpus is not None:
        limits.append(("cpu", q(f"{w.resources.cpus:g}")))
    if w.resources.memory:
        limits.append(("memory", q(mebibytes(w.resources.memory))))
    if w.resources.gpus:
        # A pod asks for a number of GPUs; "all of the host's" (-1) becomes one.
        limits.append((gpu_resource, q(str(max(w.resources.gpus, 1)))))
    if not limits:
        return ""
    prefix = "k8s.V1ResourceRequirements(limits="
    return f"{prefix}{py_dict(limits, 4, lead('container_resources') + len(prefix))})"
