"""Every renderer keeps what a Workload says: the same image, command, environment, secrets by
name, mounts, ports, resources, probe, user and hardening, read back from what it rendered.

Each renderer has a reader here that parses its output back into a `Seen` value; a field a
renderer drops (or garbles) makes the comparison fail. A field of `Workload` that no reader
compares and that is not declared out of a renderer's reach fails `test_every_field_is_checked`,
so a new field cannot be added without its renderers.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockyard.app.context import load_project
from dockyard.plan.pipeline import Pipeline
from dockyard.plan.stack import stack_workloads
from dockyard.render import airflow, compose, docker_run
from dockyard.render.k8s_pod import mebibytes
from dockyard.render.kubernetes import COPY_TARGET
from dockyard.workload import (
    LABEL_PROJECT,
    LABEL_ROLE,
    Dependency,
    EnvVar,
    Mount,
    Port,
    Probe,
    Resources,
    SecretFile,
    SecretRef,
    User,
    Workload,
    env,
    secret_env,
)
from tests.unit.render.airflow_reader import Dag, plain, read_dag
from tests.unit.stack.helpers import context_of, fixed_key, stack_of

GOLDEN = Path(__file__).resolve().parents[2] / "golden"

# What each field is compared as; `Seen` holds one value per entry.
COMPARED = ("name", "role", "project", "image", "command", "workdir", "env", "mounts", "ports",
            "resources", "probe", "user", "read_only", "drop_caps", "no_new_privileges",
            "restart", "stop_timeout")
# Fields a target cannot express, with the reason; the renderer refuses them (docker run) or
# the field means nothing there.
_TASK = {"ports": "refused: a task publishes nothing", "probe": "refused: a task runs to "
         "its end", "replicas": "refused: one task per step",
         "secret_files": "refused: secrets reach a task as environment variables",
         "restart": "Airflow retries a task (retries, retry_delay), never restarts it",
         "stop_timeout": "Airflow ends a task at its execution_timeout",
         "profiles": "every step of the DAG runs; a GPU step asks for GPUs itself"}
NOT_IN = {
    "docker_run": {"depends_on": "one container: nothing to wait for",
                   "profiles": "one container, started because it was asked for",
                   "replicas": "one container", "secret_files": "no file secrets outside swarm",
                   "retries": "the caller reruns a failed `docker run`",
                   "retry_delay": "the caller reruns a failed `docker run`",
                   "timeout": "`dockyard run` runs until the command ends",
                   "local_image": "docker run never pulls an image it has; dockyard checks "
                                  "the image exists before running"},
    "compose": {"remove": "Compose keeps a service's container until `down`"},
    "kubernetes": {"replicas": "the API's count is [deploy]'s (replicas, or the autoscaler's "
                               "range); every other pod runs one",
                   "local_image": "a cluster pulls every image: a local build is named by its "
                                  "registry reference (pinned by digest once pushed)",
                   "remove": "pods belong to their controller"},
    "airflow_docker": {
        **_TASK, "read_only": "refused: DockerOperator has no read-only root filesystem",
        "drop_caps": "DockerOperator has no cap_drop: the step runs unprivileged as the "
                     "folder's owner", "no_new_privileges": "DockerOperator has no security_opt",
        "local_image": "DockerOperator pulls only an image the engine does not have",
        "remove": "auto_remove='success': a failed step's container stays for its logs",
        "ports": _TASK["ports"]},
    "airflow_kubernetes": {**_TASK, "remove": "on_finish_action='delete_succeeded_pod': a "
                                               "failed pod stays for its logs"},
}
ONLY_IN_COMPOSE = ("depends_on", "profiles", "replicas", "secret_files", "retries",
                   "retry_delay", "timeout", "local_image")
IN_AIRFLOW = ("name", "role", "project", "image", "command", "workdir", "env", "mounts",
              "resources", "user", "retries", "retry_delay", "timeout", "depends_on")
IN_KUBERNETES = (*IN_AIRFLOW, "read_only", "drop_caps", "no_new_privileges", "local_image")
# What the Kubernetes reader compares besides COMPARED.
ONLY_IN_K8S = ("depends_on", "profiles", "secret_files", "retries", "timeout", "retry_delay")
CHECKED_BY = {"docker_run": (*COMPARED, "remove"), "compose": (*COMPARED, *ONLY_IN_COMPOSE),
              "kubernetes": (*COMPARED, *ONLY_IN_K8S),
              "airflow_docker": IN_AIRFLOW, "airflow_kubernetes": IN_KUBERNETES}


@dataclass(frozen=True)
class Seen:
    values: dict[str, Any]


def expected(w: Workload, fields: tuple[str, ...]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": w.name, "role": w.role, "project": w.project, "image": w.image,
        "command": w.command, "workdir": w.workdir,
        "env": tuple((v.name, v.text, tuple(s.name for s in v.secrets)) for v in w.env),
        "mounts": tuple((m.kind, m.target, m.read_only) for m in w.mounts),
        "ports": tuple((p.host_ip, p.host_port, p.container_port) for p in w.ports),
        "resources": w.resources, "probe": w.probe,
        "user": w.user, "read_only": w.read_only, "drop_caps": w.drop_caps,
        "no_new_privileges": w.no_new_privileges, "restart": w.restart,
        "stop_timeout": w.stop_timeout, "remove": w.remove,
        "depends_on": w.depends_on, "profiles": w.profiles, "replicas": w.replicas,
        "secret_files": w.secret_files, "retries": w.retries, "local_image": w.local_image,
        "retry_delay": w.retry_delay if w.retries else 0,  # between attempts, when any
        "timeout": w.timeout,
    }
    return {key: view[key] for key in fields}


# ---- docker run, read back ----

def read_docker_run(argv: list[str], w: Workload) -> dict[str, Any]:
    seen: dict[str, Any] = {"command": (), "workdir": "", "env": [], "mounts": [], "ports": [],
                            "user": None, "read_only": False, "drop_caps": [], "restart": "",
                            "no_new_privileges": False, "stop_timeout": 0, "name": "",
                            "remove": False, "labels": {}, "cpus": None, "memory": "",
                            "gpus": 0, "health": {}}
    args = argv[1:]
    i = 0
    while i < len(args):
        flag = args[i]
        if not flag.startswith("-"):
            seen["image"], seen["command"] = flag, tuple(args[i + 1:])
            break
        if flag in ("--rm", "-d", "-i", "-t", "--read-only"):
            seen["remove"] |= flag == "--rm"
            seen["read_only"] |= flag == "--read-only"
            i += 1
            continue
        value = args[i + 1]
        i += 2
        if flag == "--label":
            key, _, val = value.partition("=")
            seen["labels"][key] = val
        elif flag == "--security-opt":
            seen["no_new_privileges"] = value == "no-new-privileges"
        elif flag == "--cap-drop":
            seen["drop_caps"].append(value)
        elif flag == "--mount":
            fields = next(iter(__import__("csv").reader([value])))
            kv = dict(f.partition("=")[::2] for f in fields)
            seen["mounts"].append(("bind", kv["target"], "readonly" in fields))
        elif flag == "-p":
            host, hport, cport = value.rsplit(":", 2)
            seen["ports"].append((host, int(hport), int(cport)))
        elif flag == "-e":
            name, sep, text = value.partition("=")
            secrets = tuple(s.name for v in w.env if v.name == name for s in v.secrets)
            if not sep:  # a secret: its value is made in the client's environment
                text = docker_run.child_env(w, dict.fromkeys(w.secrets, ""))[name]
            seen["env"].append((name, text, () if sep else secrets))
        elif flag == "--user":
            uid, gid = value.split(":")
            seen["user"] = User(int(uid), int(gid))
        elif flag.startswith("--health-"):
            seen["health"][flag.removeprefix("--health-")] = value
        else:
            key = {"--name": "name", "-w": "workdir", "--restart": "restart",
                   "--stop-timeout": "stop_timeout", "--cpus": "cpus", "--memory": "memory",
                   "--gpus": "gpus", "--tmpfs": "tmpfs"}[flag]
            seen[key] = value
    return _normalise_docker(seen, w)


def _normalise_docker(seen: dict[str, Any], w: Workload) -> dict[str, Any]:
    labels = seen.pop("labels")
    seen["project"], seen["role"] = labels[LABEL_PROJECT], labels[LABEL_ROLE]
    seen["stop_timeout"] = int(seen["stop_timeout"])
    cpus, gpus = seen.pop("cpus"), seen.pop("gpus")
    seen["resources"] = Resources(float(cpus) if cpus else None, seen.pop("memory"),
                                  -1 if gpus == "all" else int(gpus))
    seen.pop("tmpfs", None)
    health = seen.pop("health")
    seen["probe"] = _probe_from_test(health, shell=True) if health else None
    for key in ("env", "mounts", "ports", "drop_caps"):
        seen[key] = tuple(seen[key])
    return seen


def _probe_from_test(h: dict[str, str], shell: bool) -> Probe:
    test = h["cmd"]
    timing = {"interval": h["interval"], "timeout": h["timeout"], "retries": int(h["retries"]),
              "start_period": h["start-period"]}
    words = shlex.split(test)
    if words[:2] == ["python3", "-c"] and "urlopen(" in words[2]:
        url = re.search(r"urlopen\('([^']*)'", words[2])
        assert url
        return Probe(http=url.group(1), **timing)
    if any(c in test for c in "|$&;"):
        return Probe(shell=test, **timing)
    return Probe(command=tuple(words), **timing)


# ---- Compose, read back ----

def unescape(text: str) -> str:
    return text.replace("$$", "$")


def _compose_port(text: str, replicas: int) -> tuple[str, int, int]:
    """`host:8080:8080`, or replicated `host:8080-8082:8080`: one host port per replica."""
    host, ports, target = text.rsplit(":", 2)
    first, _, last = ports.partition("-")
    assert int(last or first) - int(first) + 1 == replicas, text
    return host, int(first), int(target)


def read_compose(doc: dict[str, Any], name: str) -> dict[str, Any]:
    envs = []
    for key, value in doc.get("environment", {}).items():
        secrets = tuple(re.findall(r"\$\{([A-Z_]+):[?-]", value))
        text = re.sub(r"\$\{[A-Z_]+:[?-][^}]*\}", "", value)
        envs.append((key, unescape(text), secrets))
    command = tuple(unescape(a) for a in doc.get("command", []))
    retries = retry_delay = timeout = 0
    if command[:2] == ("sh", "-c") and command[3:4] == (name,):
        script = command[2]
        if limit := re.search(r"timeout -k 10 (\d+) ", script):
            timeout = int(limit.group(1))
        if found := re.search(r"-gt (\d+)", script):
            retries = int(found.group(1))
            delay = re.search(r"sleep (\d+|\$\(\(n\*2\)\));", script)
            assert delay
            retry_delay = int(delay.group(1)) if delay.group(1).isdigit() else 0
        command = command[4:]
    user = None
    if "user" in doc:
        found = re.fullmatch(r"(\$\{[^}]*\}|\d+):(\$\{[^}]*\}|\d+)", doc["user"])
        assert found
        uid, gid = found.groups()
        user = User(None if uid.startswith("$") else int(uid),
                    None if gid.startswith("$") else int(gid))
    limits = doc.get("deploy", {}).get("resources", {}).get("limits", {})
    devices = doc.get("deploy", {}).get("resources", {}).get("reservations", {}).get(
        "devices", [])
    gpus = 0 if not devices else (-1 if devices[0]["count"] == "all" else devices[0]["count"])
    return {
        "name": name, "project": doc["labels"][LABEL_PROJECT], "role": doc["labels"][LABEL_ROLE],
        "image": doc["image"], "command": command, "retries": retries,
        "retry_delay": retry_delay, "timeout": timeout,
        "workdir": doc.get("working_dir", ""), "env": tuple(envs),
        "mounts": tuple(("bind" if m["type"] == "bind" else "scratch" if m["type"] == "tmpfs"
                         else "data" if m["source"].startswith("data") else "volume",
                         m["target"], m.get("read_only", False)) for m in doc.get("volumes", [])),
        "ports": tuple(_compose_port(s, doc.get("deploy", {}).get("replicas", 1))
                       for s in doc.get("ports", [])),
        "resources": Resources(float(limits["cpus"]) if "cpus" in limits else None,
                               limits.get("memory", ""), gpus),
        "probe": _compose_probe(doc["healthcheck"]) if "healthcheck" in doc else None,
        "user": user, "read_only": doc.get("read_only", False),
        "drop_caps": tuple(doc.get("cap_drop", ())),
        "no_new_privileges": "no-new-privileges:true" in doc.get("security_opt", []),
        "restart": doc.get("restart", ""),
        "stop_timeout": int(doc.get("stop_grace_period", "0s").rstrip("s")),
        "depends_on": tuple(Dependency(k, "healthy" if v["condition"] == "service_healthy"
                                       else "completed")
                            for k, v in doc.get("depends_on", {}).items()),
        "profiles": tuple(doc.get("profiles", ())),
        "replicas": doc.get("deploy", {}).get("replicas", 1),
        "secret_files": tuple(doc.get("secrets", ())),
        "local_image": doc.get("pull_policy") == "never",
    }


def _compose_probe(h: dict[str, Any]) -> Probe:
    timing = {"interval": h["interval"], "timeout": h["timeout"], "retries": h["retries"],
              "start_period": h["start_period"]}
    test = h["test"]
    if test[0] == "CMD-SHELL":
        return Probe(shell=unescape(test[1]), **timing)
    if test[1:3] == ["python3", "-c"] and "urlopen(" in test[3]:
        url = re.search(r"urlopen\('([^']*)'", test[3])
        assert url
        return Probe(http=url.group(1), **timing)
    return Probe(command=tuple(unescape(a) for a in test[1:]), **timing)


# ---- the workloads ----

def stack_case(case: str) -> tuple[Workload, ...]:
    project = fixed_key(load_project(GOLDEN / case / "input"), f"{case}-00000000")
    return stack_workloads(stack_of(project), context_of(project))


FULL = Workload(
    name="everything", role="api", project="p-1", image="img:1",
    command=("python", "-c", "print('$HOME')"), workdir="/workspace",
    env=(env("PLAIN", "a $b"), secret_env("TOKEN"),
         EnvVar("URL", ("postgres://u:", SecretRef("PW"), "@db/x"))),
    mounts=(Mount("/home/me/p", "/workspace", read_only=True), Mount("/d", "/data")),
    ports=(Port(8080, 80), Port(9090, 90, "0.0.0.0")),
    resources=Resources(1.5, "2g", -1),
    probe=Probe(http="http://127.0.0.1:80/ready", interval="3s", retries=4),
    user=User(1000, 1000), read_only=True, drop_caps=("ALL",), restart="unless-stopped",
    stop_timeout=35,
)
FULL_COMPOSE = dataclasses.replace(
    FULL, user=User(), mounts=(*FULL.mounts, Mount("db-data", "/db", kind="volume"),
                               Mount("data", "/workspace/data", kind="data"),
                               Mount("", "/var/cache", kind="scratch")),
    depends_on=(Dependency("db"), Dependency("prep", "completed")), profiles=("gpu",),
    replicas=2, secret_files=(SecretFile("pw", SecretRef("PW")),), retries=2, local_image=True)


def docker_workloads() -> list[Workload]:
    from dockyard.plan import project as plan

    root, key = "/home/me/proj", "proj-1234"
    user = User(1000, 1000)
    return [FULL,
            plan.run_workload(root, key, user, "img", ("python", "train.py")),
            plan.lab_workload(root, key, user, "img", port=8888, host="127.0.0.1"),
            plan.serve_workload(key, "img-serve", port=8080, host="127.0.0.1",
                                env=(("DOCKYARD_WORKERS", "2"),), api_key=True)]


@pytest.mark.parametrize("w", docker_workloads(), ids=lambda w: w.role)
def test_docker_run_keeps_the_workload(w: Workload) -> None:
    argv = docker_run.run_argv(w, detach=True)
    assert read_docker_run(argv, w) == expected(w, (*COMPARED, "remove"))


@pytest.mark.parametrize("w", [FULL_COMPOSE, *stack_case("stack-full"),
                               *stack_case("stack-minimal")], ids=lambda w: w.name)
def test_compose_keeps_the_workload(w: Workload) -> None:
    seen = read_compose(compose.service(w), w.name)
    want = expected(w, (*COMPARED, *ONLY_IN_COMPOSE))
    want["secret_files"] = tuple(f.name for f in w.secret_files)
    assert seen == want


def test_compose_declares_the_volumes_and_secrets_services_use() -> None:
    doc = compose.document("p", "p-1", (FULL_COMPOSE,))
    assert set(doc["volumes"]) == {"db-data", "data"}
    assert doc["secrets"] == {"pw": {"environment": "PW"}}


@pytest.mark.parametrize("w", docker_workloads(), ids=lambda w: w.role)
def test_both_renderers_agree_on_what_both_can_say(w: Workload) -> None:
    from_docker = read_docker_run(docker_run.run_argv(w, detach=True), w)
    from_compose = read_compose(compose.service(w), w.name)
    for key in COMPARED:
        assert from_docker[key] == from_compose[key], key


def test_every_field_is_checked() -> None:
    fields = {f.name for f in dataclasses.fields(Workload)}
    for renderer, out_of_reach in NOT_IN.items():
        checked = set(CHECKED_BY[renderer]) | set(out_of_reach)
        assert fields <= checked, f"{renderer}: nobody checks {sorted(fields - checked)}"


@pytest.mark.parametrize("field", ["depends_on", "profiles", "secret_files", "replicas"])
def test_docker_run_refuses_what_it_cannot_say(field: str) -> None:
    value = {"depends_on": (Dependency("db"),), "profiles": ("gpu",),
             "secret_files": (SecretFile("pw", SecretRef("PW")),), "replicas": 2}[field]
    with pytest.raises(docker_run.NotRenderable, match=field):
        docker_run.run_argv(dataclasses.replace(FULL, **{field: value}), detach=True)


def test_a_dropped_field_is_noticed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself works: a compose renderer that forgets the ports fails it."""
    real = compose.service

    def forgetful(w: Workload) -> dict[str, Any]:
        doc = real(w)
        doc.pop("ports", None)
        return doc

    monkeypatch.setattr(compose, "service", forgetful)
    with pytest.raises(AssertionError):
        test_compose_keeps_the_workload(FULL_COMPOSE)


