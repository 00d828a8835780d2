"""Real browser: the Home page opens in headless Chromium with its title and no error."""
from conftest import ROOT


def test_home_in_chromium(streamlit_url, page):
    page.goto(streamlit_url, wait_until="domcontentloaded")
    page.get_by_role("heading", name="Deep Learning Playground").wait_for(timeout=60_000)
    page.get_by_text("The learning path").wait_for(timeout=30_000)
    page.get_by_text("Training device").first.wait_for(timeout=30_000)
    page.get_by_text("MNIST (60,000 train").wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    (ROOT / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "artifacts" / "home.png"), full_page=True)
