"""Real Chromium: a digit drawn with the mouse on the ANN page's canvas yields a "Prediction" metric."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"no Chromium at {CHROMIUM}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    missing = _missing_browser()
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true but the browser test cannot run: {missing}")
        pytest.skip(f"real-browser test skipped: {missing}")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("streamlit did not start")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _draw_seven(page, canvas) -> None:
    """Press, drag through the strokes of a 7, release: real mouse events on the canvas."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + 90, y0 + 60)
    page.mouse.down()
    for x, y in [(140, 60), (185, 62), (150, 140), (120, 230)]:
        page.mouse.move(x0 + x, y0 + y, steps=10)
    page.mouse.up()


def test_drawing_a_digit_shows_a_prediction(server):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM)
                                    else shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server}/ann", timeout=120_000)
            # streamlit-drawable-canvas 0.13 renders fabric.js canvases inside the component's
            # shadow root in the main document (no iframe); Playwright's CSS locators pierce it.
            canvas = page.locator("canvas.upper-canvas").first
            canvas.wait_for(state="visible", timeout=180_000)
            prediction = page.locator('[data-testid="stMetric"]').filter(has_text="Prediction")
            assert prediction.count() == 0  # an empty canvas predicts nothing
            # fabric.js attaches its mouse handlers a moment after the canvas appears: if the
            # first stroke was too early, draw once more.
            page.wait_for_timeout(2_000)
            for _ in range(3):
                _draw_seven(page, canvas)
                try:
                    prediction.first.wait_for(state="visible", timeout=45_000)
                    break
                except PlaywrightTimeout:
                    continue
            assert prediction.count() == 1, "no Prediction metric after drawing on the canvas"
            text = prediction.first.inner_text()
            digit = text.split("Prediction", 1)[1].split()[0]
            assert digit in "0123456789" and len(digit) == 1, text
            assert "confident" in text
        finally:
            browser.close()
