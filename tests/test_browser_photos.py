"""Real Chromium: a learner names two classes on the ResNet page, uploads several photos of each at
once (generated circles and squares), trains, then reads a new photo and sees its probabilities,
in English and in Korean. Screenshots of the subsection go to /tmp/shots/photos_{en,ko}.png."""
from pathlib import Path

import numpy as np
import pytest
from test_photos import shape_png, shapes

from conftest import idle
from core.words import fill, sections

SHOTS = Path("/tmp/shots")


def _pngs(items: list[bytes], stem: str) -> list[dict]:
    return [{"name": f"{stem}{i}.png", "mimeType": "image/png", "buffer": raw} for i, raw in enumerate(items)]


def _type(page, key: str, text: str) -> None:
    field = page.locator(f".st-key-{key} input")
    field.fill(text)
    field.press("Enter")  # Streamlit takes a text input's value on Enter (or when it loses focus)
    idle(page)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_own_photos_are_uploaded_trained_and_a_new_one_is_read(streamlit_url, page, lang):
    from playwright.sync_api import expect  # here: without playwright the fixtures skip the test first

    words, models = sections(lang, "photos"), sections(lang, "transfer")
    page.goto(f"{streamlit_url}/resnet?lang={lang}", timeout=120_000)
    section = page.locator(".st-key-photos_section")
    section.locator(".st-key-photos_files_2").wait_for(timeout=180_000)
    idle(page)
    made = shapes(30, seed=5)
    _type(page, "photos_name_1", "circle")
    _type(page, "photos_name_2", "square")
    for number, kind in ((1, "circle"), (2, "square")):
        section.locator(f".st-key-photos_files_{number} input[type='file']").set_input_files(
            files=_pngs(made[kind], kind))
        idle(page)
    section.get_by_text(fill(words["count"], {"count": 30})).nth(1).wait_for(timeout=60_000)  # both classes read
    train = section.locator(".st-key-photos_train button")
    expect(train).to_be_enabled(timeout=60_000)  # once the rerun after the last upload is drawn
    train.click()
    metric = section.locator("[data-testid='stMetric']").filter(has_text=models["model_finetune"]).first
    metric.wait_for(timeout=240_000)
    idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert metric.locator("[data-testid='stMetricValue']").inner_text().endswith("%")

    new = shape_png("circle", np.random.default_rng(42))
    section.locator(".st-key-photos_new input[type='file']").set_input_files(
        files=[{"name": "new.png", "mimeType": "image/png", "buffer": new}])
    answer = section.locator("[data-testid='stMarkdown']").filter(has_text="%").filter(
        has_text=models["model_finetune"]).last
    answer.wait_for(timeout=60_000)
    idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert "circle" in answer.inner_text() or "square" in answer.inner_text()
    section.locator("[data-testid='stDataFrame']").last.wait_for(timeout=30_000)  # the probabilities
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The whole subsection in one picture: a viewport as tall as it, so that Streamlit's scrolling
    # main block paints all of it (an element taller than the viewport comes out blank in part).
    height = int(section.bounding_box()["height"])
    page.set_viewport_size({"width": 1400, "height": min(height + 400, 10_000)})
    idle(page)
    section.screenshot(path=str(SHOTS / f"photos_{lang}.png"))
