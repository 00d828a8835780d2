"""The lessons catalog (content/lessons.toml): challenges, predictions, run records, figures and
each lesson's status for the teacher's view. Plain functions; the pages and the dashboard call them.

A lesson is a shared setup with a question: the page it opens, the settings it sets (the same
URL texts a 🔗 Share link holds), the settings a teacher's focus mode keeps in view, the runs it
reads (`runs`: a page's RunStore, or a computed section whose figures come from its settings
alone, no training), its headline `figure`, perhaps a challenge, and a prediction asked before
its first run. Texts live in content/<lang>/lessons.md: <id>_title, <id>_question, <id>_look,
<id>_why; <id>_predict (the prediction's question) and <id>_predict_<option> (a choice's
labels); challenge_<id> (the goal) and challenge_<id>_reach (how reachable it is).

**Figures, one contract.** Each page's core module declares what its runs show beyond their
settings, where the results are made: `FIGURES = {store: {"settings": <dataclass>, "figures":
(names…), "read": <function>}}` (`"keys"`: page widget → settings field, for a computed
section, read from its settings). stores() collects them. The figures are computed from a run's
kept results every time (never stored twice), so runs kept before a figure existed read the same.
A reader returns exactly its declared names or raises: a renamed result fails loudly, never
silently. A figure is None only where the run did not get that far (stopped, or a model that
failed before its first epoch). record(store, run) is a run as one flat dict: store, run, link,
ok, end, the settings' fields, the figures; challenges' `need` and predictions read only those.

**Progress rows the pages write** (db: `save_progress(ws, kind, item, status, detail)`, one row
per kind and item, written when it changes; the teacher's view reads them with lesson_status):

    kind          item            status        detail                            when
    "lesson"      <lesson id>     "opened"      {}                                first open, and only while
                                                                                  the lesson has no row (never
                                                                                  over "ran": no step back)
    "prediction"  <lesson id>     "answered"    {"answer": <option id | number>}  answered, before the first
                                                                                  run; locked: never rewritten
    "prediction"  <lesson id>     "compared"    compare(prediction, answer, rec)  the first run with an outcome
                                                = {"answer", "outcome", "right"}  after answering (once)
    "lesson"      <lesson id>     "ran"         run_detail(lesson, rec)           a run of lesson.runs kept
                                                = {"run", "link", "figure"}       while the lesson is open (the
                                                                                  latest); a computed lesson:
                                                                                  when its figure is shown
    "challenge"   <challenge id>  "met"/"tried" run_detail(lesson_of(id), rec)    a run of its store kept (the
                                                                                  verdict's run); a "met" row
                                                                                  is not rewritten

`rec` is record(store, run), or computed_record(lesson) for a computed lesson (Store.computed).
"""
import dataclasses
import datetime as dt
import math
import operator
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from core.engine import FAILED

CATALOG = Path(__file__).resolve().parent.parent / "content" / "lessons.toml"
TOPICS = ("perceptron", "ann", "cnn", "resnet", "rnn", "stocks")  # the Lessons page's order
OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
RECORD_FIELDS = ("store", "run", "link", "ok", "end")  # every record's fields besides settings and figures
KINDS = ("choice", "number")  # a prediction's kinds
STATUSES = ("not_opened", "opened", "predicted", "ran", "met")  # a lesson's status, in the order it moves


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

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field, self.than) if self.than else (self.field,)


@dataclass(frozen=True)
class Prediction:
    """A question asked before a lesson's first run: a choice among options, or a number."""
    lesson: str                     # the lesson's id (its words: <lesson>_predict, <lesson>_predict_<option>)
    kind: str                       # "choice" or "number"
    options: tuple[str, ...] = ()   # choice: option ids, in the order shown
    when: dict | None = None        # choice: option id -> conditions on the record (all hold: the run's
    #                                 answer); one option may have none: the answer when no other's hold
    figure: str | None = None       # number: the record's figure the run gives
    unit: str = ""                  # number: its unit, as shown after the box ("%")
    min: float = 0.0                # number: the box's range and step
    max: float = 100.0
    step: float = 1.0
    tolerance: float = 0.0          # number: right within ± this (the figure's unit)…
    relative: float = 0.0           # …or within ± this fraction of the outcome, whichever is wider

    @property
    def fields(self) -> tuple[str, ...]:
        """The record's fields the outcome reads."""
        if self.kind == "number":
            return (self.figure,)
        return tuple(dict.fromkeys(f for conditions in self.when.values() for c in conditions for f in c.fields))


