"""The air-gapped base's recipe: what it keeps, what it names, how its staleness is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine import base
from dockyard.errors import UserError


def test_slim_keeps_the_man_directories_packages_link_into(tmp_path: Path) -> None:
    for rel in ("usr/share/man/man1/ls.1.gz", "usr/share/doc/bash/README",
                "usr/share/doc/bash/copyright", "var/lib/apt/lists/deb_Packages",
                "var/cache/apt/archives/x.deb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True)
    base._slim(tmp_path)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["etc/dpkg/dpkg.cfg.d/dockyard-slim", "usr/share/doc/bash/copyright"]
    for n in range(1, 9):  # OpenJDK's update-alternatives links into man1
        assert (tmp_path / f"usr/share/man/man{n}").is_dir()
    rules = (tmp_path / "etc/dpkg/dpkg.cfg.d/dockyard-slim").read_text()
    assert "path-exclude=/usr/share/man/*" in rules
    assert "path-include=/usr/share/doc/*/copyright" in rules


def test_recipe_hash_is_stable_and_differs_by_python() -> None:
    assert base.recipe_hash("3.11") == base.recipe_hash("3.11")
    assert len({base.recipe_hash(v) for v in base.SUITES}) == len(base.SUITES)


def test_local_names_cannot_come_from_a_public_registry() -> None:
    assert base.base_tag("3.11") == "localhost/dockyard/python:3.11"


@pytest.mark.parametrize(("python", "nearest"), [
    ("3.12", "3.11 or 3.13"), ("3.10", "3.9 or 3.11"), ("3.8", "3.9"), ("3.15", "3.14"),
])
def test_a_python_no_suite_ships_names_the_nearest(python: str, nearest: str) -> None:
    with pytest.raises(UserError) as info:
        base.supported_suite(python)
    assert info.value.message == (f"no air-gapped base for Python {python}: no Debian suite "
                                  "reachable here ships it")
    assert info.value.hint.startswith(f"choose {nearest} (set python = ")


def test_every_supported_python_has_a_suite() -> None:
    assert {v: base.supported_suite(v) for v in ("3.9", "3.11.4", "3.13", "3.14")} == {
        "3.9": "bullseye", "3.11.4": "bookworm", "3.13": "trixie", "3.14": "forky"}
