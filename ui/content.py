"""The words on the pages: sections of content/<language>/<page>.md, filled with live numbers.

A content file is Markdown cut into named sections by marker lines:

    [[intro]]
    The course notebook's **SimpleANN** trains on {n_train:,} images.

`t("ann.intro", n_train=60000)` returns that section of content/<lang>/ann.md with the
placeholders filled by `str.format` rules (`{name}`, `{name:,.1f}`; write `{{` for a brace).
A missing file, section or placeholder value raises: a missing key is a failing test, never
a silent fallback. A second language is a second folder with the same files and sections.
"""
import functools
import re
from pathlib import Path

import streamlit as st

from core.words import Words

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
DEFAULT_LANGUAGE = "en"
_MARKER = re.compile(r"^\[\[([A-Za-z0-9_.]+)\]\][ \t]*$", re.MULTILINE)


@functools.cache
def sections(language: str, page: str) -> dict[str, str]:
    """Every section of content/<language>/<page>.md, by name."""
    text = (CONTENT_DIR / language / f"{page}.md").read_text(encoding="utf-8")
    parts = _MARKER.split(text)  # [before, name1, body1, name2, body2, ...]
    found: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in found:
            raise ValueError(f"content/{language}/{page}.md: section [[{name}]] appears twice")
        found[name] = body.strip()
    return found


def language() -> str:
    """The session's language (the sidebar's choice once there are two)."""
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def say(words: Words) -> str:
    """core.words.Words (a section and its values, perhaps nested) as text in the session's language."""
    values = {k: say(v) if isinstance(v, Words) else v for k, v in words.values.items()}
    return t(words.key, **values)


def t(key: str, **values) -> str:
    """The text of `key` ("page.section") in the session's language, placeholders filled."""
    page, _, name = key.partition(".")
    try:
        text = sections(language(), page)[name]
    except KeyError:
        raise KeyError(f"no section [[{name}]] in content/{language()}/{page}.md") from None
    return text.format(**values) if values or "{" in text else text


def show_messages(*messages: tuple[str, str] | None, where=st) -> None:
    """Messages as (level, text), e.g. ("warning", t(...)), drawn with st.<level>; None is skipped."""
    for message in filter(None, messages):
        getattr(where, message[0])(message[1])
