"""The bundled example on the real engine: build, image contents, notebook, cache reuse."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import nbformat

from tests.conftest import copy_example, run_dockyard
from tests.integration.conftest import CA_MARKER, DOCKER, BuiltProject, docker


def test_build_reports_image_id_and_size(example: BuiltProject) -> None:
    doc = example.build_json
    assert doc["image"] == example.image
    assert str(doc["id"]).startswith("sha256:")
    assert int(str(doc["size_bytes"])) > 100_000_000
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}",
                               example.image).stdout)
    assert labels["dev.dockyard.project"].startswith("churn-")
    assert labels["org.opencontainers.image.title"] == "churn"


def test_forgotten_import_is_detected_and_installed(example: BuiltProject) -> None:
    ran = run_dockyard("-C", str(example.root), "inspect", "--json")
    undeclared = json.loads(ran.stdout)["undeclared_imports"]
    assert [(u["module"], u["distribution"]) for u in undeclared] == [("sklearn", "scikit-learn")]
    probe = docker("run", "--rm", example.image, "python", "-c",
                   "import sklearn, jupyter_server; print(jupyter_server.__version__)")
    major, minor, patch = (int(x) for x in probe.stdout.strip().split(".")[:3])
    assert (major, minor, patch) >= (2, 21, 1)


def test_notebook_runs_inside_the_image_and_writes_its_output(example: BuiltProject) -> None:
    ran = run_dockyard("-C", str(example.root), "run", "analysis.ipynb")
    assert ran.code == 0, ran.stderr
    assert "ran analysis.ipynb -> analysis.executed.ipynb" in ran.stdout
    summary = json.loads((example.root / "outputs" / "summary.json").read_text())
    assert summary["rows"] == 400 and 0.5 < summary["accuracy"] <= 1.0
    executed = nbformat.read(example.root / "analysis.executed.ipynb", as_version=4)
    assert any(o.get("text", "").startswith("rows=400") for c in executed.cells
               if c.cell_type == "code" for o in c.outputs)


def test_failing_notebook_names_the_cell(example: BuiltProject) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("text"),
                nbformat.v4.new_code_cell("raise ValueError('boom')"),
                nbformat.v4.new_code_cell("print('never')")]
    nbformat.write(nb, example.root / "broken.ipynb")
    ran = run_dockyard("-C", str(example.root), "run", "broken.ipynb")
    assert ran.code == 1
    assert ran.stderr.strip().splitlines()[-2:] == [
        "error: broken.ipynb: cell 2 raised ValueError: boom",
        "hint: the executed copy with the traceback is in broken.executed.ipynb",
    ]
    assert "Traceback" not in ran.stderr
    assert (example.root / "broken.executed.ipynb").exists()


def test_run_passes_exit_code_and_edits_persist(example: BuiltProject) -> None:
    ran = run_dockyard("-C", str(example.root), "run", "--", "python", "-c",
                       "open('made-in-container.txt', 'w').write('hi'); raise SystemExit(3)")
    assert ran.code == 3
    assert (example.root / "made-in-container.txt").read_text() == "hi"


def test_image_runs_as_a_numeric_non_root_user(example: BuiltProject) -> None:
    user = docker("image", "inspect", "--format", "{{.Config.User}}", example.image).stdout
    assert user.strip() == "1000:1000"
    assert docker("run", "--rm", example.image, "id", "-u").stdout.strip() == "1000"


def _image_files(image: str) -> set[str]:
    created = docker("create", image).stdout.strip()
    try:
        raw = subprocess.run([DOCKER, "export", created], capture_output=True,
                             check=True).stdout
    finally:
        docker("rm", "-f", created, check=False)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        return {m.name.lstrip("./") for m in tar.getmembers()}


def test_env_file_and_data_folder_are_not_in_the_image(example: BuiltProject) -> None:
    files = _image_files(example.image)
    assert "workspace/analysis.ipynb" in files  # the code is there, so the check can fail
    assert "workspace/.env" not in files
    assert not any(f.startswith("workspace/data") for f in files)
    assert (example.root / ".env").exists() and (example.root / "data").is_dir()


def test_ca_bundle_is_in_no_layer(example: BuiltProject) -> None:
    raw = subprocess.run([DOCKER, "save", example.image], capture_output=True, check=True).stdout
    marker = CA_MARKER.encode()
    with tarfile.open(fileobj=io.BytesIO(raw)) as outer:
        layers = [m for m in outer.getmembers() if m.name.endswith("layer.tar")]
        assert len(layers) >= 3
        for layer in layers:
            data = outer.extractfile(layer)
            assert data is not None
            blob = data.read()
            assert marker not in blob, f"CA bundle found in {layer.name}"
            with tarfile.open(fileobj=io.BytesIO(blob)) as inner:
                assert not any(n.endswith("run/secrets/ca") for n in inner.getnames())
    history = docker("history", "--no-trunc", example.image).stdout
    assert marker.decode() not in history


def test_code_only_change_reuses_the_dependency_layer(example: BuiltProject) -> None:
    (example.root / "helpers.py").write_text("def double(x):\n    return 2 * x\n")
    ran = run_dockyard("-C", str(example.root), "build", "--tag", example.image, "--json")
    assert ran.code == 0, ran.stderr
    doc = json.loads(ran.stdout)
    cached = doc["cached_steps"]
    assert any("uv pip install" in step for step in cached), cached
    assert any("COPY --from=builder /opt/venv" in step for step in cached), cached
    assert not any("COPY . /src/" in step for step in cached)
    assert not any("COPY --from=code /src/ /workspace/" in step for step in cached)
    assert doc["id"] != example.build_json["id"]


def test_lock_pins_with_hashes_and_locked_build_detects_staleness(
        engine: None, tmp_path: Path) -> None:
    root = copy_example("churn", tmp_path)
    ran = run_dockyard("-C", str(root), "lock")
    assert ran.code == 0, ran.stderr
    lock = (root / "dockyard.lock").read_text()
    assert "scikit-learn==" in lock and "--hash=sha256:" in lock
    assert "jupyter-server==" in lock
    built = run_dockyard("-C", str(root), "build", "--locked", "--json")
    assert built.code == 0, built.stderr
    assert json.loads(built.stdout)["locked"] is True
    with (root / "requirements.txt").open("a") as fh:
        fh.write("tabulate\n")
    before = _user_files(root)
    stale = run_dockyard("-C", str(root), "build", "--locked")
    assert stale.code == 1
    assert "Traceback" not in stale.stderr
    assert stale.stderr.strip().splitlines()[-2:] == [
        "error: dockyard.lock is stale: it does not match the declared dependencies",
        "hint: run `dockyard lock` and commit dockyard.lock, or build without --locked",
    ]
    assert _user_files(root) == before


def _user_files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".dockyard" not in p.parts}


def test_resolving_again_leaves_one_copy_of_a_source_only_package(tmp_path: Path) -> None:
    """uv unpacks a source-only package to read its metadata, and behind a proxy that strips
    cache headers it unpacked a new copy at every resolution (pyspark: 330 MB a build). The
    resolver's own cache is pruned after each use, so two resolutions leave one copy."""
    root = tmp_path / "docs-cli"
    root.mkdir()
    (root / "requirements.txt").write_text("docopt==0.6.2\n")
    (root / "cli.py").write_text("import docopt\n")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    for _ in range(2):
        ran = run_dockyard("-C", str(root), "lock", env=env)
        assert ran.code == 0, ran.stderr
    copies = [p for p in (tmp_path / "cache" / "dockyard" / "uv").glob("sdists-v*/pypi/docopt/*/*")
              if p.is_dir()]
    assert len(copies) == 1, copies


def test_a_rebuild_leaves_no_nameless_image_behind(engine: None, tmp_path: Path) -> None:
    """Two folders with the same name share an image name: the second build takes the name,
    and the first folder's image, which nothing can name any more, is removed rather than
    left dangling (a day of such rebuilds filled this machine's disk)."""
    ids = []
    for folder in ("first", "second"):
        root = tmp_path / folder / "same-name"
        root.mkdir(parents=True)
        (root / "main.py").write_text(f"print({folder!r})\n")
        built = run_dockyard("-C", str(root), "build", "--json")
        assert built.code == 0, built.stderr
        ids.append(json.loads(built.stdout)["id"])
    assert ids[0] != ids[1]
    assert docker("image", "inspect", ids[0], check=False).returncode != 0
    assert docker("image", "inspect", ids[1], check=False).returncode == 0
    dangling = docker("images", "--quiet", "--filter", "dangling=true", "--filter",
                      "label=dev.dockyard.project").stdout.split()
    assert not [i for i in dangling if ids[0].removeprefix("sha256:").startswith(i)]
