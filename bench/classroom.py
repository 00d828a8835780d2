"""A class at once: K learners in headless Chromium press Train on the ANN page together.

    python -m bench classroom --learners 4 [--url URL | --replicas 2] [--quick]

Reports per learner the wait for a training slot and the click-to-result time, their p50 and
p95, and how long a newcomer's Home page takes to load meanwhile (JSON lines). Without --url
it starts the app itself (behind HAProxy with --replicas N). --quick trains on 1,000 images
for 1 epoch instead of the page's defaults (a smoke test, not for figures).
"""
import asyncio
import contextlib
import re
import time

from bench._browser import app_url, chromium, fixed_text, new_tab, percentile, wait_idle
from core.words import sections

WORKLOAD = "classroom"
BROWSER = True  # drives Chromium: run when named, not with every workload
PAGE = "ann"
TRAIN, STOP = sections("en", "ann")["train"], sections("en", "common")["stop"]
RESULT, REPLICA = fixed_text("ann.trained"), fixed_text("app.replica")
QUICK_SLIDERS = ("n_train", "epochs")  # the ANN page's sliders moved to their minimum with --quick


def run(quick: bool, device, learners: int | None = None, url: str | None = None,
        replicas: int = 0):
    learners = learners or (2 if quick else 4)
    with app_url(url, replicas) as base:
        timings, home_seconds, replica_ids = asyncio.run(_class(base, learners, quick, replicas))
    common = {"workload": WORKLOAD, "impl": "playground", "device": str(device),
              "learners": learners, "replicas": replicas or 1}
    for i, (wait, total, replica_after) in enumerate(timings, start=1):
        yield {**common, "learner": i, "replica": replica_ids[i - 1], "replica_after": replica_after,
               "metric": "click_to_result_seconds", "value": round(total, 2), "wait_seconds": round(wait, 2)}
    totals = [total for _, total, _ in timings]
    yield {**common, "metric": "p50_click_to_result_seconds", "value": round(percentile(totals, 50), 2)}
    yield {**common, "metric": "p95_click_to_result_seconds", "value": round(percentile(totals, 95), 2)}
    yield {**common, "metric": "newcomer_home_load_seconds", "value": round(home_seconds, 2)}


async def _class(base: str, learners: int, quick: bool, replicas: int = 0):
    async with chromium() as browser:
        tabs = await asyncio.gather(*(new_tab(browser, f"{base}/{PAGE}") for _ in range(learners)))
        pages = [page for _, page in tabs]
        for page in pages:
            await page.get_by_role("button", name=TRAIN, exact=True).wait_for(timeout=180_000)
            await wait_idle(page)
            if quick:
                await _minimum_sliders(page)
        replica_ids = [await _replica(page, wait=5.0 if replicas else 0.5) for page in pages]
        learner_runs = [asyncio.create_task(_learner(page)) for page in pages]
        await asyncio.sleep(2.0)  # the class is training: a newcomer opens the app
        home_started = time.perf_counter()
        context, home = await new_tab(browser, base)
        await home.get_by_text(sections("en", "home")["path_header"]).wait_for(timeout=300_000)
        home_seconds = time.perf_counter() - home_started
        timings = await asyncio.gather(*learner_runs)
        timings = [(*timing, await _replica(page, wait=5.0 if replicas else 0.5))  # where it ended
                   for timing, page in zip(timings, pages)]
        await context.close()
        for context, _ in tabs:
            await context.close()
    return timings, home_seconds, replica_ids


async def _learner(page) -> tuple[float, float]:
    """(seconds waiting for a slot, seconds from click to result) for one learner."""
    await page.get_by_role("button", name=TRAIN, exact=True).first.click()
    clicked = time.perf_counter()
    await page.get_by_role("button", name=STOP, exact=True).first.wait_for(timeout=900_000)
    granted = time.perf_counter()
    await wait_idle(page, timeout=900)
    finished = time.perf_counter()
    await page.get_by_text(RESULT).first.wait_for(timeout=30_000)  # the run's result is on the page
    return granted - clicked, finished - clicked


async def _minimum_sliders(page) -> None:
    for key in QUICK_SLIDERS:
        label = sections("en", "ann")[key]
        # the MNIST section's, above the regression one
        thumb = page.locator("[data-testid='stSlider']").filter(has_text=label).get_by_role("slider").first
        await thumb.focus()
        await page.keyboard.press("Home")
        await wait_idle(page)


async def _replica(page, wait: float = 5.0) -> str:
    """The replica named in the sidebar (behind `run.py classroom`), else "-"."""
    caption = page.locator("[data-testid='stSidebar']").get_by_text(REPLICA)
    with contextlib.suppress(Exception):  # no caption: a single app, not behind HAProxy
        await caption.first.wait_for(timeout=wait * 1000)
        return re.search(r"\br\d+\b", await caption.first.inner_text())[0]
    return "-"