# ---- Kubernetes, read back ----
# The cluster's Workloads (dockyard.plan.cluster: names prefixed, no project-folder mount,
# listening ports, numeric users, read-only roots) rendered as objects, then each Workload
# read back from its Deployment, StatefulSet or the pipeline Job. Adapted on purpose, and
# compared as such: the API's probes are the model server's /health and /ready and its
# resources are [deploy]'s; GPUs are compared as "has some" (the count is [deploy]'s).

API_PROBES = "the model server's /health (liveness) and /ready (readiness, startup)"


def k8s_case(case: str, root: Path) -> tuple[tuple[Workload, ...], Any, list[dict[str, Any]]]:
    from dockyard.app import k8s
    from dockyard.render import kubernetes

    planned = k8s.plan(fixed_key(load_project(root), f"{case}-00000000"))
    workloads = planned.cluster.workloads
    return workloads, planned.target, kubernetes.objects(workloads, planned.target)


def _k8s_text(value: str) -> tuple[str, tuple[str, ...]]:
    """An env value or argument as the container sees it: `$$` is `$`, and
    `$(DOCKYARD_SECRET_X)` the secret X."""
    from dockyard.render.k8s_pod import SECRET_PREFIX

    text, secrets, i = [], [], 0
    while i < len(value):
        if value.startswith("$$", i):
            text.append("$")
            i += 2
        elif value.startswith(f"$({SECRET_PREFIX}", i):
            end = value.index(")", i)
            secrets.append(value[i + 2 + len(SECRET_PREFIX):end])
            i = end + 1
        else:
            text.append(value[i])
            i += 1
    return "".join(text), tuple(secrets)


