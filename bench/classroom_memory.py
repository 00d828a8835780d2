"""Bounded memory: the server's RSS after many learners have trained and left.

    python -m bench classroom-memory [--learners 20] [--quick]

Starts the app, lets one learner train on the ANN page and leave (so the data sets and the
default digit model are loaded: that is the idle level), then K learners, five at a time,
each open the ANN page, train (1,000 images, 1 epoch), and close their tab. Reports the RSS
idle, at its peak, and after the last learner left (JSON lines). Streamlit keeps a closed
tab's session two minutes for a reconnect, then drops it with its runs: the bench waits that
long, opens one more tab (the moment Streamlit sweeps expired sessions) and reads the RSS.
"""
import asyncio

from bench._browser import app_url, chromium, new_tab, rss_mb, wait_idle
from bench.classroom import PAGE, _learner, _minimum_sliders

WORKLOAD = "classroom-memory"
BROWSER = True  # drives Chromium: run when named, not with every workload
AT_ONCE = 5
RECONNECT_SECONDS = 130  # Streamlit's MemorySessionStorage keeps a closed session 120 s


def run(quick: bool, device, learners: int | None = None):
    learners = learners or (4 if quick else 20)
    server: list = []
    with app_url(server=server) as base:
        figures = asyncio.run(_sessions(base, server[0].pid, learners))
    common = {"workload": WORKLOAD, "impl": "playground", "device": str(device), "learners": learners}
    for metric, value in figures.items():
        yield {**common, "metric": metric, "value": round(value, 1)}


async def _sessions(base: str, pid: int, learners: int) -> dict:
    async with chromium() as browser:
        await _class(browser, base, 1)
        await asyncio.sleep(5)
        idle = rss_mb(pid)
        peak = idle
        for start in range(0, learners, AT_ONCE):
            await _class(browser, base, min(AT_ONCE, learners - start))
            peak = max(peak, rss_mb(pid))
        await asyncio.sleep(RECONNECT_SECONDS)
        context, page = await new_tab(browser, base)  # a new session sweeps the expired ones
        await wait_idle(page)
        await context.close()
        await asyncio.sleep(5)
        after = rss_mb(pid)
    return {"rss_mb_idle": idle, "rss_mb_peak": peak, "rss_mb_after": after}


async def _class(browser, base: str, size: int) -> None:
    """`size` learners open the ANN page, train once with the smallest settings, and leave."""
    tabs = await asyncio.gather(*(new_tab(browser, f"{base}/{PAGE}") for _ in range(size)))
    for _, page in tabs:
        await wait_idle(page)
        await _minimum_sliders(page)
    await asyncio.gather(*(_learner(page) for _, page in tabs))
    for context, _ in tabs:
        await context.close()
