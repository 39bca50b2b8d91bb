"""`dockyard build` as a use case on a FakeEngine: the base chosen, the request built, a
failure's log kept; and where a failing requirement was declared."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.app import building
from dockyard.app.context import load_project
from dockyard.app.declared import declaration_sites
from dockyard.engine.base import recipe_hash
from dockyard.engine.fake import FakeEngine
from dockyard.errors import BuildFailed, UserError
from dockyard.lock import Resolution, ResolutionFailed
from tests.unit.engine.test_engine_fake import BUILD_LOG, write_iid


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "requirements.txt").write_text("pandas\nscikit-learn==1.4.0\n")
    (tmp_path / "train.py").write_text("import pandas\nimport sklearn\n")
    monkeypatch.delenv("DOCKYARD_BASE_IMAGE", raising=False)
    monkeypatch.setattr(building, "resolve_for_build", lambda *a: Resolution(
        ".dockyard/resolved.txt", ("pandas==2.2.0",), (), False))
    return tmp_path


def test_a_build_on_the_official_base(root: Path, engine: FakeEngine) -> None:
    engine.answer("build", stdout=BUILD_LOG, then=write_iid).answer("image", "inspect",
                                                                    stdout="99\n")
    project = load_project(root)
    outcome = building.build_project(engine, project, tag="t:1")
    assert (outcome.base.source, outcome.result.image, outcome.result.size_bytes) == (
        "default", "t:1", 99)
    args = engine.ran("build")[0].args
    assert f"dev.dockyard.project={project.spec.project_key}" in args
    assert (root / ".dockyard").is_dir()


def test_a_failed_build_keeps_its_log(root: Path, engine: FakeEngine) -> None:
    engine.answer("build", returncode=1, stdout="#1 ERROR: boom\n")
    with pytest.raises(BuildFailed) as err:
        building.build_project(engine, load_project(root))
    assert (root / building.BUILD_LOG).read_text() == "#1 ERROR: boom\n"
    assert str(root / building.BUILD_LOG) in err.value.hint


def test_no_base_anywhere_says_how_to_build_one(root: Path, engine: FakeEngine) -> None:
    engine.answer("image", "inspect", returncode=1).answer("pull", returncode=1)
    with pytest.raises(UserError, match="cannot be pulled") as err:
        building.choose_base(engine, load_project(root), None)
    assert "dockyard base --python" in err.value.hint


def test_a_base_with_another_python_is_refused(root: Path, engine: FakeEngine) -> None:
    engine.answer("image", "inspect", stdout='{"Env": ["PYTHON_VERSION=3.9.1"]}\n')
    with pytest.raises(UserError, match=r"has Python 3\.9"):
        building.choose_base(engine, load_project(root), "mybase:1")


def test_the_air_gapped_base_when_the_official_one_cannot_be_pulled(
        root: Path, engine: FakeEngine) -> None:
    project = load_project(root)
    official = project.spec.default_base_image
    fresh = json.dumps({"dev.dockyard.recipe": recipe_hash(project.spec.python)})
    engine.answer("pull", returncode=1)
    engine.answer("image", "inspect", stdout=fresh + "\n")
    engine.answer("image", "inspect", "--format", "{{.Id}}", official, returncode=1)
    choice = building.choose_base(engine, project, None)
    assert choice.source == f"air-gapped base ({official} cannot be pulled)"
    assert not engine.ran("import") and not engine.ran("--variant=minbase")  # no rebuild


def test_a_stale_air_gapped_base_is_rebuilt_on_the_engine(
        root: Path, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the engine's runner: here the fake records debootstrap and the import."""
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr("tempfile.TemporaryDirectory.__init__",
                        _tmp_in(root / "scratch"))
    project = load_project(root)
    official = project.spec.default_base_image
    engine.answer("pull", returncode=1)
    engine.answer("image", "inspect", stdout="{}\n")
    engine.answer("image", "inspect", "--format", "{{.Id}}", official, returncode=1)
    # debootstrap's own arguments (the fake leaves out argv[0]): the root is the fourth.
    engine.answer("--variant=minbase", stdout="I: Base system installed successfully.\n",
                  then=lambda args: (Path(args[3]) / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True))
    said: list[str] = []
    building.choose_base(engine, project, None, said.append)
    assert said[0].endswith("was built by an older recipe; rebuilding it (dockyard base)")
    assert said[1] == "I: Base system installed successfully."
    modes = [(c.args[0] if c.mode != "piped" else "import", c.mode) for c in engine.calls
             if c.mode in ("streamed", "piped")]
    assert modes == [("--variant=minbase", "streamed"), ("import", "piped")]