def _k8s_probe(c: dict[str, Any]) -> Probe | str | None:
    ready, startup = c.get("readinessProbe"), c.get("startupProbe")
    if ready is None:
        return None
    if "httpGet" in ready and ready["httpGet"]["port"] == "http":
        assert c["livenessProbe"]["httpGet"]["path"] == "/health"
        assert ready["httpGet"]["path"] == startup["httpGet"]["path"] == "/ready"
        return API_PROBES
    assert c["livenessProbe"] == ready
    period, retries = ready["periodSeconds"], ready["failureThreshold"]
    timing = {"interval": f"{period}s", "timeout": f"{ready['timeoutSeconds']}s",
              "retries": retries,
              "start_period": f"{(startup['failureThreshold'] - retries) * period}s"}
    if "httpGet" in ready:
        return Probe(http=f"http://127.0.0.1:{ready['httpGet']['port']}"
                          f"{ready['httpGet']['path']}", **timing)
    command = ready["exec"]["command"]
    if command[:2] == ["sh", "-c"] and len(command) == 3:
        return Probe(shell=command[2], **timing)
    return Probe(command=tuple(command), **timing)


def read_k8s(objs: list[dict[str, Any]], w: Workload) -> dict[str, Any]:
    """W as the objects say it runs."""
    import json

    from dockyard.plan.services import memory_mb
    from dockyard.render.k8s_pod import SECRET_PREFIX, WAIT_CONTAINER
    from dockyard.render.kubernetes import STEPS_ANNOTATION

    config = next((o["data"] for o in objs if o["kind"] == "ConfigMap"), {})
    if w.role == "step":
        owner = next(o for o in objs if o["kind"] == "Job")
        steps = {s["name"]: s for s in json.loads(
            owner["metadata"]["annotations"][STEPS_ANNOTATION])}
        step = steps[w.name]
    else:
        owner = next(o for o in objs if o["kind"] in ("Deployment", "StatefulSet")
                     and o["metadata"]["name"] == w.name)
        step = {"after": [], "retries": 0, "timeout": 0, "retry_delay": 0}
    template = owner["spec"]["template"]
    pod = template["spec"]
    every = [*pod.get("initContainers", []), *pod["containers"]]
    c = next(x for x in every if x["name"] == w.name)
    waits = next((x["command"][3:] for x in every if x["name"] == WAIT_CONTAINER), [])
    envs = []
    for e in c.get("env", []):
        if e["name"].startswith(SECRET_PREFIX):
            continue
        source = e.get("valueFrom", {})
        if "secretKeyRef" in source:
            envs.append((e["name"], "", (source["secretKeyRef"]["key"],)))
        elif "configMapKeyRef" in source:
            envs.append((e["name"], config[source["configMapKeyRef"]["key"]], ()))
        else:
            envs.append((e["name"], *_k8s_text(e["value"])))
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = []
    for m in c.get("volumeMounts", []):
        if m["name"] == "secrets":
            continue
        v = volumes.get(m["name"], {})
        kind = ("volume" if m["name"] == "data" else "scratch" if "emptyDir" in v else "data")
        mounts.append((kind, m["mountPath"], m.get("readOnly", False)))
    secret_items = volumes.get("secrets", {}).get("secret", {}).get("items", [])
    mounted_secrets = any(m["name"] == "secrets" for m in c.get("volumeMounts", []))
    limits, sc = c["resources"]["limits"], c["securityContext"]
    return {
        "name": c["name"], "role": template["metadata"]["labels"][LABEL_ROLE],
        "project": template["metadata"]["labels"][LABEL_PROJECT], "image": c["image"],
        "command": tuple(_k8s_text(a)[0] for a in c.get("args", [])),
        "workdir": c.get("workingDir", ""), "env": tuple(envs), "mounts": tuple(mounts),
        "ports": tuple(("", p["containerPort"], p["containerPort"]) for p in c.get("ports", [])),
        "resources": Resources(float(limits["cpu"]), memory_mb(limits["memory"]),
                               any("gpu" in k for k in limits)),
        "probe": _k8s_probe(c),
        "user": User(sc["runAsUser"], sc["runAsGroup"]), "read_only": sc["readOnlyRootFilesystem"],
        "drop_caps": tuple(sc["capabilities"]["drop"]),
        "no_new_privileges": not sc["allowPrivilegeEscalation"],
        "restart": "no" if owner["kind"] == "Job" else "unless-stopped",
        "stop_timeout": pod.get("terminationGracePeriodSeconds", 0),
        "depends_on": (*(Dependency(t.rsplit(":", 1)[0]) for t in waits),
                       *(Dependency(a, "completed") for a in step["after"])),
        "profiles": (), "retries": step["retries"], "timeout": step["timeout"],
        "retry_delay": step["retry_delay"] if step["retries"] else 0,  # between attempts
        "secret_files": tuple(SecretFile(i["path"], SecretRef(i["key"]))
                              for i in secret_items if mounted_secrets),
    }