@dataclass(frozen=True)
class Lesson:
    id: str
    page: str                       # one of TOPICS: the page the lesson opens
    settings: dict                  # widget key -> URL text (what the link sets)
    focus: tuple[str, ...] = ()     # settings a focused class also sees, besides `settings`
    challenge: str | None = None    # a key of challenges()
    section: str | None = None      # the anchor of the page's header the lesson is about
    runs: str | None = None         # a key of stores(): the runs (or computed section) the lesson reads
    figure: str | None = None       # the headline figure of its record (the teacher's view shows it)
    predict: Prediction | None = None  # the question asked before its first run


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


@dataclass(frozen=True)
class Store:
    """What one store's runs (or one computed section) show: core.<page>.FIGURES[name]."""
    name: str
    settings: type                  # the dataclass whose fields a record holds
    figures: tuple[str, ...]        # the figures declared beyond the settings
    read: Callable                  # run -> {figure: value}; settings -> {…} for a computed section
    keys: dict | None = None        # a computed section: page widget key -> settings field

    @property
    def computed(self) -> bool:
        return self.keys is not None

    @property
    def fields(self) -> frozenset[str]:
        """Every field a record of this store holds."""
        return frozenset((*RECORD_FIELDS, *(f.name for f in dataclasses.fields(self.settings)), *self.figures))


@dataclass(frozen=True)
class Cell:
    """One learner × one lesson, for the teacher's view (lesson_status)."""
    status: str                     # one of STATUSES
    figure: object = None           # the lesson's figure from the run behind "ran" / "met"
    time: dt.datetime | None = None  # when the status was reached (its progress row's time)
    late: bool = False              # that time is after the due date
    overdue: bool = False           # not met, and the due date has passed
    answer: object = None           # the prediction, once answered
    outcome: object = None          # what the first run after it gave, once compared
    right: bool | None = None       # the prediction judged against the outcome (None: not yet)


def _nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


# --- The catalog ----------------------------------------------------------------------------------

@cache
def catalog() -> tuple[dict[str, Lesson], dict[str, Challenge]]:
    """Every lesson and challenge, by id, in the catalog's order (checked as it is read;
    check_fields() checks the fields they name against the stores' declarations)."""
    data = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    challenges = {cid: Challenge(cid, spec["runs"], _conditions(spec["need"], f"challenge {cid}"))
                  for cid, spec in data.get("challenges", {}).items()}
    lessons = {}
    for spec in data["lessons"]:
        lesson_id = spec["id"]
        lesson = Lesson(lesson_id, spec["page"], {k: _text(v) for k, v in spec.get("settings", {}).items()},
                        tuple(spec.get("focus", ())), spec.get("challenge"), spec.get("section"),
                        spec.get("runs"), spec.get("figure"),
                        _prediction(lesson_id, spec["predict"]) if "predict" in spec else None)
        if lesson.page not in TOPICS or lesson.id in lessons:
            raise ValueError(f"lesson {lesson.id}: unknown page {lesson.page!r} or a second lesson with this id")
        if lesson.challenge is not None and lesson.challenge not in challenges:
            raise ValueError(f"lesson {lesson.id}: unknown challenge {lesson.challenge!r}")
        if not lesson.runs or not lesson.figure:
            raise ValueError(f"lesson {lesson.id}: name the runs it reads (runs) and its headline figure (figure)")
        if lesson.challenge is not None and challenges[lesson.challenge].runs != lesson.runs:
            raise ValueError(f"lesson {lesson.id}: its challenge reads other runs than the lesson")
        lessons[lesson.id] = lesson
    return lessons, challenges


def _conditions(specs: list[dict], where: str) -> tuple[Condition, ...]:
    need = tuple(Condition(**c) for c in specs)
    if not need or any(c.op not in OPERATORS or (c.value is None) == (c.than is None) for c in need):
        raise ValueError(f"{where}: every condition needs an operator and one of value/than")
    return need


def _prediction(lesson_id: str, spec: dict) -> Prediction:
    where, spec = f"lesson {lesson_id}: predict", dict(spec)
    kind = spec.pop("kind", None)
    if kind == "choice":
        options = tuple(spec.pop("options", ()))
        when = {option: _conditions(c, f"{where}.when.{option}") for option, c in spec.pop("when", {}).items()}
        if len(options) < 2 or len(set(options)) != len(options) or not set(when) <= set(options):
            raise ValueError(f"{where}: a choice needs two or more distinct options, and rules only for them")
        if len(options) - len(when) > 1:
            raise ValueError(f"{where}: at most one option without a rule (the answer when no rule holds)")
        prediction = Prediction(lesson_id, kind, options, when)
    elif kind == "number":
        prediction = Prediction(lesson_id, kind, figure=spec.pop("figure", None), unit=spec.pop("unit", ""),
                                **{k: float(spec.pop(k)) for k in ("min", "max", "step", "tolerance", "relative")
                                   if k in spec})
        if not prediction.figure or not prediction.min < prediction.max or prediction.step <= 0 \
                or prediction.tolerance < 0 or prediction.relative < 0:
            raise ValueError(f"{where}: a number needs its figure, min < max, a step > 0 and tolerances ≥ 0")
    else:
        raise ValueError(f"{where}: kind must be one of {KINDS}")
    if spec:
        raise ValueError(f"{where}: unknown keys {sorted(spec)}")
    return prediction


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


