"""`dockyard deploy`: put the project on a real cluster and wait until it runs.

A plan of steps, built first (pure: `plan_deploy`) and then executed (`execute`), so
`--dry-run` prints exactly what would run and tests check it on a recording runner:

1. check the cluster answers (`kubectl version`), with a one-line error and a hint if not
   (before anything is written);
2. generate the layout (`k8s/`, as `dockyard k8s`) or the chart (`helm/<name>`);
3. the namespace, applied (idempotent: created or left as it is);
4. the Secret `<name>-secrets` from the project's `.env`: only the keys the objects refer
   to, handed to `kubectl apply --server-side -f -` on stdin — never in argv, never written
   into the layout, and server-side so no last-applied annotation keeps a copy;
5. `kubectl apply -k k8s/overlays/prod`, or with `--helm` a Helm upgrade --install of the
   chart (helm-python-sdk, in process, waiting for the objects);
6. `kubectl rollout status` for each Deployment and StatefulSet, up to `--timeout`.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from dockyard.app.context import Project
from dockyard.engine.kubectl import FIELD_MANAGER, Kubectl
from dockyard.errors import UserError
from dockyard.spec.deploy import DNS_LABEL

Doc = dict[str, Any]
StepKind = Literal["generate", "kubectl", "helm"]
Payload = Literal["", "namespace", "secret"]  # the manifest a step hands kubectl on stdin
PROD_OVERLAY = "k8s/overlays/prod"


@dataclass(frozen=True)
class Step:
    kind: StepKind
    what: str  # one line, shown by --dry-run and as progress
    args: tuple[str, ...] = ()  # kubectl's arguments (its binary and --context added)
    stdin: str = ""  # what kubectl reads on stdin, described (the text is made when run)
    payload: Payload = ""

    def shown(self, kubectl: Kubectl) -> str:
        if self.kind != "kubectl":
            return self.what
        line = " ".join(kubectl.argv(*self.args))
        return f"{line}  < {self.stdin}" if self.stdin else line


@dataclass(frozen=True)
class DeployPlan:
    name: str  # the deploy name: the release, the objects' prefix
    namespace: str
    context: str
    helm: bool
    timeout: int
    path: str  # what is applied: k8s/overlays/prod, or helm/<name>
    secret: str  # the Secret's name
    secret_keys: tuple[str, ...]  # required keys, then optional ones
    optional_keys: tuple[str, ...]
    rollouts: tuple[str, ...]  # deployment/NAME, statefulset/NAME
    steps: tuple[Step, ...] = field(default=())

    def as_dict(self, kubectl: Kubectl) -> Doc:
        return {"name": self.name, "namespace": self.namespace, "context": self.context,
                "helm": self.helm, "path": self.path, "timeout": self.timeout,
                "secret": {"name": self.secret, "keys": list(self.secret_keys)},
                "steps": [{"kind": s.kind, "what": s.what,
                           "argv": list(kubectl.argv(*s.args)) if s.kind == "kubectl" else [],
                           "stdin": s.stdin} for s in self.steps]}


def secret_keys(objects: list[Doc] | tuple[Doc, ...], secret: str
                ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys of SECRET the objects read: (required, optional), each in first-use order."""
    required: dict[str, None] = {}
    optional: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef")
            if isinstance(ref, dict) and ref.get("name") == secret and "key" in ref:
                (optional if ref.get("optional") else required)[str(ref["key"])] = None
            vol = node.get("secret")
            if isinstance(vol, dict) and vol.get("secretName") == secret:
                for item in vol.get("items", []):
                    (optional if vol.get("optional") else required)[str(item["key"])] = None
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(list(objects))
    return tuple(required), tuple(k for k in optional if k not in required)


def rollouts(objects: list[Doc] | tuple[Doc, ...]) -> tuple[str, ...]:
    return tuple(f"{o['kind'].lower()}/{o['metadata']['name']}" for o in objects
                 if o.get("kind") in ("Deployment", "StatefulSet"))


def plan_deploy(objects: list[Doc] | tuple[Doc, ...], *, name: str, namespace: str,
                context: str = "", helm: bool = False, timeout: int = 300,
                root: Path = Path(".")) -> DeployPlan:
    """The steps `deploy` runs, in order (pure: nothing is run or written)."""
    secret = f"{name}-secrets"
    required, optional = secret_keys(objects, secret)
    path = f"helm/{name}" if helm else PROD_OVERLAY
    apply_stdin = ("apply", "--server-side", f"--field-manager={FIELD_MANAGER}",
                   "--force-conflicts", "-f", "-")
    steps = [  # the cluster first: without one, nothing is written
        Step("kubectl", "check that the cluster answers",
             ("version", "-o", "json", "--request-timeout=10s")),
        Step("generate", f"write {path} ({'dockyard helm' if helm else 'dockyard k8s'})"),
        Step("kubectl", f"namespace {namespace}", apply_stdin, f"Namespace {namespace}",
             "namespace"),
    ]
    if required or optional:
        keys = len(required) + len(optional)
        steps.append(Step("kubectl", f"Secret {secret} from .env", ("-n", namespace,
                                                                      *apply_stdin),
                          f"Secret {secret} ({keys} key{'s' if keys > 1 else ''} from .env)",
                          "secret"))
    if helm:
        steps.append(Step("helm", f"helm upgrade --install {name} {path} --namespace "
                                  f"{namespace} --wait --timeout {timeout}s"))
    else:
        steps.append(Step("kubectl", f"apply {path}", ("apply", "-k",
                                                        str(root / PROD_OVERLAY))))
    for target in rollouts(objects):
        steps.append(Step("kubectl", f"wait for {target}",
                          ("-n", namespace, "rollout", "status", target,
                           f"--timeout={timeout}s")))
    return DeployPlan(name, namespace, context, helm, timeout, path, secret,
                      required + optional, optional, rollouts(objects), tuple(steps))


