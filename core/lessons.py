"""The lessons catalog (content/lessons.toml) and the plain checks behind its challenges.

A lesson is a shared setup with a question: the page it opens, the settings it sets (the same
URL texts a 🔗 Share link holds), the settings a teacher's focus mode keeps in view, and
perhaps a challenge. A challenge names the runs it reads (a page's RunStore) and what one run
must show, as conditions on a run record: a flat dict of that run's settings and results
(ui.lessons.record builds them; tests build them by hand).

Texts live in content/<lang>/lessons.md: <id>_title, <id>_question, <id>_look, <id>_why for
a lesson, and challenge_<id> (the goal) and challenge_<id>_reach (how reachable it is).
"""
import math
import operator
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOG = Path(__file__).resolve().parent.parent / "content" / "lessons.toml"
TOPICS = ("perceptron", "ann", "cnn", "resnet", "rnn", "stocks")  # the Lessons page's order
OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Lesson:
    id: str
    page: str                       # one of TOPICS: the page the lesson opens
    settings: dict                  # widget key -> URL text (what the link sets)
    focus: tuple[str, ...] = ()     # settings a focused class also sees, besides `settings`
    challenge: str | None = None    # a key of challenges()
    section: str | None = None      # the anchor of the page's header the lesson is about


@dataclass(frozen=True)
class Condition:
    field: str                      # a run record's field
    op: str                         # one of OPERATORS
    value: object = None            # compared with this…
    than: str | None = None         # …or with another field of the same record

    def holds(self, record: dict) -> bool:
        got = record.get(self.field)
        want = record.get(self.than) if self.than else self.value
        if got is None or want is None or _nan(got) or _nan(want):
            return False
        try:
            return bool(OPERATORS[self.op](got, want))
        except TypeError:  # a text compared with a number: not met
            return False


@dataclass(frozen=True)
class Challenge:
    id: str
    runs: str                       # the RunStore (session_state key) whose runs it checks
    need: tuple[Condition, ...]     # all must hold for one run


@dataclass(frozen=True)
class Verdict:
    met: bool
    record: dict | None             # the first run that met it, else the closest try
    unmet: tuple[Condition, ...]    # for the closest try: what it still misses


def _nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


@cache
def catalog() -> tuple[dict[str, Lesson], dict[str, Challenge]]:
    """Every lesson and challenge, by id, in the catalog's order (checked as it is read)."""
    data = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    challenges = {}
    for cid, spec in data.get("challenges", {}).items():
        need = tuple(Condition(**c) for c in spec["need"])
        if not need or any(c.op not in OPERATORS or (c.value is None) == (c.than is None) for c in need):
            raise ValueError(f"challenge {cid}: every condition needs an operator and one of value/than")
        challenges[cid] = Challenge(cid, spec["runs"], need)
    lessons = {}
    for spec in data["lessons"]:
        lesson = Lesson(spec["id"], spec["page"], {k: _text(v) for k, v in spec.get("settings", {}).items()},
                        tuple(spec.get("focus", ())), spec.get("challenge"), spec.get("section"))
        if lesson.page not in TOPICS or lesson.id in lessons:
            raise ValueError(f"lesson {lesson.id}: unknown page {lesson.page!r} or a second lesson with this id")
        if lesson.challenge is not None and lesson.challenge not in challenges:
            raise ValueError(f"lesson {lesson.id}: unknown challenge {lesson.challenge!r}")
        lessons[lesson.id] = lesson
    return lessons, challenges


def _text(value) -> str:
    """A catalog value as the URL writes it (true/false, numbers as Python prints them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def lessons() -> dict[str, Lesson]:
    return catalog()[0]


def challenges() -> dict[str, Challenge]:
    return catalog()[1]


def by_topic() -> dict[str, list[Lesson]]:
    """The lessons of each topic, topics in course order."""
    return {topic: [lesson for lesson in lessons().values() if lesson.page == topic] for topic in TOPICS}


def check(challenge: Challenge, record: dict) -> tuple[Condition, ...]:
    """The conditions one run record misses (empty: the run meets the challenge)."""
    return tuple(c for c in challenge.need if not c.holds(record))


def verdict(challenge: Challenge, records: list[dict]) -> Verdict:
    """The first run that meets the challenge; else the run that misses the fewest conditions
    (the latest among equals), with what it misses; else no run at all."""
    closest, missing = None, None
    for record in records:
        unmet = check(challenge, record)
        if not unmet:
            return Verdict(True, record, ())
        if missing is None or len(unmet) <= len(missing):
            closest, missing = record, unmet
    return Verdict(False, closest, missing or ())