def lesson_of(challenge_id: str) -> Lesson:
    """The lesson that carries a challenge."""
    return next(lesson for lesson in lessons().values() if lesson.challenge == challenge_id)


# --- Figures and run records ---------------------------------------------------------------------

@cache
def stores() -> dict[str, Store]:
    """Every store's (and computed section's) declaration, from the pages' core modules."""
    from core import ann, cnn, perceptron, resnet, rnn, stocks  # their models: loaded when first asked
    found = {}
    for module in (perceptron, ann, cnn, resnet, rnn, stocks):
        for name, spec in module.FIGURES.items():
            if name in found:
                raise ValueError(f"store {name} is declared twice")
            found[name] = store = Store(name, **spec)
            if clash := set(store.figures) & {*RECORD_FIELDS, *(f.name for f in dataclasses.fields(store.settings))}:
                raise ValueError(f"store {name}: figures {sorted(clash)} are named like its record's other fields")
    return found


def check_fields() -> list[str]:
    """What the catalog names that its store does not hold (empty: all fine): a lesson's runs or
    figure, a prediction's fields, a challenge's runs or fields."""
    known, problems = stores(), []

    def check(store: str, names, where: str) -> None:
        if store not in known:
            problems.append(f"{where}: no store {store!r} declares figures")
        else:
            problems.extend(f"{where}: {name!r} is neither a setting of {known[store].settings.__name__} nor "
                            f"a figure {store} declares" for name in names if name not in known[store].fields)

    for challenge in challenges().values():
        check(challenge.runs, [f for c in challenge.need for f in c.fields], f"challenge {challenge.id}")
    for lesson in lessons().values():
        check(lesson.runs, [lesson.figure, *(lesson.predict.fields if lesson.predict else ())], f"lesson {lesson.id}")
        if lesson.runs in known and known[lesson.runs].computed:
            problems.extend(f"lesson {lesson.id}: setting {key} is not one of {lesson.runs}'s keys"
                            for key in lesson.settings if key not in known[lesson.runs].keys)
    return problems


def figures(store: str, run) -> dict:
    """The figures `store` declares, read from one run (anything with settings, history, end,
    results: ui.runs.Run). Raises if the reader breaks the declaration (a renamed result)."""
    spec = stores()[store]
    got = spec.read(run.settings if spec.computed else run)
    if set(got) != set(spec.figures):
        raise ValueError(f"{store}: read {sorted(got)}, but declares {sorted(spec.figures)}")
    return got


def record(store: str, run) -> dict:
    """A run as one flat record of plain JSON values (non-finite floats become None): store, run
    (its name), link, ok (it finished and did not fail), end (its end reason; "stopped" when cut
    short), its settings' fields, then the store's figures (none for a store that declares none)."""
    settings = asdict(run.settings) if is_dataclass(run.settings) else {}
    rec = {"store": store, "run": getattr(run, "name", None), "link": getattr(run, "link", ""),
           "ok": run.end is not None and run.end["reason"] not in FAILED,
           "end": run.end["reason"] if run.end else "stopped"}
    rec.update({k: v for k, v in settings.items() if k not in rec})  # a setting so named (stocks' end) gives way
    if store in stores():
        rec.update(figures(store, run))
    return {k: _jsonable(v) for k, v in rec.items()}


def computed_record(lesson: Lesson, values: dict | None = None) -> dict:
    """The record of a lesson whose section computes its figures without training: its settings
    are the section's defaults, then the lesson's settings, then `values` (page widget key → value
    or URL text; the page's current ones, to show what the learner set up instead)."""
    spec = stores()[lesson.runs]
    if not spec.computed:
        raise ValueError(f"lesson {lesson.id}: {lesson.runs} is a store of runs, not a computed section")
    defaults = {f.name: f.default for f in dataclasses.fields(spec.settings)}
    given = {spec.keys[key]: value for key, value in {**lesson.settings, **(values or {})}.items() if key in spec.keys}
    settings = spec.settings(**{name: _parsed(value, defaults[name]) for name, value in given.items()})
    return record(lesson.runs, SimpleNamespace(name=None, link="", settings=settings, end={"reason": "completed"}))


