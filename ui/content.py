"""The words on the pages: sections of content/<language>/<page>.md, filled with live numbers.

A content file is Markdown cut into named sections by marker lines:

    [[intro]]
    The course notebook's **SimpleANN** trains on {n_train:,} images.

`t("ann.intro", n_train=60000)` returns that section of content/<lang>/ann.md with the
placeholders filled by `str.format` rules (`{name}`, `{name:,.1f}`; write `{{` for a brace).
A Korean particle after a placeholder goes inside it, after a "|" that ends the format spec:
`{lr:g|은}` gives "0.1은" but "2는", `{model:|이}` "LSTM이" but "GRU가" (은/는, 이/가, 을/를,
과/와, 으로/로: either form; core.words.particle picks by the value's last sound).
Each language is a folder (content/en, content/ko) with the same files, sections and
placeholders (tests/test_content.py holds them to that). A section missing in Korean falls
back to English, and that test fails; a section missing in English, or a placeholder value
missing anywhere, raises.
"""
import re
from collections.abc import Callable

import streamlit as st

from core.words import Words, fill, sections

LANGUAGES = {"ko": "한국어", "en": "English"}  # code -> its own name, as the switch shows it
DEFAULT_LANGUAGE = "en"  # also the language of a browser that asks for neither


def language() -> str:
    """The session's language: the sidebar's choice (see language_switch)."""
    lang = st.session_state.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def language_switch() -> str:
    """The sidebar's 한국어 / English switch; call it before anything else is drawn.

    The choice is kept in the URL (?lang=ko), written on every run (a page change clears the
    query parameters), so a shared link opens in the same language. A link's or an edited
    URL's ?lang= wins; a first visit without one follows the browser: Korean → 한국어,
    anything else → English.
    """
    state, asked = st.session_state, st.query_params.get("lang")
    # A link's ?lang= wins when it changed, or when the session lost its choice (st.switch_page,
    # e.g. a lesson's Open button, starts the new page without the old widgets' values).
    if asked in LANGUAGES and (asked != state.get("_lang_in_url") or state.get("lang") not in LANGUAGES):
        state["lang"] = asked
    elif state.get("lang") not in LANGUAGES:
        state["lang"] = "ko" if (st.context.locale or "").lower().startswith("ko") else DEFAULT_LANGUAGE
    with st.sidebar:
        st.segmented_control("🌐", list(LANGUAGES), format_func=LANGUAGES.get, key="lang", required=True,
                             label_visibility="collapsed")
    if st.query_params.get("lang") != language():  # written only when it changes: each write is a message
        st.query_params["lang"] = language()
    state["_lang_in_url"] = language()
    return language()


def say(words: Words) -> str:
    """core.words.Words (a section and its values, perhaps nested) as text in the session's language."""
    values = {k: say(v) if isinstance(v, Words) else v for k, v in words.values.items()}
    return t(words.key, **values)


def t(key: str, **values) -> str:
    """The text of `key` ("page.section") in the session's language, placeholders filled.

    A section missing in the session's language falls back to English (the test that both
    languages have the same sections fails on it); missing in English too, it raises.
    """
    page, _, name = key.partition(".")
    text = _lookup(language(), page, name)
    if text is None and language() != DEFAULT_LANGUAGE:
        text = _lookup(DEFAULT_LANGUAGE, page, name)
    if text is None:
        raise KeyError(f"no section [[{name}]] in content/{DEFAULT_LANGUAGE}/{page}.md")
    return fill(text, values) if values or "{" in text else text


def _lookup(lang: str, page: str, name: str) -> str | None:
    try:
        return sections(lang, page).get(name)
    except FileNotFoundError:
        return None


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")


def escape(text) -> str:
    """Text a person typed (a learner's name, a class's name), safe inside Markdown: every
    character Markdown could read as syntax is backslash-escaped, so it shows as typed."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def labels(section: str, options, name: Callable[[object], str] | None = None) -> Callable[[object], str]:
    """A widget's format_func: option -> t(f"{section}_{option}") (or `name(option)`).

    The words are looked up now, while the page runs: Streamlit's AppTest calls a format_func
    again outside the script run, where the session's language is unknown.
    """
    return {option: name(option) if name else t(f"{section}_{option}") for option in options}.get


def show_messages(*messages: tuple[str, str] | None, where=st) -> None:
    """Messages as (level, text), e.g. ("warning", t(...)), drawn with st.<level>; None is skipped."""
    for message in filter(None, messages):
        getattr(where, message[0])(message[1])
