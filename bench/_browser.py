"""Real Chromium sessions against a running app: what the classroom and pages workloads share.

Debian's chromium through Playwright's async API, so many learners act at the same moment.
`CHROMIUM` is the one lookup of the browser, shared with the tests (tests/conftest.py).
"Click to result" ends when the app's script state (`data-test-script-state` on the stApp
element) is back to "notRunning": the script run the click started has drawn everything,
results included.
"""
import contextlib
import os
import re
import shutil
import subprocess
import time

from core.words import sections
from deploy.classroom import Classroom, free_port, start_app, wait_healthy, wait_ready

CHROMIUM_MISSING = "Chromium is not installed (apt-get install -y chromium)"


def find_chromium() -> str | None:
    """The Chromium to drive: $PLAYGROUND_CHROMIUM if set, else `chromium` (Debian) or
    `chromium-browser` (Ubuntu) on PATH; None when there is none."""
    named = os.environ.get("PLAYGROUND_CHROMIUM")
    if named:
        return named if shutil.which(named) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = find_chromium()
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
RUNNING = "[data-testid='stApp']:not([data-test-script-state='notRunning'])"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


@contextlib.contextmanager
def app_url(url: str | None = None, replicas: int = 0, env: dict | None = None, server: list | None = None,
            warm: bool = True):
    """Yield a base URL: `url` as given, else a fresh app (behind HAProxy with `replicas` ≥ 1),
    as the servers run it: warmed up (deploy/serve.py, yielded once its /ready says so), or with
    `warm=False` plain `streamlit run app.py` (yielded once it answers its health check).
    A fresh single app's process is appended to `server` when a list is given (to read its RSS)."""
    if url:
        yield url.rstrip("/")
        return
    if replicas:
        with Classroom(replicas) as classroom:
            yield classroom.url
        return
    port = free_port()
    process = start_app(port, env, warm=warm)
    if server is not None:
        server.append(process)
    try:
        base = f"http://127.0.0.1:{port}"
        if not (wait_ready(base, process=process) if warm else wait_healthy(base, process=process)):
            raise RuntimeError("the app did not start (and warm up) within its time")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` in MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.asynccontextmanager
async def chromium():
    from playwright.async_api import async_playwright

    if CHROMIUM is None:
        raise RuntimeError(CHROMIUM_MISSING)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_tab(browser, url: str):
    """A fresh browser context (its own cookies: its own Streamlit session) at `url`."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(url, wait_until="domcontentloaded")
    return context, page


async def wait_idle(page, timeout: float = 600.0, settle: float = 0.5) -> None:
    """Wait until the app has finished its script run (and stays idle for `settle` seconds)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        await page.locator(IDLE).wait_for(state="attached", timeout=timeout * 1000)
        await page.wait_for_timeout(settle * 1000)
        if await page.locator(IDLE).count():
            return
    raise TimeoutError("the app kept running")


async def click_and_wait(page, button: str, timeout: float = 600.0) -> float:
    """Press the button named `button`; seconds until the run it started has drawn its result."""
    target = page.get_by_role("button", name=button, exact=True).first
    await target.scroll_into_view_if_needed()
    started = time.perf_counter()
    await target.click()
    with contextlib.suppress(Exception):  # a very short run may end before we look
        await page.locator(RUNNING).wait_for(state="attached", timeout=5_000)
    await page.locator(IDLE).wait_for(state="attached", timeout=timeout * 1000)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def fixed_text(key: str, language: str = "en") -> str:
    """The longest fixed stretch of a content section ("ann.trained" -> "% on the test set after"),
    to find on a page whatever numbers fill its placeholders."""
    page, _, name = key.partition(".")
    parts = re.split(r"\{[^{}]*\}|\*\*", sections(language, page)[name])
    return max((p.strip() for p in parts), key=len)
