"""What core tells the learner, without the words: a content section and the values filling it.

Core never holds a sentence in a learner's language; the page turns Words into text with
ui.content.say, in the session's language. The content files live in content/<language>/
<page>.md, cut into sections by `[[name]]` lines; `sections` reads one, `fill` fills one.
"""
import functools
import re
import string
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
    return fill(sections("en", page)[name], values)


# Korean particles after a placeholder. A fixed particle is wrong for some values ({lr:g}은 is
# right for 1 and 0.1, read 일, but not for 2 or 0.02, read 이: 2는), so a content file writes the
# particle in the placeholder, after a "|" at the end of its format spec, in either of its forms:
#     {lr:g|은}  -> 0.1은, 2는        {model:|이} -> LSTM이, GRU가        {after:.6g|로} -> 0.5로, 0.3으로
#     {reader:|을} -> CNN을, MLP를    {ann:.2f|와} -> 57.20과, 58.17과    (으)로 goes by 로 or 으로
# The particle follows the value's last sound as Korean reads it aloud: a number by its last digit
# or unit (1 일, 2 이, 10 십, 1,000 천, 0.02 이), Hangul by its final consonant, Latin letters by
# their Korean names (LSTM 엠, GRU 유) or a word's ending (Adam 아담, ResNet 레즈넷).
_PARTICLES = {"은": "은는", "는": "은는", "이": "이가", "가": "이가", "을": "을를", "를": "을를",
              "과": "과와", "와": "과와"}  # after a final consonant, after a vowel; 으로/로 below
_RIEUL, _UNKNOWN = 8, -1  # final-consonant numbers as Unicode orders them (ㄹ = 8); 0 = no final consonant
_DIGIT_FINAL = (21, 8, 0, 16, 0, 0, 1, 8, 8, 0)  # 영 일 이 삼 사 오 육 칠 팔 구
_UNIT_FINAL = ((16, 21), (12, 0), (8, 1), (4, 4), (3, 4), (2, 1), (1, 17))  # 경 조 억 만 천 백 십 by zeros
_LETTER_FINAL = {"l": 8, "m": 16, "n": 4, "r": 8}  # 엘 엠 엔 알; every other letter's name ends in a vowel
_WORD_FINAL = (("ng", 21), ("net", 19), ("m", 16), ("n", 4), ("l", 8), ("k", 1), ("p", 17),
               ("b", 17))  # Adam 아담, ResNet 레즈넷, RMSprop 알엠에스프롭; other endings (Sigmoid) a vowel
_SILENT_END = " \t)]}>\"'`*_.,!?:;”’"  # closing marks and spaces are not read aloud


def _final(text: str) -> int:
    """The final consonant of `text`'s last sound as Korean reads it (0 = none, -1 = unknown)."""
    gloss = re.search(r"\s*\([^()]*\)$", text)  # 셀 상태(cell state)를: the particle follows the word
    text = (text[:gloss.start()] if gloss and gloss.start() else text).rstrip(_SILENT_END)
    if not text:
        return _UNKNOWN
    last = text[-1]
    if "가" <= last <= "힣":
        return (ord(last) - ord("가")) % 28
    if last == "%" or text.endswith("%p"):  # 퍼센트, 퍼센트포인트
        return 0
    if last.isdigit():
        number = re.search(r"(\d[\d,]*)(\.\d+)?$", text)
        if number.group(2):  # a decimal is read digit by digit after the point: 0.02 -> 영 점 영이
            return _DIGIT_FINAL[int(number.group(2)[-1])]
        digits = number.group(1).replace(",", "")
        zeros = len(digits) - len(digits.rstrip("0"))
        if zeros == len(digits) or zeros == 0:
            return _DIGIT_FINAL[int(digits[-1])]
        return next(final for least, final in _UNIT_FINAL if zeros >= least)
    word = re.search(r"[A-Za-z]+$", text)
    if word is None:
        return _UNKNOWN
    word = word.group()
    if last.isupper() or len(word) == 1:  # LSTM, AdamW, x: the letter's name
        return _LETTER_FINAL.get(last.lower(), 0)
    return next((final for end, final in _WORD_FINAL if word.lower().endswith(end)), 0)


def particle(word: str, marker: str) -> str:
    """The form of particle `marker` (은/는, 이/가, 을/를, 과/와, 으로/로) that follows `word`;
    both forms, as in 은(는), when its last sound cannot be told."""
    final = _final(word)
    if marker in ("으로", "로"):
        return "(으)로" if final == _UNKNOWN else "로" if final in (0, _RIEUL) else "으로"
    consonant, vowel = _PARTICLES[marker]
    return f"{consonant}({vowel})" if final == _UNKNOWN else vowel if final == 0 else consonant


class _Filler(string.Formatter):
    """str.format, plus a particle after the value for a spec ending in "|<particle>"."""

    def format_field(self, value, format_spec: str) -> str:
        spec, bar, marker = format_spec.rpartition("|")
        if not bar:
            return format(value, format_spec)
        text = format(value, spec)
        return text + particle(text, marker)


_FILLER = _Filler()


def fill(text: str, values: dict) -> str:
    """A section's text with its placeholders filled, by str.format rules plus particles ({x:g|은})."""
    return _FILLER.vformat(text, (), values)
