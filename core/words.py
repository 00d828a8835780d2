"""What core tells the learner, without the words: a content section and the values filling it.

Core never holds a sentence in a learner's language; the page turns Words into text with
ui.content.say, in the session's language.
"""
from typing import NamedTuple


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