def expected_k8s(w: Workload, target: Any) -> dict[str, Any]:
    from dockyard.plan.services import memory_mb
    from dockyard.render.k8s_pod import seconds

    want = expected(w, (*COMPARED, *ONLY_IN_K8S))
    want["image"] = target.image(w)
    want["secret_files"] = tuple(dataclasses.replace(f, source=SecretRef(f.source.name))
                                 for f in w.secret_files)
    want["env"] = tuple((name, text, secrets) for name, text, secrets in want["env"])
    if w.role == "api":
        limits = target.deploy.limits
        want["resources"] = Resources(float(limits.cpu), memory_mb(limits.memory),
                                      bool(w.resources.gpus or target.deploy.gpu.count))
        want["probe"] = API_PROBES
    else:
        want["resources"] = Resources(w.resources.cpus or 1.0,
                                      memory_mb(w.resources.memory or "1g"),
                                      bool(w.resources.gpus))
        if w.probe:
            p = w.probe
            want["probe"] = dataclasses.replace(
                p, interval=f"{seconds(p.interval)}s", timeout=f"{seconds(p.timeout)}s",
                start_period=f"{seconds(p.start_period)}s")
    return want


K8S_CASES = [("stack-full", GOLDEN / "stack-full" / "input"),
             ("k8s-churn", GOLDEN / "k8s-churn" / "input"),
             ("k8s-gpu", GOLDEN / "k8s-gpu" / "input")]