def _parsed(value, default):
    """A URL text as the type of the field's default (true/false, numbers); other values as given."""
    if not isinstance(value, str) or isinstance(default, str):
        return value
    if isinstance(default, bool):
        return value.strip().lower() in ("true", "1")
    return type(default)(float(value)) if isinstance(default, int) else type(default)(value)


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item") and not hasattr(value, "__len__"):  # a numpy or torch scalar
        return _jsonable(value.item())
    return str(value)


# --- Challenges -----------------------------------------------------------------------------------

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


# --- Predictions ----------------------------------------------------------------------------------

def prediction(lesson: Lesson | str) -> Prediction | None:
    """The question a lesson asks before its first run (None: it asks none)."""
    return (lessons()[lesson] if isinstance(lesson, str) else lesson).predict


def outcome(prediction: Prediction, record: dict):
    """What a run gave, in the prediction's terms: a choice's option id, or a number (float).
    None when the record cannot tell: a stopped run, or a figure the rules read is missing."""
    if record.get("end") == "stopped":
        return None
    values = [record.get(name) for name in prediction.fields]
    if any(v is None or _nan(v) for v in values):
        return None
    if prediction.kind == "number":
        return float(values[0])
    for option in prediction.options:
        if option in prediction.when and all(c.holds(record) for c in prediction.when[option]):
            return option
    return next((option for option in prediction.options if option not in prediction.when), None)


def judge(prediction: Prediction, answer, outcome) -> bool:
    """Whether the answer predicted the outcome: a choice, the same option; a number, within the
    spec's tolerance (absolute, or relative to the outcome: the wider). No outcome: False."""
    if answer is None or outcome is None:
        return False
    if prediction.kind == "choice":
        return answer == outcome
    try:
        answer, outcome = float(answer), float(outcome)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(answer) and math.isfinite(outcome)):
        return False
    allowed = max(prediction.tolerance, prediction.relative * abs(outcome))
    return abs(answer - outcome) <= allowed + 1e-9 * max(1.0, abs(outcome))


def compare(prediction: Prediction, answer, record: dict) -> dict:
    """A "compared" prediction row's detail, and what the page shows after the run: the answer,
    what the run gave and whether the answer was right (None while the run cannot tell)."""
    got = outcome(prediction, record)
    return {"answer": answer, "outcome": got, "right": None if got is None else judge(prediction, answer, got)}


def run_detail(lesson: Lesson, record: dict) -> dict:
    """A "ran" lesson row's (or a challenge row's) detail: the run, its link, the lesson's figure."""
    return {"run": record.get("run"), "link": record.get("link"), "figure": record.get(lesson.figure)}


# --- A lesson's status, for the teacher's view -----------------------------------------------------

def lesson_status(lesson: Lesson, rows, due: dt.datetime | None = None, now: dt.datetime | None = None) -> Cell:
    """One learner's status in one lesson, from their progress rows (db.Progress or dicts with
    kind, item, status, detail, updated; rows of other lessons are ignored):

      met        the lesson's challenge met; for a lesson without one, a "ran" row (a run of its
                 page kept while the lesson was open)
      ran        a "ran" row (a lesson with a challenge not met yet)
      predicted  a prediction row
      opened     any lesson row
      not_opened none of these

    time: that row's time; late: it is after `due`; overdue: not met and `now` is after `due`.
    Naive datetimes are taken as UTC."""
    def latest(kind: str, item, *statuses):
        found = [r for r in rows if _get(r, "kind") == kind and _get(r, "item") == item
                 and (not statuses or _get(r, "status") in statuses)]
        return max(found, key=lambda r: _utc(_get(r, "updated")), default=None)

    opened, ran = latest("lesson", lesson.id), latest("lesson", lesson.id, "ran")
    predicted = latest("prediction", lesson.id)
    met = latest("challenge", lesson.challenge, "met") if lesson.challenge else ran
    if met is not None:
        status, row = "met", met
    else:
        status, row = next(((s, r) for s, r in (("ran", ran), ("predicted", predicted), ("opened", opened))
                            if r is not None), ("not_opened", None))
    figure = _detail(row).get("figure") if status in ("met", "ran") else None
    if figure is None and status == "met" and ran is not None:  # a challenge row without the figure
        figure = _detail(ran).get("figure")
    guess = _detail(predicted) if predicted is not None else {}
    time, due = (_utc(_get(row, "updated")) if row is not None else None), _utc(due)
    return Cell(status, figure, time, late=due is not None and time is not None and time > due,
                overdue=due is not None and status != "met" and _utc(now or dt.datetime.now(dt.UTC)) > due,
                answer=guess.get("answer"), outcome=guess.get("outcome"), right=guess.get("right"))


def _get(row, name: str):
    return row.get(name) if isinstance(row, dict) else getattr(row, name)


def _detail(row) -> dict:
    detail = _get(row, "detail")
    return detail if isinstance(detail, dict) else {}


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
