"""runtime/binder.py: how postBuild and start scripts are executed inside an image."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "src" / "dockyard" / "runtime" / "binder.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("binder_runtime", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


binder = _load()


def test_executable_script_runs_itself(tmp_path: Path) -> None:
    script = tmp_path / "start"
    script.write_text("#!/bin/sh\nexec \"$@\"\n")
    script.chmod(0o755)
    assert binder.script_argv(str(script)) == [str(script)]


def test_script_without_execute_bit_uses_its_shebang_or_bash(tmp_path: Path) -> None:
    with_shebang = tmp_path / "postBuild"
    with_shebang.write_text("#!/usr/bin/env python3 -u\nprint(1)\n")
    with_shebang.chmod(0o644)
    assert binder.script_argv(str(with_shebang)) == ["/usr/bin/env", "python3", "-u",
                                                       str(with_shebang)]
    plain = tmp_path / "plain"
    plain.write_text("echo hi\n")
    assert binder.script_argv(str(plain)) == ["/bin/bash", str(plain)]


def test_missing_start_runs_the_command_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert binder.start_argv(["echo", "x"], "") == ["echo", "x"]
    assert binder.start_argv(["echo", "x"], "/nonexistent/start") == ["echo", "x"]
    assert "not found" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="needs bash")
def test_start_exports_are_visible_to_the_command(tmp_path: Path) -> None:
    start = tmp_path / "start"
    start.write_text('export GREETING="from start"\nexec "$@"\n')  # no execute bit, no shebang
    env = {**os.environ, "DOCKYARD_START": str(start)}
    out = subprocess.run([sys.executable, "-I", "-S", str(RUNNER), "start", "sh", "-c",
                          "echo $GREETING"], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "from start"


def test_post_build_runs_the_script(tmp_path: Path) -> None:
    script = tmp_path / "postBuild"
    marker = tmp_path / "ran.txt"
    script.write_text(f"#!/bin/sh\necho done > {marker}\n")
    subprocess.run([sys.executable, "-I", "-S", str(RUNNER), "postbuild", str(script)],
                   check=True)
    assert marker.read_text() == "done\n"


def test_bad_usage_exits_2() -> None:
    out = subprocess.run([sys.executable, str(RUNNER)], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 2