def k8s_synthetic() -> tuple[tuple[Workload, ...], Any, list[dict[str, Any]]]:
    """What no golden stack has: step timeouts and retry delays, a stop timeout, `$(…)` in a
    command, a read-only data mount, a secret file on a project container."""
    from dockyard.render import kubernetes
    from dockyard.render.k8s_pod import Target
    from dockyard.spec.deploy import DeploySection, resolve_deploy

    deploy = resolve_deploy(DeploySection(), "p", gpu=False, serve_workers=0, file="x")
    base = Workload(name="s", role="step", project="p-1", image="img:1", user=User(1000, 1000),
                    restart="no",
                    read_only=True, drop_caps=("ALL",),
                    mounts=(Mount("p-data", "/workspace/data", kind="data", read_only=True),
                            Mount("", "/tmp", kind="scratch")))
    first = dataclasses.replace(base, name="first", command=("sh", "-c", "echo $(date) $$"),
                                timeout=600, retry_delay=30, retries=2,
                                env=(env("A", "x$(y)"), secret_env("TOKEN", required=False)))
    second = dataclasses.replace(base, name="second", timeout=60,
                                 depends_on=(Dependency("first", "completed"),),
                                 secret_files=(SecretFile("tok", SecretRef("TOKEN")),))
    board = dataclasses.replace(base, name="p-board", role="dashboard", stop_timeout=35,
                                ports=(Port(8501, 8501, ""),), restart="unless-stopped",
                                probe=Probe(shell="test -e /tmp/ok", interval="1m",
                                            start_period="2m"))
    workloads = (board, first, second)
    target = Target(deploy)
    return workloads, target, kubernetes.objects(workloads, target)


