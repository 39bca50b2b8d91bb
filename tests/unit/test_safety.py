"""Safety invariants of what dockyard generates and runs, checked on every golden project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dockyard.app.context import load_project
from dockyard.errors import SpecError
from dockyard.generate import render_dockerfile, view_for
from dockyard.plan import project as plan
from dockyard.render.docker_run import port_arg, run_argv
from dockyard.spec import parse_spec
from dockyard.workload import Port, User

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "project").is_dir())


@pytest.mark.parametrize("case", CASES)
def test_every_image_has_a_numeric_non_root_user(case: str) -> None:
    project = load_project(GOLDEN / case / "project")
    text = render_dockerfile(view_for(project.spec))
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users, "no USER line"
    uid, gid = users[-1].split(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) > 0


def _project_with(tmp_path: Path, toml: str) -> object:
    (tmp_path / "dockyard.toml").write_text(toml)
    return load_project(tmp_path)


def test_shell_metacharacters_in_values_are_quoted(tmp_path: Path) -> None:
    # Spaces, newlines and `;` are refused by the spec's checks (tests/cli/test_spec_strings.py);
    # what a URL may hold still reaches the RUN line quoted.
    project = _project_with(tmp_path, (
        'version = 1\n[dependencies]\nindex_url = "https://example.org/$(touch${IFS}pwned)"\n'))
    text = render_dockerfile(view_for(project.spec))  # type: ignore[attr-defined]
    assert "'https://example.org/$(touch${IFS}pwned)'" in text
    assert not re.search(r"[^'/]\$\(touch", text)


def test_system_packages_must_be_debian_names() -> None:
    with pytest.raises(SpecError) as err:
        parse_spec({"system": {"packages": ["libpq-dev", "foo$(touch /tmp/pwned)"]}},
                   "dockyard.toml")
    assert "system.packages.1" in err.value.message


def test_ports_bind_to_loopback_by_default() -> None:
    assert port_arg(Port(8888, 8888)) == "127.0.0.1:8888:8888"
    for w in (plan.serve_workload("p", "img", port=1, host="127.0.0.1", env=(), api_key=False),
              plan.lab_workload("/p", "p", User(1, 1), "img", port=1, host="127.0.0.1"),
              plan.run_workload("/p", "p", User(1, 1), "img", ("true",))):
        argv = run_argv(w, detach=True)
        assert all(argv[i + 1].startswith("127.0.0.1:") for i, a in enumerate(argv) if a == "-p")
        assert "no-new-privileges" in argv and argv[argv.index("--cap-drop") + 1] == "ALL"
