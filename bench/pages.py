"""What a learner waits for, in Chromium: each page's first view on a fresh server, and each
page's default training button, click to result.

    python -m bench pages [--url URL] [--quick]

First view (`metric: "first_view_seconds"`, one line per page and server kind): for every page a
fresh server is started, then the page opened in a fresh headless Chromium session; the
seconds from opening the link until the page's title shows and its script run has finished.
`impl: "playground"` is the server as run.py, the classroom and the image run it (it warms up at
start; the page is opened once its /ready says so); `impl: "no-warmup"` is plain
`streamlit run app.py`, opened as soon as it answers (how every server started before the
warm-up). Not measured with --url (that server is not fresh) nor with --quick.

Click to result (`metric: "click_to_result_seconds"`): starts the app (unless --url is given),
opens each page in a fresh session, presses its training buttons one after the other with the
page's default settings, and reports the seconds from the click until the page has drawn the
result (one line per button). The server and the browser share the machine, as in a classroom
laptop. --quick presses only the perceptron page's buttons (a smoke test, not for figures).
"""
import asyncio
import time

from bench._browser import IDLE, app_url, chromium, click_and_wait, new_tab, wait_idle
from core.words import sections

WORKLOAD = "pages"
BROWSER = True  # drives Chromium: run when named, not with every workload
BUTTONS = [  # (page, content key of its button), in the order a learner meets them
    ("perceptron", "rule_train"), ("perceptron", "mlp_train"), ("perceptron", "sine_run"),
    ("ann", "train"), ("cnn", "train"), ("resnet", "train_button"),
    ("rnn", "train_button"), ("rnn", "mem_button"), ("stocks", "train"),
]
# The link a learner follows to the buttons: the perceptron page's gradient-descent section opens
# with a toggle, and a link that names it opens it.
LINKS = {"perceptron": "perceptron?perceptron_sine_open=true"}
PAGES = ["", "lessons", "perceptron", "ann", "cnn", "resnet", "rnn", "stocks", "glossary"]  # URL paths
TITLE = "[data-testid='stMain'] h1"  # every page starts with its title


def run(quick: bool, device, url: str | None = None):
    if not (quick or url):
        for impl, warm in (("no-warmup", False), ("playground", True)):
            for page, seconds in first_views(PAGES, warm):
                yield {"workload": WORKLOAD, "impl": impl, "device": str(device), "page": page or "home",
                       "metric": "first_view_seconds", "value": round(seconds, 2)}
    buttons = [b for b in BUTTONS if b[0] == "perceptron"] if quick else BUTTONS
    with app_url(url) as base:
        timings = asyncio.run(_press_all(base, buttons))
    for (page, key), seconds in zip(buttons, timings):
        yield {"workload": WORKLOAD, "impl": "playground", "device": str(device), "page": page,
               "button": sections("en", page)[key], "metric": "click_to_result_seconds",
               "value": round(seconds, 2)}


async def _press_all(base: str, buttons: list[tuple[str, str]]) -> list[float]:
    timings, current, tab = [], None, None
    async with chromium() as browser:
        for page_name, key in buttons:
            if page_name != current:  # a fresh session per page, as a learner opening a link
                if tab is not None:
                    await tab[0].close()
                tab, current = await new_tab(browser, f"{base}/{LINKS.get(page_name, page_name)}"), page_name
                label = sections("en", page_name)[key]
                await tab[1].get_by_role("button", name=label, exact=True).first.wait_for(timeout=180_000)
                await wait_idle(tab[1])
            timings.append(await click_and_wait(tab[1], sections("en", page_name)[key]))
        if tab is not None:
            await tab[0].close()
    return timings


def first_views(pages: list[str], warm: bool = True) -> list[tuple[str, float]]:
    """[(page, seconds)]: each page's first view, each on a fresh server (see the docstring)."""
    return asyncio.run(_first_views(pages, warm))


async def _first_views(pages: list[str], warm: bool) -> list[tuple[str, float]]:
    views = []
    async with chromium() as browser:  # one browser, as a learner's; a fresh session per page
        for page in pages:
            with app_url(warm=warm) as base:
                views.append((page, await first_view(browser, f"{base}/{page}")))
    return views


async def first_view(browser, url: str, timeout: float = 180.0) -> float:
    """Seconds from opening `url` in a fresh session (its own cookies and cache) until the page's
    title shows and its script run has ended."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        started = time.perf_counter()
        await page.goto(url, wait_until="domcontentloaded")
        await page.locator(TITLE).first.wait_for(state="visible", timeout=timeout * 1000)
        while time.perf_counter() - started < timeout:  # idle, and still idle half a second later
            await page.locator(IDLE).wait_for(state="attached", timeout=timeout * 1000)
            seen = time.perf_counter()
            await page.wait_for_timeout(500)
            if await page.locator(IDLE).count():
                return seen - started
        raise TimeoutError(f"{url} kept running for {timeout:.0f} s")
    finally:
        await context.close()
