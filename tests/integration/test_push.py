"""`dockyard push` against a real registry with authentication.

A private registry (Debian's `docker-registry`, the CNCF distribution registry) runs on a free
loopback port with htpasswd (bcrypt) auth and its storage in a tmp dir. The docker client gets a
throwaway DOCKER_CONFIG, so `docker login` here never reads or writes the machine's credentials.
The engine allows plain HTTP to 127.0.0.0/8 registries, so no TLS is needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.app.context import load_project
from dockyard.app.published import image_reference
from tests.conftest import run_dockyard
from tests.integration.conftest import (
    DOCKER,
    REGISTRY_BINARY,
    BuiltProject,
    need_tools,
    running_registry,
)

USER, PASSWORD = "dockyard", "push-test-pw-7c1e"


@dataclass(frozen=True)
class Registry:
    host: str  # 127.0.0.1:PORT
    env: dict[str, str]  # DOCKER_CONFIG pointing at a throwaway client config dir

    def docker(self, *args: str, input_text: str | None = None,
               check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DOCKER, *args], capture_output=True, text=True, check=check,
                              input=input_text, env={**os.environ, **self.env}, timeout=600)


@pytest.fixture(scope="module")
def registry(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    need_tools(REGISTRY_BINARY, "htpasswd")
    root = tmp_path_factory.mktemp("registry")
    htpasswd = root / "htpasswd"
    htpasswd.write_text(subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], check=True,
                                       capture_output=True, text=True).stdout)
    (root / "client").mkdir()
    with running_registry(root, htpasswd) as host:
        try:
            yield Registry(host, {"DOCKER_CONFIG": str(root / "client")})
        finally:
            _remove_refs(f"{host}/")


def _remove_refs(prefix: str) -> None:
    """Untag every local reference into the test registry (the image itself stays)."""
    listing = subprocess.run([DOCKER, "images", "--digests", "--format",
                              "{{.Repository}} {{.Tag}} {{.Digest}}"],
                             capture_output=True, text=True, check=False).stdout
    for line in listing.splitlines():
        repo, tag, digest = [*line.split(), "", "", ""][:3]
        if not repo.startswith(prefix):
            continue
        if tag != "<none>":
            subprocess.run([DOCKER, "rmi", f"{repo}:{tag}"], capture_output=True, check=False)
        if digest.startswith("sha256:"):
            subprocess.run([DOCKER, "rmi", f"{repo}@{digest}"], capture_output=True,
                           check=False)


def _image_id(registry: Registry, ref: str) -> str:
    return registry.docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def test_push_needs_login_then_pulls_back_by_digest(example: BuiltProject,
                                                   registry: Registry) -> None:
    host = registry.host
    target = f"{host}/team/churn:v1"

    # 1. No credentials in the throwaway client config: refused, clearly, without a traceback.
    denied = run_dockyard("-C", str(example.root), "push", target, env=registry.env)
    assert denied.code == 1, denied.stderr
    assert "Traceback" not in denied.stderr
    assert denied.stderr.strip().splitlines()[-2:] == [
        f"error: registry {host} refused the push: authentication required",
        f"hint: log in first: docker login {host}",
    ]
    # docker's own reason is shown above, in the tail of its output
    assert re.search(r"^  \| .*(no basic auth credentials|unauthorized|authentication required)",
                     denied.stderr, re.M), denied.stderr

    # 2. Log in (password on stdin, stored only in the throwaway DOCKER_CONFIG) and push.
    login = registry.docker("login", "--username", USER, "--password-stdin", host,
                            input_text=PASSWORD + "\n")
    assert "Login Succeeded" in login.stdout
    pushed = run_dockyard("-C", str(example.root), "push", target, env=registry.env)
    assert pushed.code == 0, pushed.stderr
    found = re.search(r"^digest (sha256:[0-9a-f]{64})$", pushed.stdout, re.M)
    assert found, pushed.stdout
    digest = found.group(1)
    assert f"pushed {target}" in pushed.stdout

    # 3. --json says the same (pushing an unchanged image again gives the same digest).
    again = run_dockyard("-C", str(example.root), "push", target, "--json", env=registry.env)
    assert again.code == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc == {"ref": target, "digest": digest, "pull": f"{host}/team/churn@{digest}"}

    # 4. The pushed tag is this project's image (found by its label, as `push` finds it; the
    #    shared example tag can be re-pointed by a concurrent session on the same engine).
    pushed_id = _image_id(registry, target)
    labels = json.loads(registry.docker("image", "inspect", "--format",
                                        "{{json .Config.Labels}}", target).stdout)
    key = _project_key(example.root)
    assert labels["dev.dockyard.project"] == key
    newest_built = registry.docker("images", "--no-trunc", "--filter",
                                   f"label=dev.dockyard.project={key}", "--format",
                                   "{{.ID}}").stdout.split()[0]
    assert pushed_id == newest_built
    # Untag it (the repo then has no local reference) and pull it back by digest.
    registry.docker("rmi", target)
    pull = registry.docker("pull", f"{host}/team/churn@{digest}", check=False)
    assert pull.returncode == 0, pull.stderr
    assert f"Digest: {digest}" in pull.stdout
    assert _image_id(registry, f"{host}/team/churn@{digest}") == pushed_id

    # 5. The push is recorded: deploy targets (k8s, helm, airflow) name the image by digest,
    #    and say so when the local image has changed since.
    project = load_project(example.root)
    ref = image_reference(project, "project", local_id=pushed_id)
    assert (ref.ref, ref.pinned, ref.note) == (f"{host}/team/churn@{digest}", True, "")
    stale = image_reference(project, "project", local_id="sha256:" + "0" * 64)
    assert stale.pinned and f"dockyard push {target}" in stale.note


def _project_key(root: Path) -> str:
    """dockyard's project label: the folder name plus a short hash of its absolute path."""
    return f"{root.name}-{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]}"


def test_push_service_sends_mlflow_and_the_layout_pins_it(registry: Registry,
                                                          tmp_path: Path) -> None:
    """MLflow has no official image: a cluster pulls dockyard's build from the project's
    registry. `push --service mlflow` puts it there and records its digest; `k8s` names it."""
    from dockyard.spec.catalog import CATALOG
    from tests.integration.test_stack_support import service_images

    service_images()
    host = registry.host
    root = tmp_path / "tracked"
    root.mkdir()
    (root / "dockyard.toml").write_text(
        f'[services.mlflow]\n\n[deploy]\nregistry = "{host}/team"\n')
    registry.docker("login", "--username", USER, "--password-stdin", host,
                    input_text=PASSWORD + "\n")
    pushed = run_dockyard("-C", str(root), "push", "--service", "mlflow", "--json",
                          env=registry.env, timeout=1200)
    assert pushed.code == 0, pushed.stderr
    doc = json.loads(pushed.stdout)
    version = CATALOG["mlflow"].version
    assert doc["ref"] == f"{host}/team/dockyard-mlflow:{version}"
    made = run_dockyard("-C", str(root), "k8s", "--json", env=registry.env)
    assert made.code == 0, made.stderr
    deployment = (root / "k8s" / "base" / "mlflow-deployment.yaml").read_text()
    assert f"image: {host}/team/dockyard-mlflow@{doc['digest']}" in deployment
    assert "mlflow" not in made.stderr  # pinned: no note to push it
