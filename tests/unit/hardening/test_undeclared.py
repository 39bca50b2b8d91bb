"""Issue 8 item 6: an undeclared import that dockyard's import map does not know
(`import acme_internal_utils`) is reported, not installed from PyPI under that name."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.app.context import load_project
from dockyard.errors import SpecError
from dockyard.generate import requirements_text
from tests.conftest import run_dockyard

CODE = "import acme_internal_utils\nimport sklearn\nimport pandas\n"


def requirements(root: Path, toml: str = "") -> list[str]:
    if toml:
        (root / "dockyard.toml").write_text(toml)
    return [ln for ln in requirements_text(load_project(root).spec).splitlines()
            if ln and not ln.startswith("#")]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(CODE)
    return tmp_path


def test_unknown_undeclared_import_is_not_installed_by_default(project: Path) -> None:
    lines = requirements(project)
    assert "scikit-learn" in lines and "pandas" in lines  # the import map vouches for these
    assert not any("acme" in ln for ln in lines)


def test_install_undeclared_true_installs_all_and_false_none(project: Path) -> None:
    everything = requirements(project, "[dependencies]\ninstall_undeclared = true\n")
    assert "acme-internal-utils" in everything and "scikit-learn" in everything
    nothing = requirements(project, "[dependencies]\ninstall_undeclared = false\n")
    assert not {"acme-internal-utils", "scikit-learn", "pandas"} & set(nothing)
    known = requirements(project, '[dependencies]\ninstall_undeclared = "known"\n')
    assert "scikit-learn" in known and "acme-internal-utils" not in known


def test_install_undeclared_rejects_other_values(project: Path) -> None:
    (project / "dockyard.toml").write_text('[dependencies]\ninstall_undeclared = "yes"\n')
    with pytest.raises(SpecError) as err:
        load_project(project)
    assert err.value.message == ('dockyard.toml: dependencies.install_undeclared: expected '
                                 'true, false or "known", got "yes"')


def test_inspect_and_init_report_the_unknown_import(project: Path) -> None:
    ran = run_dockyard("-C", str(project), "inspect")
    assert ran.code == 0, ran.stderr
    assert 'install_undeclared = "known"' in ran.stdout
    row = next(ln for ln in ran.stdout.splitlines() if "acme_internal_utils" in ln)
    assert "not installed (unknown name)" in row
    assert run_dockyard("-C", str(project), "init").code == 0
    toml = (project / "dockyard.toml").read_text()
    assert 'install_undeclared = "known"' in toml
    assert "not installed: acme_internal_utils" in toml
    assert "acme-internal-utils" not in requirements(project)  # the template keeps the default
    generated = run_dockyard("-C", str(project), "generate")
    assert generated.code == 0, generated.stderr
    assert "warning: undeclared import 'acme_internal_utils' (train.py) is not installed" \
        in generated.stderr
    assert "acme" not in (project / ".dockyard" / "requirements.txt").read_text()
