"""A setuptools package's install_requires (setup.py, setup.cfg) are installed with it."""

from __future__ import annotations

from dockyard.detect import detect
from tests.unit.detect.conftest import MakeProject

SETUP_PY = """\
import setuptools

REQUIRED = [
    "requests>=2.31",
    "numpy",  # arrays
]

setuptools.setup(
    name="weather",
    packages=setuptools.find_packages(),
    install_requires=REQUIRED,
    extras_require={"plot": ["matplotlib"]},
)
"""


def declared(make_project: MakeProject, files: dict[str, str]) -> list[tuple[str, str]]:
    return [(d.requirement(), d.source) for d in detect(make_project(files)).dependencies]


def test_a_literal_list_or_a_name_bound_to_one_is_read(make_project: MakeProject) -> None:
    assert declared(make_project, {"setup.py": SETUP_PY}) == [
        ("numpy", "setup.py"), ("requests>=2.31", "setup.py")]


def test_setup_cfg_is_read_as_setuptools_reads_it(make_project: MakeProject) -> None:
    files = {"setup.py": "from setuptools import setup\nsetup()\n", "setup.cfg": """\
        [metadata]
        name = weather
        [options]
        install_requires =
            pandas>=2  # frames
            pyyaml; python_version >= "3.9"
        """}
    assert declared(make_project, files) == [
        ("pandas>=2", "setup.cfg"), ('pyyaml ; python_version >= "3.9"', "setup.cfg")]


def test_a_requirements_file_comes_first_and_the_package_adds_its_own(
        make_project: MakeProject) -> None:
    det = detect(make_project({"setup.py": SETUP_PY, "requirements.txt": "requests==2.32.3\n"}))
    assert [(d.requirement(), d.source) for d in det.dependencies] == [
        ("numpy", "setup.py"), ("requests==2.32.3", "requirements.txt")]
    assert ("setup.py: the package's 2 install_requires are installed too (the project itself "
            "is installed, and needs them)") in [f.message for f in det.findings]


def test_a_computed_list_is_left_to_the_resolver_and_python_2_is_named(
        make_project: MakeProject) -> None:
    computed = ('from setuptools import setup\n'
                'setup(install_requires=open("deps.txt").read().splitlines())\n')
    det = detect(make_project({"setup.py": computed}))
    assert det.dependencies == ()
    assert not [f for f in det.findings if f.severity == "warning"]
    det = detect(make_project({"setup.py": 'print "hi"\n'}))
    assert [f.message for f in det.findings if f.severity == "warning"] == [
        "setup.py: not valid Python 3; its install_requires were not read"]