def k8s_workloads() -> list[Any]:
    found = []
    for case, root in K8S_CASES:
        workloads, target, objs = k8s_case(case, root)
        found += [pytest.param(w, target, objs, id=f"{case}:{w.name}") for w in workloads]
    workloads, target, objs = k8s_synthetic()
    found += [pytest.param(w, target, objs, id=f"synthetic:{w.name}") for w in workloads]
    return found


@pytest.mark.parametrize(("w", "target", "objs"), k8s_workloads())
def test_kubernetes_keeps_the_workload(w: Workload, target: Any,
                                       objs: list[dict[str, Any]]) -> None:
    assert read_k8s(objs, w) == expected_k8s(w, target)


def test_kubernetes_and_compose_agree_on_the_stack() -> None:
    """The same services and steps, the same commands and settings by name, whatever each
    target adds (the cluster prefixes names and leaves out the lab and Spark)."""
    workloads, _, objs = k8s_case("k8s-churn", GOLDEN / "k8s-churn" / "input")
    local = stack_case("k8s-churn")
    by_name = {f"churn-{w.name}" if w.role != "step" else w.name: w for w in local}
    assert set(by_name) == {w.name for w in workloads}
    for w in workloads:
        seen = read_k8s(objs, w)
        if w.role in ("api", "dashboard", "step"):  # services name their hosts in commands
            assert seen["command"] == by_name[w.name].command
        added = ["PGDATA"] if w.role == "postgres" else []  # below the volume's lost+found
        assert [e[0] for e in seen["env"]] == [v.name for v in by_name[w.name].env] + added