def namespace_manifest(namespace: str, name: str) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": namespace, "labels": {"app.kubernetes.io/part-of": name,
                                      "app.kubernetes.io/managed-by": "dockyard"}}},
        sort_keys=False)


def secret_manifest(plan: DeployPlan, env: dict[str, str]) -> str:
    """The Secret, from .env's values: every required key must be there."""
    missing = [k for k in plan.secret_keys if k not in plan.optional_keys and not env.get(k)]
    if missing:
        raise UserError(f".env has no value for {', '.join(missing)}, which the pods read "
                        f"from the Secret {plan.secret}",
                        hint="run `dockyard compose` (it writes .env with generated "
                             "passwords), or add them to .env")
    data = {k: base64.b64encode(env[k].encode()).decode() for k in plan.secret_keys
            if k in env}
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                           "metadata": {"name": plan.secret, "namespace": plan.namespace,
                                        "labels": {"app.kubernetes.io/part-of": plan.name,
                                                   "app.kubernetes.io/managed-by":
                                                       "dockyard"}},
                           "data": data}, sort_keys=False)


@dataclass(frozen=True)
class Actions:
    """What `execute` does besides kubectl: write the files, install the chart."""

    generate: Callable[[], list[str]]  # writes the layout or the chart; the changed paths
    helm_install: Callable[[DeployPlan], str]  # upgrade --install; what to say about it
    env: Callable[[], dict[str, str]]  # the project's .env values


def execute(plan: DeployPlan, kubectl: Kubectl, actions: Actions,
            on_step: Callable[[str], None] | None = None) -> list[str]:
    """Run the plan's steps in order; stop at the first failure (raised). Returns notes."""
    notes: list[str] = []
    for step in plan.steps:
        if on_step is not None:
            on_step(step.what)
        if step.kind == "generate":
            changed = actions.generate()
            notes.append(f"wrote {', '.join(changed)}" if changed else f"{plan.path} unchanged")
        elif step.kind == "helm":
            notes.append(actions.helm_install(plan))
        elif step.args[:1] == ("version",):
            kubectl.check_reachable()
        elif step.payload == "namespace":
            kubectl.run(*step.args, input_text=namespace_manifest(plan.namespace, plan.name))
        elif step.payload == "secret":
            kubectl.run(*step.args, input_text=secret_manifest(plan, actions.env()))
        else:
            kubectl.run(*step.args, timeout=plan.timeout + 60)
    return notes


# --- the project's deploy -----------------------------------------------------------------------


def with_namespace(project: Project, namespace: str) -> Project:
    """The project as if `[deploy] namespace` were NAMESPACE (`deploy --namespace`): the
    layout's overlay names it, so `kubectl apply -k` and the objects agree."""
    if not namespace:
        return project
    if not DNS_LABEL.match(namespace):
        raise UserError(f"--namespace {namespace!r} is not a DNS-1123 label",
                        hint="lowercase letters, digits and '-', e.g. --namespace churn-prod")
    loaded = project.loaded
    section = loaded.spec.deploy.model_copy(update={"namespace": namespace})
    spec = loaded.spec.model_copy(update={"deploy": section})
    return dataclasses.replace(project, loaded=dataclasses.replace(loaded, spec=spec))


def plan_project(project: Project, *, context: str = "", namespace: str = "",
                 helm: bool = False, timeout: int = 300) -> tuple[Project, DeployPlan]:
    """The project's deploy plan (the objects rendered in memory, nothing written)."""
    from dockyard.app.helm import prod_objects

    project = with_namespace(project, namespace)
    deploy = project.deploy
    objects, _ = prod_objects(project)
    return project, plan_deploy(objects, name=deploy.name, namespace=deploy.namespace,
                                context=context, helm=helm, timeout=timeout, root=project.root)


def project_actions(project: Project, plan: DeployPlan) -> Actions:
    """Writing the layout or the chart, installing it, reading .env: the real ones."""
    from dockyard.app import envfile
    from dockyard.app.helm import write_chart
    from dockyard.app.k8s import write_layout
    from dockyard.engine import helm as engine_helm

    def generate() -> list[str]:
        if plan.helm:
            return list(write_chart(project, out=plan.path).changed)
        return list(write_layout(project).changed)

    def helm_install(p: DeployPlan) -> str:
        release = engine_helm.upgrade_install(project.root / p.path, p.name,
                                              namespace=p.namespace, context=p.context,
                                              timeout=p.timeout)
        return f"release {release.name} revision {release.revision}: {release.status}"

    return Actions(generate, helm_install, lambda: envfile.read_env(project.root))
