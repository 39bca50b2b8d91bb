"""Helm, in process: lint, render, package, push, pull and upgrade --install through
helm-python-sdk, which binds Helm's own Go SDK (no `helm` binary, no child process).

The one module that imports `helm_python`; each call maps the SDK's errors to dockyard's
(`UserError` for what the user can fix — a chart or values Helm refuses, an unreachable
cluster; `EngineError` for a registry or a release that failed), with a one-line message.
The SDK is an extra (`pip install 'dockyard[helm]'`): without it, a UserError says so.

Plain HTTP: registries on loopback (`oci://127.0.0.1:5000/charts`, `localhost`) are spoken to
in plain HTTP, as Docker's engine does by default; any other needs `plain_http=True`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from dockyard.errors import DockyardError, EngineError, UserError

WARNING = 2  # lint severities: 1 info, 2 warning, 3 error


def _sdk() -> ModuleType:
    try:
        import helm_python
    except ImportError:  # pragma: no cover - the dev extras install it
        raise UserError("Helm support needs helm-python-sdk, which is not installed",
                        hint="pip install 'dockyard[helm]'") from None
    return helm_python


@contextmanager
def _mapped(what: str, user: tuple[str, ...] = ()) -> Iterator[None]:
    """SDK errors → dockyard's: those named in `user` are the user's to fix."""
    sdk = _sdk()
    try:
        yield
    except sdk.HelmError as exc:
        detail = (getattr(exc, "detail", "") or str(exc)).strip().splitlines()
        line = detail[-1].strip().removeprefix("- ") if detail else type(exc).__name__
        error: DockyardError
        if type(exc).__name__ in user:
            error = UserError(f"{what}: {line}", hint=_hint(type(exc).__name__))
        else:
            error = EngineError(f"{what}: {line}", stderr_tail="\n".join(detail[-15:]),
                                hint=_hint(type(exc).__name__))
        raise error from None


def _hint(kind: str) -> str:
    return {
        "HelmKubeError": "check the cluster: `kubectl --context C cluster-info` (see the "
                         "README's Helm and deploy section for kind and k3d)",
        "HelmRegistryError": "check the registry's address and that you are logged in "
                             "(docker login / helm registry login)",
        "HelmRenderError": "the chart is generated: run `dockyard helm --force` to rewrite "
                           "an edited template",
        "HelmChartLoadError": "run `dockyard helm` to write the chart",
    }.get(kind, "")


_CHART_ERRORS = ("HelmChartLoadError", "HelmChartInvalidError", "HelmRenderError",
                 "HelmValuesError", "HelmInvalidArgError")


@dataclass(frozen=True)
class LintReport:
    messages: tuple[tuple[int, str, str], ...]  # (severity, path, message)
    errors: tuple[str, ...]

    @property
    def problems(self) -> tuple[str, ...]:
        """Warnings and errors (info messages such as "icon is recommended" left out)."""
        return (*self.errors, *(f"{path}: {text}" for sev, path, text in self.messages
                                if sev >= WARNING))


def lint(chart_dir: Path, values: dict[str, Any] | None = None,
         kube_version: str | None = None) -> LintReport:
    with _mapped("helm lint failed", _CHART_ERRORS):
        report = _sdk().lint(os.fspath(chart_dir), values, strict=True,
                             kube_version=kube_version)
    return LintReport(tuple((int(m.get("severity", 0)), str(m.get("path", "")),
                             str(m.get("error", ""))) for m in report.get("messages", [])),
                      tuple(str(e) for e in report.get("errors") or []))


def render(chart_dir: Path, values: dict[str, Any] | None = None, *, release: str,
           namespace: str) -> dict[str, str]:
    """`helm template`: each template's output by path (offline: no cluster)."""
    with _mapped("helm could not render the chart", _CHART_ERRORS):
        chart = _sdk().Chart.load(os.fspath(chart_dir))
        try:
            rendered: dict[str, str] = chart.render(values, name=release, namespace=namespace,
                                                    is_install=True)
        finally:
            chart.close()
    return rendered


