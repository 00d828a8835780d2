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


def test_deep_links_on_a_fresh_server_open_their_page(page):
    """A first visit straight to a page URL must not show Streamlit's "Page not found"."""
    from conftest import serve_app

    with serve_app() as url:
        for path, heading in [("ann", "ANN on MNIST"), ("cnn", "CNN")]:
            page.goto(f"{url}/{path}", wait_until="domcontentloaded")
            page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
            page.wait_for_timeout(6_000)  # the dialog, when there is one, comes after the page
            assert page.get_by_text("Page not found").count() == 0, path
            assert page.locator("[data-testid='stException']").count() == 0, path
