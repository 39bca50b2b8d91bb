"""Write a commented dockyard.toml from a resolved spec (what `dockyard init` produces)."""

from __future__ import annotations

import json

from dockyard.detect import Detection
from dockyard.spec.resolve import Spec


def _q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _notebook_installs(det: Detection) -> list[str]:
    if not det.notebook_installs:
        return []
    named = ", ".join(d.requirement() for d in det.notebook_installs)
    return [f"# Installed because a notebook runs `pip install` (unless false): {named}."]


def spec_text(spec: Spec, det: Detection) -> str:
    installed = ", ".join(i.distribution for i in det.undeclared_imports
                          if spec.installs(i.module)) or "none"
    unknown = ", ".join(i.module for i in det.undeclared_imports
                        if not spec.installs(i.module)) or "none"
    lines = [
        "# dockyard.toml: how dockyard builds and runs this project. Every key is optional;",
        "# what is left out is detected or defaulted (`dockyard inspect` shows which).",
        "version = 1",
        f"name = {_q(spec.name)}",
        f"python = {_q(spec.python)}  # {spec.provenance.get('python', 'default')}",
        "",
        "[dependencies]",
        f"# Imported but never declared: {installed} (installed); unknown to dockyard's",
        f"# import map, so not installed: {unknown}. \"known\" installs only the first kind;",
        "# true installs every one under its import name (a private module's name may belong to",
        "# someone else's package on PyPI); false installs none.",
        *_notebook_installs(det),
        'install_undeclared = "known"',
        "extra = []    # more requirements, e.g. [\"pyarrow>=15\"]",
        "exclude = []  # names never to install",
        "",
        "[system]",
        f"packages = {_list(spec.system_packages)}  # Debian packages (apt.txt is read too)",
        "",
        "[build]",
        "# base_image = \"python:" + spec.python + "-slim\"",
        f"uid = {spec.uid}",
        "",
        "[lab]",
        f"port = {spec.lab_port}",
        f"host = {_q(spec.lab_host)}  # loopback only; \"0.0.0.0\" exposes Jupyter to the network",
        "",
        "[data]",
        f"dirs = {_list(spec.data_dirs)}  # mounted at run time, never copied into the image",
        "",
        "[gpu]",
        f"enabled = {'true' if spec.gpu else 'false'}",
    ]
    return "\n".join(lines) + "\n"
