"""Real Chromium: a learner uploads their own CSV (CP949, `;`-separated, decimal commas, Korean
column names) on the ANN page's regression section, sees how it was read, trains, and reads the
test figures next to the baselines, in English and in Korean. Screenshots go to /tmp/shots."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import idle
from core.words import sections

SHOTS = Path("/tmp/shots")


def _table() -> bytes:
    """What Excel writes as "CSV" on a Korean Windows with a European number format."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    frame = pd.DataFrame({"온도": x[:, 0].round(3), "습도": x[:, 1].round(3),
                          "수확량": (3 * x[:, 0] - 2 * x[:, 1] + rng.normal(scale=0.3, size=300)).round(3)})
    return frame.to_csv(index=False, sep=";", decimal=",").encode("cp949")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_an_uploaded_table_is_read_trained_and_judged(streamlit_url, page, lang):
    words = sections(lang, "regression")
    page.goto(f"{streamlit_url}/ann?lang={lang}&reg_source=own", timeout=120_000)
    uploader = page.locator(".st-key-reg_own_file")  # Streamlit's st-key-<key> class (see test_browser_share)
    uploader.wait_for(timeout=120_000)
    idle(page)
    uploader.locator("input[type='file']").set_input_files(
        files=[{"name": "수확.csv", "mimeType": "text/csv", "buffer": _table()}])
    train = page.locator(".st-key-reg_train button")
    train.wait_for(timeout=120_000)
    idle(page)
    section = page.locator("[data-testid='stMain']")
    read_as = section.locator("[data-testid='stAlert']").filter(has_text="수확.csv").first
    read_as.wait_for(timeout=60_000)
    assert "CP949" in read_as.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    read_as.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"own_table_read_{lang}.png"))
    train.click()
    rmse = page.locator("[data-testid='stMetric']").filter(has_text=words["rmse"]).first
    rmse.wait_for(timeout=180_000)
    idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert float(rmse.locator("[data-testid='stMetricValue']").inner_text()) < 1.0  # the noise is 0.3
    page.get_by_text(words["results_header"], exact=True).scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"own_table_{lang}.png"))


def test_an_uploaded_series_is_forecast_and_drawn(streamlit_url, page):
    """The stock page with a daily temperature series (unsorted, negative values, a repeated date)."""
    words = sections("en", "stocks")
    rng = np.random.default_rng(1)
    days = pd.date_range("2022-01-01", periods=300, freq="D")
    frame = pd.DataFrame({"date": days.strftime("%Y.%m.%d"),
                          "temperature": 8 * np.sin(np.arange(300) / 30) + rng.normal(size=300)})
    raw = pd.concat([frame, frame.iloc[[4]]]).sample(frac=1, random_state=0).to_csv(index=False).encode("utf-8-sig")
    page.goto(f"{streamlit_url}/stocks?lang=en&stocks_symbol=upload", timeout=120_000)
    uploader = page.locator(".st-key-stocks_own_file")
    uploader.wait_for(timeout=120_000)
    idle(page)
    uploader.locator("input[type='file']").set_input_files(
        files=[{"name": "weather.csv", "mimeType": "text/csv", "buffer": raw}])
    train = page.get_by_role("button", name=words["train"], exact=True)
    train.wait_for(timeout=120_000)
    idle(page)
    assert page.get_by_text(words["own_sorted"]).count() == 1
    train.click()
    table = page.locator("[data-testid='stDataFrame']").filter(has_text=words["series_naive"]).first
    table.wait_for(timeout=180_000)
    idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    charts = page.locator("[data-testid='stVegaLiteChart']")
    assert charts.count() >= 4  # the series, two loss curves, the test period
    charts.first.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "own_series_en.png"))
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "own_series_results_en.png"))
