"""The import → distribution table and the undeclared-import decision."""

from __future__ import annotations

from dockyard.detect._common import load_data
from dockyard.detect._import_map import distribution_for, import_map, undeclared_imports


def test_table_has_at_least_150_entries() -> None:
    assert len(import_map().imports) >= 150


def test_table_values_are_normalised_distribution_names() -> None:
    for module, dist in load_data("import_map.toml")["imports"].items():
        assert dist == dist.lower().strip(), module


def test_known_mappings() -> None:
    expected = {
        "sklearn": "scikit-learn",
        "cv2": "opencv-python-headless",
        "PIL": "pillow",
        "yaml": "pyyaml",
        "bs4": "beautifulsoup4",
        "skimage": "scikit-image",
        "dateutil": "python-dateutil",
        "dotenv": "python-dotenv",
        "jwt": "pyjwt",
        "Crypto": "pycryptodome",
        "docx": "python-docx",
        "fitz": "pymupdf",
        "attr": "attrs",
        "sentence_transformers": "sentence-transformers",
        "psycopg2": "psycopg2-binary",
        "umap": "umap-learn",
        "osgeo": "gdal",
        "mpl_toolkits": "matplotlib",
        "IPython": "ipython",
        "zmq": "pyzmq",
        "git": "gitpython",
        "netCDF4": "netcdf4",
        "cupy": "cupy-cuda12x",
        "igraph": "python-igraph",
        "serial": "pyserial",
    }
    assert {module: distribution_for(module) for module in expected} == expected


def test_unknown_modules_map_to_themselves_normalised() -> None:
    assert distribution_for("some_thing") == "some-thing"


def test_undeclared_groups_files_and_sorts() -> None:
    found, findings = undeclared_imports(
        [("sklearn", "b.py"), ("sklearn", "a.ipynb"), ("numpy", "a.py"), ("Bio", "c.py")],
        local=[],
        declared=["numpy"],
    )
    assert [(u.module, u.distribution, u.files) for u in found] == [
        ("Bio", "biopython", ("c.py",)),
        ("sklearn", "scikit-learn", ("a.ipynb", "b.py")),
    ]
    assert findings == []


def test_declared_by_mapped_name_own_name_or_provider() -> None:
    imports = [("cv2", "a.py"), ("PIL", "a.py"), ("psycopg2", "a.py"), ("keras", "a.py")]
    declared = ["opencv-python", "Pillow", "psycopg2", "tensorflow"]
    assert undeclared_imports(imports, [], declared) == ((), [])


def test_local_and_runtime_modules_are_never_undeclared() -> None:
    imports = [("utils", "a.py"), ("IPython", "a.py"), ("traitlets", "a.py")]
    assert undeclared_imports(imports, ["utils"], []) == ((), [])


def test_ambiguous_namespaces_are_skipped_with_info_unless_declared() -> None:
    found, findings = undeclared_imports([("google", "a.py")], [], [])
    assert found == ()
    assert findings[0].severity == "info" and "import google" in findings[0].message
    assert undeclared_imports([("google", "a.py")], [], ["google-cloud-storage"]) == ((), [])


def test_runtime_list_lives_in_the_data_file() -> None:
    assert set(load_data("import_map.toml")["runtime"]["modules"]) == {
        "IPython",
        "ipykernel",
        "jupyter_client",
        "jupyter_core",
        "nbformat",
        "traitlets",
    }
