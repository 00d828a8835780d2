"""Real Chromium: a lesson link opens in teacher mode, trains and shows the ✓; a Share link
copied in one browser opens the same setup in another."""
import re

from conftest import ROOT, idle, slider_value
from core.words import sections


def _shot(page, name: str) -> None:
    (ROOT / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "artifacts" / name), full_page=False)


def test_a_lesson_link_in_teacher_mode_trains_and_shows_the_tick(streamlit_url, page):
    en, lesson = sections("en", "perceptron"), sections("en", "lessons")
    page.goto(f"{streamlit_url}/perceptron?lang=en&perceptron_dataset=XOR&perceptron_mlp_hidden=2"
              "&lesson=xor_hidden&focus=1", timeout=120_000)
    train = page.get_by_role("button", name=en["mlp_train"], exact=True)
    train.wait_for(timeout=120_000)
    idle(page)
    banner = page.locator(".st-key-lesson_banner")
    assert lesson["xor_hidden_question"].strip()[:40] in banner.inner_text()
    # Focus mode hides settings by Streamlit's generated st-key-<key> class (an internal): this
    # test is what notices when Streamlit renames it, since the box must exist and be hidden.
    assert page.locator(".st-key-perceptron_depth").count() == 1
    assert page.locator(".st-key-perceptron_depth").is_hidden()  # focus mode: unused settings hidden
    assert page.locator(".st-key-perceptron_mlp_hidden").is_visible()
    assert slider_value(page, en["hidden"]) == "2"
    _shot(page, "lesson_focus_before.png")
    page.get_by_text(lesson["go_to"].split("]")[0].strip("[")).click()  # down to the lesson's section
    page.wait_for_timeout(1_000)
    assert page.locator("#mlp").bounding_box()["y"] < 300
    train.click()
    page.get_by_text("Challenge met").wait_for(timeout=120_000)
    idle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    banner.scroll_into_view_if_needed()
    _shot(page, "lesson_focus_met.png")
    show_all = page.get_by_role("button", name=lesson["show_all"].split("(")[0].strip(), exact=False)
    show_all.click()
    show_all.wait_for(state="detached", timeout=60_000)
    page.locator(".st-key-perceptron_depth").wait_for(state="visible", timeout=30_000)  # all settings back
    assert "focus" not in page.url and "lesson=xor_hidden" in page.url


def test_a_link_copied_in_one_browser_opens_the_same_setup_in_another(streamlit_url, browser):
    from playwright.sync_api import expect

    ko, share = sections("ko", "perceptron"), sections("ko", "share")
    first = browser.new_context(viewport={"width": 1400, "height": 1000},
                                permissions=["clipboard-read", "clipboard-write"])
    second = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = first.new_page()
        page.goto(f"{streamlit_url}/perceptron?lang=ko", timeout=120_000)
        page.get_by_role("button", name=ko["mlp_train"], exact=True).wait_for(timeout=120_000)
        idle(page)
        for label, key, wanted in ((ko["hidden"], "ArrowRight", "5"), (ko["hidden"], "ArrowRight", "6"),
                                   (ko["depth"], "ArrowLeft", "9")):  # hidden neurons 4 -> 6, depth 10 -> 9
            slider = page.locator("[data-testid='stSlider']").filter(has_text=label)
            slider.get_by_role("slider").focus()
            page.keyboard.press(key)
            expect(slider.locator("[data-testid='stSliderThumbValue']")).to_have_text(wanted, timeout=30_000)
            idle(page)
        page.wait_for_url(re.compile("perceptron_depth=9.*perceptron_mlp_hidden=6"), timeout=30_000)  # the URL follows

        page.locator("[data-testid='stSidebar']").get_by_text(share["button"].strip()).click()
        code = page.locator("[data-testid='stPopoverBody'] [data-testid='stCode']")
        code.wait_for(timeout=30_000)
        link = code.inner_text().strip()
        code.hover()
        page.locator("[data-testid='stPopoverBody']").get_by_role("button", name="Copy to clipboard").click()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.strip() == link, (copied, link)
        assert link.startswith(streamlit_url) and "lang=ko" in link
        _shot(page, "share_popover.png")

        other = second.new_page()
        other.goto(copied.strip(), timeout=120_000)
        other.get_by_role("button", name=ko["mlp_train"], exact=True).wait_for(timeout=120_000)
        idle(other)
        assert slider_value(other, ko["hidden"]) == "6"
        assert slider_value(other, ko["depth"]) == "9"
        assert other.locator("[data-testid='stException']").count() == 0
        assert other.get_by_text("링크의 설정 중 일부는").count() == 0  # nothing in the link was ignored
        _shot(other, "share_opened_elsewhere.png")
    finally:
        first.close()
        second.close()
