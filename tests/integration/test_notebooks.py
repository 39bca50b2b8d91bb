"""Notebooks run like Jupyter runs them, on the real engine: `dockyard run notebooks/x.ipynb`
starts the kernel in the notebook's folder (imports from `../src`, reads `../data/`), injects
`-p` parameters papermill's way, shows cell progress, writes an HTML page that headless
Chromium renders, and names a failing cell.

The project is never built by hand: the first `dockyard run` on the fresh folder builds its
image, as a new user's first command would. Chromium is offline here: every request off the
page's own file is blocked, so the page is shown to work without a network, and only loopback
is ever contacted.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from PIL import Image, ImageChops
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.conftest import REPO, run_dockyard
from tests.integration.conftest import _cleanup_label, docker
from tests.nbproject import ANALYSIS, BROKEN, make_project, outputs

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOT = REPO / "tests" / "artifacts" / "notebook-html.png"


@pytest.fixture(scope="module")
def project(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = make_project(tmp_path_factory.mktemp("notebooks") / f"churn-study-{os.getpid()}")
    yield root
    _cleanup_label(root)
    docker("rmi", f"localhost/dockyard/{root.name}:latest", check=False)


@pytest.fixture(scope="module")
def parameterised(project: Path) -> tuple[Path, str]:
    """One run with parameters, an output name and HTML; (project, stderr)."""
    ran = run_dockyard("-C", str(project), "run", ANALYSIS, "-p", "alpha", "0.5",
                       "-p", "name", "x", "-p", "epochs", "12", "-o", "reports/analysis.ipynb",
                       "--html", timeout=600)
    assert ran.code == 0, ran.stderr
    assert ran.stdout.startswith(
        f"ran {ANALYSIS} -> reports/analysis.ipynb and reports/analysis.html (")
    assert "image rebuilt" in ran.stderr  # no prior build: the run made the image
    return project, ran.stderr


def test_kernel_runs_in_the_notebooks_folder_with_injected_parameters(
        parameterised: tuple[Path, str]) -> None:
    project, _ = parameterised
    texts = "".join(outputs(project / "reports" / "analysis.ipynb"))
    assert "rows=3" in texts  # ../data/customers.csv, relative to notebooks/
    assert "described 3 rows at alpha=0.5" in texts  # churnlib from ../src
    assert "name='x' epochs=12 alpha_type=float" in texts  # papermill's type inference
    assert "cwd=notebooks" in texts
    executed = nbformat.read(project / "reports" / "analysis.ipynb", as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in executed.cells]
    injected = executed.cells[tags.index(["injected-parameters"])]
    assert tags.index(["injected-parameters"]) == tags.index(["parameters"]) + 1
    assert injected.source.splitlines() == ["# Parameters", "alpha = 0.5", 'name = "x"',
                                            "epochs = 12"]
    assert executed.metadata["papermill"]["parameters"] == {"alpha": 0.5, "name": "x",
                                                            "epochs": 12}
    assert not (project / "notebooks" / "analysis.executed.ipynb").exists()  # -o was given


def test_cell_progress_is_shown(parameterised: tuple[Path, str]) -> None:
    _, stderr = parameterised
    assert [line for line in stderr.splitlines() if line.startswith("[")] == [
        "[1/5] cell 1: import os, sys", "[2/5] cell 2: alpha = 0.1",
        "[3/5] cell 3: parameters (injected)", "[4/5] cell 4: import csv",
        "[5/5] cell 5: print(describe(rows, alpha))"]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--no-proxy-server",
                "--allow-file-access-from-files", "--force-device-scale-factor=1",
                "--window-size=1200,900", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
        yield driver
    finally:
        driver.quit()


def test_html_page_opens_in_a_browser(parameterised: tuple[Path, str],
                                      browser: webdriver.Chrome) -> None:
    project, _ = parameterised
    page = project / "reports" / "analysis.html"
    browser.set_page_load_timeout(60)
    browser.get(page.as_uri())
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "described 3 rows at alpha=0.5" in body
    assert "alpha = 0.5" in body  # the injected cell is on the page too
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    shot = Image.open(io.BytesIO(SCREENSHOT.read_bytes())).convert("RGB")
    white = Image.new("RGB", shot.size, (255, 255, 255))
    assert ImageChops.difference(shot, white).getbbox() is not None, "blank page"
    grey = shot.convert("L")
    dark = sum(grey.histogram()[:128])  # text: a blank or unstyled-empty page has none
    assert dark > 500, f"only {dark} dark pixels"


def test_a_failing_cell_is_named_with_its_traceback(project: Path) -> None:
    ran = run_dockyard("-C", str(project), "run", BROKEN, timeout=600)
    assert ran.code == 1
    lines = ran.stderr.strip().splitlines()
    assert lines[-2:] == [
        f"error: {BROKEN}: cell 4 raised ValueError: bad rows: 3",
        "hint: the executed copy with the traceback is in notebooks/broken.executed.ipynb",
    ]
    assert "[4/5] cell 4: def check(rows):" in lines and "[5/5]" not in ran.stderr
    tail = lines[lines.index("[4/5] cell 4: def check(rows):") + 1:-2]
    assert tail[-1] == "  | ValueError: bad rows: 3"
    assert "  | ----> 4 check(rows)" in tail
    assert "Traceback (most recent call last)" not in ran.stderr
    executed = nbformat.read(project / "notebooks" / "broken.executed.ipynb", as_version=4)
    assert [o.ename for c in executed.cells if c.cell_type == "code" for o in c.outputs
            if o.output_type == "error"] == ["ValueError"]
