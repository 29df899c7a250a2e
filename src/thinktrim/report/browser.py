"""Open a report in a real headless Chromium (selenium), as the report's tests and `bench/report_size.py` do.

Needs selenium (the `dev` extra) and Debian's `chromium` + `chromium-driver` (`make test` installs them).
Selenium Manager is never asked to download anything: the browser and driver paths are given, and the flags
keep Chromium from reaching for a network it does not have.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run")


def missing() -> str | None:
    """Why no browser can be started here (None when one can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} not found (Debian: apt-get install chromium chromium-driver; `make test` does it)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'thinktrim[dev]')"
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 1000, scale: float = 1.0) -> Iterator[Any]:
    """A headless Chromium WebDriver with a fresh profile, its console log readable (`get_log("browser")`);
    `scale` > 1 renders screenshots at that many pixels per CSS pixel."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="thinktrim-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                 f"--force-device-scale-factor={scale:g}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_report(driver: Any, path: Path, fragment: str = "", timeout: float = 60.0) -> float:
    """Load the report and wait until its script says it is ready; returns milliseconds from navigation start
    to ready (the page's own `performance.now()` when it set the flag)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such report")
    driver.get(Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else ""))
    deadline = time.monotonic() + timeout
    while True:
        state = driver.execute_script("return [document.body && document.body.dataset.ready, window.ttReady]")
        if state[0] == "1":
            return float(state[1])
        if state[0] == "error" or time.monotonic() > deadline:
            logs = driver.get_log("browser")
            raise RuntimeError(f"{path}: report not ready ({state[0] or 'timed out'}); console: {logs}")
        time.sleep(0.02)


def screenshot(driver: Any, element_id: str, path: Path, width: int = 1400, max_height: int = 4000) -> Path:
    """A PNG of one element of the page, the window first made tall enough to hold all of it."""
    height, chrome = driver.execute_script(
        "return [document.getElementById(arguments[0]).getBoundingClientRect().height, outerHeight - innerHeight]",
        element_id)
    size = driver.get_window_size()
    driver.set_window_size(width, min(max_height, int(height + chrome) + 100))  # 100: the sticky menu and a margin
    try:
        driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", element_id)
        driver.execute_script("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        from selenium.webdriver.common.by import By

        driver.find_element(By.ID, element_id).screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])
    return path
