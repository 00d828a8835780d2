"""Real Chromium: a digit drawn with the mouse on the ANN page's canvas yields a "Prediction" metric."""


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


def test_drawing_a_digit_shows_a_prediction(streamlit_url, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"{streamlit_url}/ann", timeout=120_000)
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
