"""What a learner waits for: each page's default training button, click to result, in Chromium.

    python -m bench pages [--url URL] [--quick]

Starts the app (unless --url is given), opens each page in a fresh headless Chromium session,
presses its training buttons one after the other with the page's default settings, and
reports the seconds from the click until the page has drawn the result (JSON lines, one per
button). The server and the browser share the machine, as in a classroom laptop. --quick
presses only the perceptron page's buttons (a smoke test, not for figures).
"""
import asyncio

from bench._browser import app_url, chromium, click_and_wait, new_tab, wait_idle
from core.words import sections

WORKLOAD = "pages"
BROWSER = True  # drives Chromium: run when named, not with every workload
BUTTONS = [  # (page, content key of its button), in the order a learner meets them
    ("perceptron", "rule_train"), ("perceptron", "mlp_train"), ("perceptron", "sine_run"),
    ("ann", "train"), ("cnn", "train"), ("resnet", "train_button"),
    ("rnn", "train_button"), ("rnn", "mem_button"), ("stocks", "train"),
]


def run(quick: bool, device, url: str | None = None):
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
                tab, current = await new_tab(browser, f"{base}/{page_name}"), page_name
                label = sections("en", page_name)[key]
                await tab[1].get_by_role("button", name=label, exact=True).first.wait_for(timeout=180_000)
                await wait_idle(tab[1])
            timings.append(await click_and_wait(tab[1], sections("en", page_name)[key]))
        if tab is not None:
            await tab[0].close()
    return timings
