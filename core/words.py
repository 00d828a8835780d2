"""What core tells the learner, without the words: a content section and the values filling it.

Core never holds a sentence in a learner's language; the page turns Words into text with
ui.content.say, in the session's language. The content files live in content/<language>/
<page>.md, cut into sections by `[[name]]` lines; `sections` reads one.
"""
import functools
import re
from pathlib import Path
from typing import NamedTuple

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
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


class Words(NamedTuple):
    """A content section ("stocks.no_prices") and the values that fill it; a value may itself
    be Words (a reason inside a message)."""
    key: str
    values: dict


def words(key: str, **values) -> Words:
    return Words(key, values)


class LearnerError(ValueError):
    """Something the learner asked for that cannot be done; `words` tells them why."""

    def __init__(self, key: str, **values):
        self.words = Words(key, values)
        super().__init__(f"{key} {values}" if values else key)


def english(said: Words) -> str:
    """The English text of `said`, for logs, tests and the bench (pages use ui.content.say)."""
    page, _, name = said.key.partition(".")
    values = {k: english(v) if isinstance(v, Words) else v for k, v in said.values.items()}
    return sections("en", page)[name].format(**values)
