"""The seed article's walk-through in a real browser: open the printed lab URL, make a notebook,
run the sine-wave cell, see the plot, save the notebook into the project folder.

Headless Chromium through Selenium, against a lab started by `dockyard lab --detach` on the real
engine. Only loopback is ever contacted. The screenshot lands in tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from PIL import Image, ImageChops
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import REPO, run_dockyard
from tests.integration.conftest import BuiltProject, docker

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOT = ARTIFACTS / "lab-sine-wave.png"
FAILURE_SCREENSHOT = ARTIFACTS / "lab-sine-wave-failure.png"

CODE = """import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(0, 10, 100)
y = np.sin(x)

plt.plot(x, y)
plt.title("Sine Wave")
plt.show()"""

MPL_BLUE = (0x1F, 0x77, 0xB4)  # matplotlib's default first line colour, C0

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
FIRST_CELL = f"{NOTEBOOK} .jp-Notebook .jp-Cell:first-child"
PLOT_IMG = f"{FIRST_CELL} .jp-OutputArea-output.jp-RenderedImage img"

KERNEL_IDLE_JS = """
return Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
    .some(e => /\\(ipykernel\\) \\| Idle$/.test(e.textContent.trim()));
"""
DIRTY_TAB_JS = "return document.querySelectorAll('.lm-TabBar-tab.jp-mod-dirty').length;"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lab(example: BuiltProject) -> Iterator[dict[str, Any]]:
    """A lab on a free port; afterwards the container is gone and every file the browser
    session created in the project folder (notebook, checkpoints) is removed again."""
    before = {p.name for p in example.root.iterdir()}
    ran = run_dockyard("-C", str(example.root), "lab", "--detach", "--port", str(free_port()),
                       "--json", timeout=180)
    assert ran.code == 0, ran.stderr
    session: dict[str, Any] = json.loads(ran.stdout)
    try:
        yield session
    finally:
        docker("rm", "-f", session["container"], check=False)
        for path in example.root.iterdir():
            if path.name not in before:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile, through the Debian chromedriver."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--no-proxy-server", "--force-device-scale-factor=1", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def screenshot_on_failure(driver: webdriver.Chrome) -> Iterator[None]:
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(FAILURE_SCREENSHOT))
        raise


def blue_pixels(image: Image.Image, tolerance: int = 24) -> int:
    """How many pixels are (nearly) matplotlib's default blue."""
    bands = [band.point(lambda v, c=c: 255 if abs(v - c) <= tolerance else 0)
             for band, c in zip(image.convert("RGB").split(), MPL_BLUE, strict=True)]
    mask = ImageChops.multiply(ImageChops.multiply(bands[0], bands[1]), bands[2])
    return mask.histogram()[255]


def editor_lines(driver: webdriver.Chrome, editor: WebElement) -> list[str]:
    lines: list[str] = driver.execute_script(
        "return Array.from(arguments[0].querySelectorAll('.cm-line')).map(l => l.textContent);",
        editor)
    return lines


def save_notebook(driver: webdriver.Chrome, name: str) -> None:
    """Ctrl+S on a new notebook: JupyterLab asks for its name before the first save.

    Wait for that dialog itself. Waiting for "the dialog or a clean tab" raced: a poll that came
    before the dialog opened could find no dirty tab and call the notebook saved, and it stayed
    Untitled.ipynb. A keystroke that lands while the page is busy is sent again.
    """
    field_css = ".jp-Dialog input#jp-dialog-input-id"
    ask = WebDriverWait(driver, 8, poll_frequency=0.1)
    for attempt in range(3):
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
        try:
            field = ask.until(ec.visibility_of_element_located((By.CSS_SELECTOR, field_css)))
            break
        except TimeoutException:
            if attempt == 2:
                raise
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(name)
    driver.find_element(By.CSS_SELECTOR, ".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    done = WebDriverWait(driver, 40, poll_frequency=0.1)
    done.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, ".jp-Dialog")))
    done.until(lambda d: d.execute_script(DIRTY_TAB_JS) == 0)


def test_sine_wave_notebook_in_the_browser(example: BuiltProject, lab: dict[str, Any],
                                           browser: webdriver.Chrome) -> None:
    with screenshot_on_failure(browser):
        walk_through(example.root, lab, browser)


def walk_through(root: Path, lab: dict[str, Any], browser: webdriver.Chrome) -> None:
    wait: WebDriverWait[webdriver.Chrome] = WebDriverWait(browser, 40, poll_frequency=0.1)
    browser.get(lab["url"])  # exactly what `dockyard lab` printed, token included

    # A new notebook from the Launcher's "Python 3 (ipykernel)" tile.
    tile = wait.until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, '.jp-LauncherCard[data-category="Notebook"]')))
    assert tile.text.strip() == "Python 3 (ipykernel)"
    tile.click()
    editor = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"{FIRST_CELL} .cm-content")))
    # Code sent before the kernel is connected is silently dropped: wait until it is idle.
    wait.until(lambda d: d.execute_script(KERNEL_IDLE_JS))

    # Insert the cell's text the way a paste does (no auto-indent, no bracket closing), then
    # check the editor holds exactly that.
    editor.click()
    browser.execute_cdp_cmd("Input.insertText", {"text": CODE})
    assert editor_lines(browser, editor) == CODE.split("\n")

    ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    img = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, PLOT_IMG)))
    prompt = browser.find_element(By.CSS_SELECTOR, f"{FIRST_CELL} .jp-InputPrompt")
    assert prompt.text.strip() == "[1]:"
    assert not browser.find_elements(
        By.CSS_SELECTOR, f'{FIRST_CELL} [data-mime-type="application/vnd.jupyter.error"]')

    # The output <img> carries the PNG matplotlib drew.
    src = img.get_attribute("src") or ""
    assert src.startswith("data:image/png;base64,"), src[:80]
    plot = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    assert plot.format == "PNG"
    assert 300 <= plot.width <= 2000 and 200 <= plot.height <= 2000, plot.size
    assert blue_pixels(plot) > 1000  # the sine line; an empty axes has none

    # The screenshot shows it: the sine line's blue inside the image's box on screen.
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", img)
    rect = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return [r.left, r.top, r.right, r.bottom, window.devicePixelRatio];", img)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    shot = Image.open(SCREENSHOT)
    left, top, right, bottom, ratio = rect
    box = tuple(round(v * ratio) for v in (left, top, right, bottom))
    assert box[2] - box[0] >= 300 and box[3] - box[1] >= 200, box
    assert blue_pixels(shot.crop(box)) > 1000  # JupyterLab's own UI has < 250 in all

    # Saved into the project folder, by the folder's owner (the container runs as them).
    name = f"sine-wave-{uuid.uuid4().hex[:8]}.ipynb"
    save_notebook(browser, name)
    saved = root / name
    assert saved.is_file(), sorted(p.name for p in root.iterdir())
    assert saved.stat().st_uid == root.stat().st_uid
    nb = nbformat.read(saved, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "code"
    assert first.source == CODE
    assert first.execution_count == 1
    assert any("image/png" in out.get("data", {}) for out in first.outputs)