def package(chart_dir: Path, destination: Path) -> Path:
    with _mapped("helm package failed", _CHART_ERRORS):
        return Path(_sdk().package(os.fspath(chart_dir), destination=os.fspath(destination)))


def plain_http(remote: str) -> bool:
    """Loopback registries speak plain HTTP (Docker's own default for them)."""
    host = urlsplit(remote.replace("oci://", "http://", 1)).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def check_oci(remote: str) -> None:
    if not remote.startswith("oci://") or not urlsplit(remote).netloc:
        raise UserError(f"{remote!r} is not an OCI registry reference",
                        hint="use oci://REGISTRY/REPOSITORY, e.g. oci://ghcr.io/team/charts")


def registry_config() -> str:
    """Where Helm keeps registry logins (`helm registry login`; Docker's config.json format):
    $HELM_REGISTRY_CONFIG, else $XDG_CONFIG_HOME/helm/registry/config.json."""
    forced = os.environ.get("HELM_REGISTRY_CONFIG")
    if forced:
        return forced
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "helm", "registry", "config.json")


@dataclass(frozen=True)
class Pushed:
    ref: str  # oci://host/repo/name:version
    digest: str


def push(archive: Path, remote: str, *, insecure_http: bool = False) -> Pushed:
    """Push a packaged chart to `remote` (oci://HOST/REPO); the chart's name and version
    come from the archive."""
    check_oci(remote)
    sdk = _sdk()
    plain = insecure_http or plain_http(remote)
    with _mapped(f"helm push to {remote} failed"):
        # The SDK's default client reads no stored login: this one reads Helm's own.
        client = sdk.RegistryClient(plain_http=plain, credentials_file=registry_config())
        try:
            result = sdk.push(os.fspath(archive), remote.rstrip("/"), client=client,
                              plain_http=plain)
        finally:
            client.close()
        digest = str(result.get("digest", "") or sdk.digest(os.fspath(archive)))
    name_version = archive.name.removesuffix(".tgz")
    name, _, version = name_version.rpartition("-")
    return Pushed(f"{remote.rstrip('/')}/{name}:{version}", digest)


def pull(ref: str, version: str, destination: Path, *, insecure_http: bool = False) -> Path:
    """Pull `oci://HOST/REPO/NAME` at VERSION and unpack it under DESTINATION/NAME."""
    check_oci(ref)
    with _mapped(f"helm pull {ref} failed"):
        _sdk().pull(ref, version=version, destination=os.fspath(destination), untar=True,
                    untar_dir=os.fspath(destination),
                    plain_http=insecure_http or plain_http(ref))
    return destination / ref.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str
    revision: int
    status: str


def upgrade_install(chart_dir: Path, release: str, *, namespace: str, context: str,
                    timeout: int, values: dict[str, Any] | None = None) -> Release:
    """`helm upgrade --install --wait`: the SDK waits until every object is ready."""
    sdk = _sdk()
    with _mapped(f"helm upgrade --install {release} failed",
                 (*_CHART_ERRORS, "HelmKubeError")):
        config = sdk.Config(kube_context=context or None, namespace=namespace)
        try:
            config.check_reachable()
            chart = sdk.Chart.load(os.fspath(chart_dir))
            try:
                try:  # upgrade, or install when there is no release yet (--install)
                    out = config.upgrade(chart, release, values, namespace=namespace,
                                         timeout=timeout, wait="watcher")
                except sdk.HelmNotFoundError:
                    out = config.install(chart, release, values, namespace=namespace,
                                         timeout=timeout, wait="watcher",
                                         create_namespace=True)
            finally:
                chart.close()
        finally:
            config.close()
    info = out if isinstance(out, dict) else {}
    return Release(release, namespace, int(info.get("version", 0) or 0),
                   str(info.get("info", {}).get("status", "deployed")))


@contextmanager
def private_dir() -> Iterator[Path]:
    """A temporary folder only this user can read (packaged charts, pulled charts)."""
    with tempfile.TemporaryDirectory(prefix="dockyard-helm-") as tmp:
        os.chmod(tmp, 0o700)
        yield Path(tmp)
