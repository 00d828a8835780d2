"""Real Chromium: a learner's runs live in their workspace (the database), not in one tab.

Train on the stock page, reload: the same results. Kill the server with SIGKILL while a run
trains, start a new server on the same database, reopen: the kept run is there and the killed
one is marked interrupted, with its rerun. A second browser never sees the first one's runs,
and no Share link holds the workspace key.
"""
import os
import signal
import tempfile

import pytest

from conftest import ROOT, _require_browser, idle
from core.words import sections
from deploy.classroom import free_port, start_app, wait_healthy

EN, WORK = sections("en", "stocks"), sections("en", "workspace")
QUICK = "/stocks?lang=en&stocks_epochs=5"


@pytest.fixture(scope="module")
def data_dir():
    _require_browser()
    with tempfile.TemporaryDirectory(prefix="playground-browser-db-") as folder:
        yield folder


def _server(data_dir: str):
    port = free_port()
    env = {**os.environ, "PLAYGROUND_DATA_DIR": data_dir}
    env.pop("PLAYGROUND_DATABASE_URL", None)
    process = start_app(port, env, warm=False)
    base = f"http://127.0.0.1:{port}"
    assert wait_healthy(base, process=process), "the app did not start"
    return process, base


def _shot(page, name: str) -> None:
    (ROOT / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "artifacts" / name), full_page=True)


def _open(page, url: str) -> None:
    page.goto(url, timeout=120_000)
    page.get_by_role("button", name=EN["train"], exact=True).wait_for(timeout=120_000)
    idle(page)


def _tables(page):
    """The kept run's results table (the one with the baselines): there once a run was kept."""
    return page.locator("[data-testid='stTable'], [data-testid='stDataFrame']").filter(has_text=EN["series_naive"])


def _results(page) -> str:
    table = _tables(page).first
    table.wait_for(timeout=120_000)
    return table.inner_text()


def _key(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == "playground_ws")


def test_runs_survive_a_reload_and_a_killed_server_and_stay_private(browser, data_dir):
    process, base = _server(data_dir)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _open(page, base + QUICK)
        page.get_by_role("button", name=EN["train"], exact=True).click()
        page.wait_for_timeout(1_000)
        idle(page)
        before = _results(page)
        key = _key(context)
        assert len(key) >= 43 and key not in page.url

        page.reload()  # what a learner does without thinking: the run must not go
        _open(page, page.url)
        assert _results(page) == before

        # The Share box's link and the hand-in report hold settings, never the workspace key.
        page.locator("[data-testid='stSidebar']").get_by_role("button", name=sections("en", "share")["button"]).click()
        share_box = page.locator("[data-testid='stPopoverBody']")
        share_box.wait_for(timeout=30_000)
        assert "stocks_epochs=5" in share_box.inner_text() and key not in share_box.inner_text()
        page.keyboard.press("Escape")

        # The sidebar's "My work": the personal link (shown only on request) holds the key.
        page.locator("[data-testid='stSidebar']").get_by_role("button", name=WORK["button"]).click()
        work_box = page.locator("[data-testid='stPopoverBody']")
        work_box.get_by_text(WORK["show_link"]).click()
        idle(page)
        assert f"ws={key}" in work_box.inner_text()
        _shot(page, "workspace_my_work.png")
        page.keyboard.press("Escape")

        # Another browser (a classmate on the same server) sees none of it.
        other = browser.new_context(viewport={"width": 1400, "height": 1000})
        stranger = other.new_page()
        _open(stranger, base + QUICK)
        assert _tables(stranger).count() == 0
        assert _key(other) != key
        stranger.goto(base + "/stocks?lang=en&ws=forged-" + "x" * 40, timeout=120_000)  # a guessed key
        stranger.get_by_role("button", name=EN["train"], exact=True).wait_for(timeout=120_000)
        idle(stranger)
        assert _tables(stranger).count() == 0 and "ws=" not in stranger.url
        other.close()

        # A long run, and the server dies under it.
        _open(page, base + "/stocks?lang=en&stocks_epochs=300")
        confirm = page.get_by_text("Yes, I want to wait")
        if confirm.count():
            confirm.click()
            idle(page)
        page.get_by_role("button", name=EN["train"], exact=True).click()
        page.get_by_role("button", name=sections("en", "common")["stop"].strip()).wait_for(timeout=60_000)
        page.wait_for_timeout(2_000)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

        process, base = _server(data_dir)  # a new server on the same database
        _open(page, base + QUICK)
        assert _results(page) == before
        interrupted = page.get_by_text("was still training when the server stopped")
        interrupted.wait_for(timeout=30_000)
        assert page.get_by_role("button", name=WORK["rerun"]).count() == 1
        _shot(page, "workspace_interrupted.png")

        # Korean: the same workspace, its words in Korean.
        ko = sections("ko", "workspace")
        page.goto(base + "/stocks?lang=ko", timeout=120_000)
        page.get_by_role("button", name=ko["rerun"]).wait_for(timeout=120_000)
        idle(page)
        page.locator("[data-testid='stSidebar']").get_by_role("button", name=ko["button"]).click()
        page.locator("[data-testid='stPopoverBody']").get_by_text(ko["link_header"].strip("*")).wait_for()
        _shot(page, "workspace_ko.png")
    finally:
        context.close()
        process.terminate()
        process.wait(timeout=30)


def _replica(app: dict, name: str) -> str:
    return app["replica"].format(name=name).replace("**", "")  # as the sidebar shows it, bold drawn


def test_a_killed_replica_moves_its_learner_to_another_with_their_runs(browser):
    """Two replicas behind HAProxy on one PostgreSQL (`run.py classroom --database`): kill the
    replica a learner trained on; HAProxy moves them, and their kept run is there."""
    from postgres import require_postgres

    from deploy.classroom import Classroom
    from deploy.postgres import throwaway_postgres

    require_postgres()
    app = sections("en", "app")
    with throwaway_postgres() as server, Classroom(2, database=server.create_database("class")) as classroom:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            _open(page, classroom.url + QUICK)
            page.get_by_role("button", name=EN["train"], exact=True).click()
            page.wait_for_timeout(1_000)
            idle(page)
            before = _results(page)
            sidebar = page.locator("[data-testid='stSidebar']")
            first = next(name for name in ("r1", "r2") if _replica(app, name) in sidebar.inner_text())
            os.kill(classroom.processes[int(first[1]) - 1].pid, signal.SIGKILL)
            page.wait_for_timeout(8_000)  # HAProxy's health check marks it down (every 2 s, three misses)
            _open(page, classroom.url + QUICK)
            second = "r2" if first == "r1" else "r1"
            assert _replica(app, second) in page.locator("[data-testid='stSidebar']").inner_text()
            assert _results(page) == before
        finally:
            context.close()