def test_kubernetes_pipeline_deadline_covers_every_attempt() -> None:
    _, _, objs = k8s_synthetic()
    job = next(o for o in objs if o["kind"] == "Job")
    assert job["spec"]["backoffLimit"] == 2
    assert job["spec"]["activeDeadlineSeconds"] == (600 + 60) * 3


def test_a_dropped_kubernetes_field_is_noticed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader notices a renderer that forgets the environment."""
    from dockyard.render import k8s_pod

    workloads, target, _ = k8s_case("k8s-churn", GOLDEN / "k8s-churn" / "input")
    monkeypatch.setattr(k8s_pod, "env", lambda w, t: [])
    from dockyard.render import kubernetes

    objs = kubernetes.objects(workloads, target)
    api = next(w for w in workloads if w.role == "api")
    assert read_k8s(objs, api) != expected_k8s(api, target)


# ---- Airflow DAG tasks, read back (without Airflow: tests/unit/render/airflow_reader.py) ----

PREP = Workload(name="prep", role="step", project="p-1", image="img@sha256:" + "0" * 64,
                command=("python", "prep.py"), workdir="/workspace", user=User(),
                drop_caps=("ALL",), restart="no")
FULL_STEP = dataclasses.replace(
    PREP, name="train", command=("python", "-c", "print('{{ x }}')", "run.sh"),
    env=(env("PLAIN", "a $(b) {{c}}"), secret_env("TOKEN"),
         EnvVar("URL", ("postgres://u:", SecretRef("PW"), "@db/x")),
         secret_env("OPT", required=False)),
    mounts=(Mount(".", "/workspace"), Mount("data", "/workspace/data", kind="data"),
            Mount("raw/in", "/workspace/raw/in", kind="data", read_only=True)),
    resources=Resources(2.5, "2g", -1), retries=2, retry_delay=30, timeout=600,
    depends_on=(Dependency("db"), Dependency("prep", "completed")), profiles=("gpu",),
    local_image=True)
TARGETS = {op: airflow.AirflowTarget(op, "proj", "/home/me/proj", 1000, 1000,
                                     network="proj_backend") for op in airflow.OPERATORS}


def dag_of(steps: tuple[Workload, ...], operator: airflow.Operator) -> Dag:
    text = airflow.dag_file(Pipeline("proj", "", steps), TARGETS[operator], "# generated\n")
    return read_dag(text)


def _env_docker(name: str, value: Any) -> tuple[str, str, tuple[str, ...]]:
    value = plain(value)
    secrets = tuple(re.findall(r"\{\{ var\.value\.(?:get\(')?([A-Z_]+)", value))
    text = re.sub(r"\{\{ var\.value\.[^}]*\}\}", "", value)
    text = re.sub(r"\{% raw %\}(.*?)\{% endraw %\}", r"\1", text)
    return (name, text, secrets)


def read_airflow_docker(dag: Dag, name: str) -> dict[str, Any]:
    task, c = dag.tasks[name], dag.constants
    mounts = []
    for m in task.get("mounts", []):
        kind = "volume" if m["type"] == "volume" else (
            "bind" if m["source"] == c["PROJECT_DIR"] else "data")
        mounts.append((kind, m["target"], m.get("read_only", False)))
    gpus = task["device_requests"][0]["count"] if "device_requests" in task else 0
    user = User() if task.get("user") == c["USER"] else User(
        *(int(x) for x in task["user"].split(":")))
    return {
        "name": task["task_id"], "project": task["labels"][LABEL_PROJECT],
        "role": task["labels"][LABEL_ROLE], "image": task["image"],
        "command": tuple(plain(a) for a in task["command"]),
        "workdir": task.get("working_dir", ""),
        "env": tuple(_env_docker(k, v) for k, v in task["environment"].items()),
        "mounts": tuple(mounts),
        "resources": Resources(task.get("cpus"), task.get("mem_limit", ""), gpus),
        "user": user, **_read_common(dag, task)}


def _read_common(dag: Dag, task: dict[str, Any]) -> dict[str, Any]:
    delay, limit = task.get("retry_delay"), task.get("execution_timeout")
    return {"retries": task["retries"], "retry_delay": delay["seconds"] if delay else 0,
            "timeout": limit["seconds"] if limit else 0,
            "depends_on": tuple(Dependency(u, "completed")
                                for u in sorted(dag.upstream[task["task_id"]]))}


def read_airflow_kubernetes(dag: Dag, name: str) -> dict[str, Any]:
    task, c = dag.tasks[name], dag.constants
    envs = []
    for var in task["env_vars"]:
        if var["_call"] == "secret_env":
            envs.append((var["_args"][0], "", (var["_args"][0],)))
            continue
        value = plain(var["value"])
        secrets = tuple(re.findall(r"(?<!\$)\$\(([A-Z_]+)\)", value))
        text = re.sub(r"(?<!\$)\$\([A-Z_]+\)", "", value).replace("$$(", "$(")
        envs.append((var["name"], text, secrets))
    limits = task["container_resources"]["limits"] if "container_resources" in task else {}
    pod, ctr = c["POD_SECURITY"], task["container_security_context"]
    assert ctr["_call"] == "security"
    assert pod["run_as_non_root"] and pod["seccomp_profile"]["type"] == "RuntimeDefault"
    assert (airflow.GPU_RESOURCE in limits) == ("tolerations" in task)
    # The project folder the Workload binds is, in a pod, the image's, copied into a writable
    # emptyDir by the init container before the step runs.
    workspace = [m for m in task["volume_mounts"] if m["name"] == airflow.WORKSPACE_VOLUME]
    assert [m["mount_path"] for m in workspace] == [airflow.IMAGE_WORKDIR]
    copier = c["COPY_WORKSPACE"]
    assert copier["command"][-2:] == [f"{airflow.IMAGE_WORKDIR}/.", COPY_TARGET]
    assert copier["volume_mounts"][0]["name"] == airflow.WORKSPACE_VOLUME
    return {
        "name": task["task_id"], "project": task["labels"][LABEL_PROJECT],
        "role": task["labels"][LABEL_ROLE], "image": task["image"],
        "command": tuple(plain(a) for a in [*task["cmds"], *task["arguments"]]),
        "workdir": airflow.IMAGE_WORKDIR,  # the image's WORKDIR: a pod cannot set one
        "env": tuple(sorted(envs)),
        "mounts": tuple(sorted(("data", m["mount_path"], m.get("read_only", False))
                               for m in task.get("volume_mounts", [])
                               if m["name"] not in ("tmp", airflow.WORKSPACE_VOLUME))),
        "resources": Resources(float(limits["cpu"]) if "cpu" in limits else None,
                               limits.get("memory", ""),
                               int(limits.get(airflow.GPU_RESOURCE, 0))),
        "user": User() if pod["run_as_user"] == airflow.IMAGE_UID else None,
        "read_only": ctr["_args"][0], "drop_caps": ("ALL",),  # security(): always
        "no_new_privileges": True, "local_image": task["image_pull_policy"] == "Never",
        **_read_common(dag, task)}


def expected_airflow(w: Workload, operator: str) -> dict[str, Any]:
    fields = IN_AIRFLOW if operator == "docker" else IN_KUBERNETES
    want = expected(w, fields)
    want["depends_on"] = tuple(sorted((d for d in w.depends_on if d.condition == "completed"),
                                      key=lambda d: d.name))
    if operator == "kubernetes":
        # Kubernetes expands `$(NAME)` only from variables defined before: a secret inside a
        # value is defined as a variable of its own name first.
        defined = {v.name for v in w.env}
        extra = [(name, "", (name,)) for name in w.secrets if name not in defined]
        want["env"] = tuple(sorted([*want["env"], *extra]))
        want["mounts"] = tuple(sorted(m for m in want["mounts"] if m[0] != "bind"))
        r = w.resources
        want["resources"] = Resources(r.cpus, mebibytes(r.memory) if r.memory
                                      else "", max(r.gpus, 1) if r.gpus else 0)
    return want


def airflow_cases() -> list[tuple[tuple[Workload, ...], str]]:
    steps = tuple(w for w in stack_case("stack-full") if w.role == "step")
    return [(steps, "stack-full"), ((PREP, FULL_STEP), "full"),
            ((PREP, dataclasses.replace(FULL_STEP, name="ro", read_only=True)), "read-only")]


@pytest.mark.parametrize("operator", airflow.OPERATORS)
@pytest.mark.parametrize(("steps", "case"), airflow_cases(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_airflow_keeps_the_workload(steps: tuple[Workload, ...], case: str,
                                    operator: airflow.Operator) -> None:
    if operator == "docker" and any(w.read_only for w in steps):
        with pytest.raises(airflow.NotRenderable, match="read_only"):
            dag_of(steps, operator)
        return
    dag = dag_of(steps, operator)
    read = read_airflow_docker if operator == "docker" else read_airflow_kubernetes
    for w in steps:
        assert read(dag, w.name) == expected_airflow(w, operator), w.name


@pytest.mark.parametrize("operator", airflow.OPERATORS)
@pytest.mark.parametrize("field", ["ports", "probe", "replicas", "secret_files", "restart"])
def test_airflow_refuses_what_a_task_cannot_say(field: str, operator: airflow.Operator) -> None:
    value = {"ports": (Port(8080, 80),), "probe": Probe(shell="true"), "replicas": 2,
             "secret_files": (SecretFile("pw", SecretRef("PW")),),
             "restart": "unless-stopped"}[field]
    with pytest.raises(airflow.NotRenderable, match=field):
        dag_of((dataclasses.replace(PREP, **{field: value}),), operator)


def test_airflow_and_compose_agree_on_what_both_can_say() -> None:
    steps = (PREP, FULL_STEP)
    dag = dag_of(steps, "docker")
    for w in steps:
        from_dag = read_airflow_docker(dag, w.name)
        from_compose = read_compose(compose.service(w), w.name)
        for key in ("image", "command", "workdir", "env", "mounts", "resources", "retries",
                    "retry_delay", "timeout"):
            assert from_dag[key] == from_compose[key], key