def _tmp_in(folder: Path) -> Callable[..., None]:
    real = tempfile.TemporaryDirectory.__init__

    def init(self: tempfile.TemporaryDirectory[str], *args: object, **kwargs: object) -> None:
        folder.mkdir(exist_ok=True)
        real(self, dir=folder)

    return init


def test_an_unresolvable_requirement_points_at_its_line(root: Path, engine: FakeEngine,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> Resolution:
        raise ResolutionFailed("scikit-learn==1.4.0 has no wheel", "uv said so\n")

    monkeypatch.setattr(building, "resolve_for_build", fail)
    with pytest.raises(UserError) as err:
        building.build_project(engine, load_project(root))
    assert "scikit-learn==1.4.0 is declared in requirements.txt:2" in err.value.message
    assert (root / building.BUILD_LOG).read_text() == "uv said so\n"


def test_declaration_sites_name_file_and_line(root: Path) -> None:
    project = load_project(root)
    assert declaration_sites(project, "Because pandas==9 does not exist") == [
        ("pandas", "requirements.txt:1")]
    assert declaration_sites(project, "nothing relevant") == []


@pytest.mark.parametrize(("described", "removed"), [
    ("{key} 0", True),  # this project's, no other name: removed
    ("{key} 1", False),  # still tagged elsewhere: kept
    ("other-project-1234 0", True),  # a same-named folder's, now nameless: removed
    ("other-project-1234 2", False),  # another project's, still tagged: kept
    (" 0", False),  # not made by dockyard: never touched
])
def test_a_rebuild_removes_the_image_it_replaced(root: Path, engine: FakeEngine,
                                                 described: str, removed: bool) -> None:
    project = load_project(root)
    old = "sha256:" + "0" * 64
    engine.answer("build", stdout=BUILD_LOG, then=write_iid)
    engine.answer("image", "inspect", stdout="99\n")
    engine.answer("image", "inspect", "--format", "{{.Id}}", "t:1", stdout=old + "\n")
    engine.answer("image", "inspect", "--format",
                  '{{index .Config.Labels "dev.dockyard.project"}} {{len .RepoTags}}', old,
                  stdout=described.format(key=project.spec.project_key) + "\n")
    outcome = building.build_project(engine, project, tag="t:1")
    assert outcome.result.id != old
    assert bool(engine.ran("rmi", old)) is removed


def test_a_rebuild_sweeps_earlier_nameless_images_of_its_project(root: Path,
                                                                 engine: FakeEngine) -> None:
    """An image a container kept alive at its rebuild goes at the next one."""
    project = load_project(root)
    kept = "sha256:" + "1" * 64
    engine.answer("build", stdout=BUILD_LOG, then=write_iid)
    engine.answer("image", "inspect", "--format", "{{.Id}}", "t:1",
                  stdout="sha256:" + "0" * 64 + "\n")
    engine.answer("images", "--quiet", "--no-trunc", "--filter", "dangling=true", "--filter",
                  f"label=dev.dockyard.project={project.spec.project_key}", stdout=kept + "\n")
    engine.answer("image", "inspect", stdout="99\n")
    building.build_project(engine, project, tag="t:1")
    assert engine.ran("rmi", kept)
