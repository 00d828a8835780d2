"""Real Chromium: a digit drawn with the mouse on the ANN page's canvas is read by both readers, side by side."""

READERS = ("CNN (default)", "Course MLP")  # content/en/digits.md reader_cnn, reader_mlp


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


def test_drawing_a_digit_shows_both_readers_answers(streamlit_url, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"{streamlit_url}/ann?lang=en", timeout=120_000)
    # streamlit-drawable-canvas 0.13 renders fabric.js canvases inside the component's
    # shadow root in the main document (no iframe); Playwright's CSS locators pierce it.
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(state="visible", timeout=180_000)
    answers = {name: page.locator('[data-testid="stMetric"]').filter(has_text=name) for name in READERS}
    assert all(a.count() == 0 for a in answers.values())  # an empty canvas predicts nothing
    # fabric.js attaches its mouse handlers a moment after the canvas appears: if the
    # first stroke was too early, draw once more.
    page.wait_for_timeout(2_000)
    for _ in range(3):
        _draw_seven(page, canvas)
        try:
            answers[READERS[0]].first.wait_for(state="visible", timeout=45_000)
            break
        except PlaywrightTimeout:
            continue
    read = {}
    for name, answer in answers.items():
        answer.first.wait_for(state="visible", timeout=30_000)
        text = answer.first.inner_text()
        read[name] = text.split(name, 1)[1].split()[0]
        assert "confident" in text, text
    assert read["CNN (default)"] == "7", read  # the default reader reads the drawn 7
    assert read["Course MLP"] in "0123456789" and len(read["Course MLP"]) == 1, read
