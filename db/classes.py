"""A teacher's classes (issue 28): join codes, the roster, assignments, what the dashboard reads,
and the teacher's sign-in lock shared by every replica.

    info = create_class(engine, "3-A Monday")           # info.code: e.g. "K7M2QX" (info.display_code "K7M-2QX")
    member = join_class(engine, ws, " k7m-2qx ", "김철수")  # or JoinError(reason)
    set_assignments(engine, info.id, [("xor_hidden", due), ("lr_too_big", None)])
    progress = class_progress(engine, info.id)          # workspace id -> [Progress], one query
    runs = class_runs(engine, info.id, ["ann_runs"])     # workspace id -> store -> [StoredRun] (no weights)

Join codes are CODE_LENGTH characters of ALPHABET (no 0/O, no 1/I/L), drawn with `secrets`;
find_class() reads a typed code in any case, with spaces and dashes, and checks its form before
any query. Display names are stripped and NFC-normalized; controls, line breaks and the bidi
overrides that make a name read as another are refused ("name_invalid"); unique in the class
through name_key() (case-folded, spaces collapsed, invisible format characters dropped), which
a unique index enforces on every backend. Showing a name escaped is the page's work.
All times are aware UTC datetimes; a naive one is refused (the database cannot know its zone).
"""
import datetime as dt
import logging
import numbers
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Engine, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from db import codec, runs, workspaces
from db.engine import reading, writing
from db.progress import Progress
from db.runs import StoredRun
from db.schema import (
    INTERRUPTED,
    TRAINING,
    AssignmentRow,
    ClassRow,
    MemberRow,
    ProgressRow,
    RunRow,
    SignInFailureRow,
    WorkspaceRow,
    utcnow,
)
from db.workspaces import Workspace, workspace_id

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no look-alikes: no 0/O, no 1/I/L
CODE_LENGTH = 6       # 31**6: about 887 million codes
CODE_TRIES = 20       # fresh codes drawn before create_class gives up (a collision is one in millions)
MAX_CLASS_NAME = 80
MAX_DISPLAY_NAME = 40  # characters (code points) after NFC, as the members column holds
REASONS = ("unknown_code", "closed", "name_empty", "name_long", "name_taken", "name_invalid")
LESSON_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
FAILURES_KEPT = dt.timedelta(days=1)  # older sign-in failures are deleted when a new one is noted
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # embeddings, overrides, isolates
_CODE_SEPARATORS = frozenset("-_\u2010\u2011\u2012\u2013\u2014\u2212")  # dashes a learner may type between groups
_MAX_ID = 2**31 - 1  # an Integer column's largest value
log = logging.getLogger(__name__)


class JoinError(ValueError):
    """Why a learner could not join: `reason` is one of REASONS (the page words it)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UnknownClass(LookupError):
    """The class is gone (deleted since the page listed it)."""


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    code: str                      # canonical: CODE_LENGTH characters of ALPHABET
    closes: dt.datetime | None     # no one joins from then on (None: open)
    created: dt.datetime

    @property
    def display_code(self) -> str:
        """The code as a teacher writes it on the board: "K7M-2QX"."""
        half = len(self.code) // 2
        return f"{self.code[:half]}-{self.code[half:]}"

    def closed(self, now: dt.datetime | None = None) -> bool:
        return self.closes is not None and self.closes <= (now or utcnow())


@dataclass(frozen=True)
class Member:
    class_id: int
    class_name: str
    workspace_id: int
    display_name: str
    joined: dt.datetime
    last_seen: dt.datetime         # the workspace's: when the learner last opened or kept something


@dataclass(frozen=True)
class Assignment:
    lesson_id: str
    position: int                  # the teacher's order, from 0
    due: dt.datetime | None

    def late(self, done: dt.datetime | None, now: dt.datetime | None = None) -> bool:
        """Done after the due time, or not done and the due time has passed."""
        if self.due is None:
            return False
        return (done if done is not None else (now or utcnow())) > self.due


# --- checks (no database) -------------------------------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code) -> str | None:
    """The canonical form of a typed join code ("k7m 2qx", "K7M-2QX", "ｋ７ｍ２ｑｘ" → "K7M2QX"), or None when it
    cannot be one (checked here, so a garbled or huge text never reaches a query)."""
    if not isinstance(code, str) or len(code) > 4 * CODE_LENGTH:
        return None
    text = unicodedata.normalize("NFKC", code)  # full-width letters from an East Asian keyboard: plain ones
    text = "".join(c for c in text if not c.isspace() and c not in _CODE_SEPARATORS).upper()
    if len(text) != CODE_LENGTH or any(c not in ALPHABET for c in text):
        return None
    return text


def _refused_character(text: str) -> bool:
    """Controls (NUL, tab, newline…), surrogates, line/paragraph separators, bidi overrides."""
    return any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in _BIDI_CONTROLS for c in text)


def _visible(text: str) -> bool:
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for c in text)


def clean_display_name(raw) -> str:
    """The display name as it is stored (stripped, NFC), or JoinError with "name_empty",
    "name_long" or "name_invalid"."""
    if raw is None:
        raise JoinError("name_empty")
    if not isinstance(raw, str):
        raise JoinError("name_invalid")
    name = raw.strip()
    if len(name) > 4 * MAX_DISPLAY_NAME:  # long past any NFC composition: not normalized at all
        raise JoinError("name_long")
    name = unicodedata.normalize("NFC", name).strip()
    if _refused_character(name):
        raise JoinError("name_invalid")
    if not _visible(name):
        raise JoinError("name_empty")
    if len(name) > MAX_DISPLAY_NAME:
        raise JoinError("name_long")
    return name


def name_key(name: str) -> str:
    """What must be unique in a class: case-folded, NFC, inner spaces collapsed, invisible format
    characters (zero-width space, joiners) dropped, so "Kim Chul", "KIM  chul" and "Kim​Chul" clash."""
    folded = unicodedata.normalize("NFC", name.casefold())
    return " ".join("".join(c for c in folded if unicodedata.category(c) != "Cf").split())


def clean_class_name(raw) -> str:
    """A class's name: stripped, NFC, 1..MAX_CLASS_NAME characters, no controls; else ValueError."""
    if not isinstance(raw, str):
        raise ValueError("a class name is text")
    name = unicodedata.normalize("NFC", raw.strip()[:4 * MAX_CLASS_NAME + 1]).strip()
    if not _visible(name):
        raise ValueError("a class needs a name")
    if len(name) > MAX_CLASS_NAME:
        raise ValueError(f"a class name has at most {MAX_CLASS_NAME} characters")
    if _refused_character(name):
        raise ValueError("a class name cannot hold control characters or line breaks")
    return name


def _aware(value: dt.datetime | None, what: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{what} must be a datetime (or None), not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be time-zone aware (the database keeps UTC)")
    return value.astimezone(dt.UTC)


def _id(value) -> int | None:
    """A row id from a caller (a widget, a URL, a data frame's cell): None unless it is a whole
    number an Integer column can hold."""
    if isinstance(value, Workspace):
        value = value.id
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    number = int(value)
    return number if 0 < number <= _MAX_ID else None


# --- classes ----------------------------------------------------------------------------------------

def _info(row: ClassRow) -> ClassInfo:
    return ClassInfo(row.id, row.name, row.code, row.closes_at, row.created)


def create_class(engine: Engine, name: str, closes: dt.datetime | None = None) -> ClassInfo:
    """A new class with a fresh join code (unique: drawn again on a collision)."""
    name, closes = clean_class_name(name), _aware(closes, "closes")
    for _ in range(CODE_TRIES):
        code = new_code()
        try:
            with writing(engine) as session:
                if session.scalar(select(ClassRow.id).where(ClassRow.code == code)) is not None:
                    continue
                row = ClassRow(name=name, code=code, closes_at=closes, created=utcnow())
                session.add(row)
                session.flush()
                return _info(row)
        except IntegrityError:  # another replica drew the same code at the same moment
            continue
    raise RuntimeError(f"no free join code after {CODE_TRIES} tries")


def classes(engine: Engine) -> list[ClassInfo]:
    """Every class, oldest first."""
    with reading(engine) as session:
        return [_info(row) for row in session.scalars(select(ClassRow).order_by(ClassRow.id))]


def get_class(engine: Engine, class_id) -> ClassInfo | None:
    number = _id(class_id)
    if number is None:
        return None
    with reading(engine) as session:
        row = session.get(ClassRow, number)
        return None if row is None else _info(row)


def find_class(engine: Engine, code) -> ClassInfo | None:
    """The class of a typed join code (any case, spaces and dashes ignored), or None."""
    canonical = normalize_code(code)
    if canonical is None:
        return None
    with reading(engine) as session:
        row = session.scalar(select(ClassRow).where(ClassRow.code == canonical))
        return None if row is None else _info(row)


def close_class(engine: Engine, class_id, closes: dt.datetime | None) -> ClassInfo | None:
    """Set the time from which no one joins (None opens the class again); None if there is no class."""
    closes, number = _aware(closes, "closes"), _id(class_id)
    if number is None:
        return None
    with writing(engine) as session:
        row = session.get(ClassRow, number)
        if row is None:
            return None
        row.closes_at = closes
        session.flush()
        return _info(row)


def delete_class(engine: Engine, class_id) -> bool:
    """Delete a class with its roster and assignments (the learners' workspaces stay)."""
    number = _id(class_id)
    if number is None:
        return False
    with writing(engine) as session:
        session.execute(delete(AssignmentRow).where(AssignmentRow.class_id == number))
        session.execute(delete(MemberRow).where(MemberRow.class_id == number))
        return session.execute(delete(ClassRow).where(ClassRow.id == number)).rowcount > 0


def _lock_class(session: Session, class_id) -> int:
    """Serialize the writers of one class (PostgreSQL: a row lock); its id, or UnknownClass."""
    number = _id(class_id)
    if number is None or session.scalar(select(ClassRow.id).where(ClassRow.id == number)
                                        .with_for_update()) is None:
        raise UnknownClass(class_id)
    return number


# --- the roster -------------------------------------------------------------------------------------

def _member_query():
    return (select(MemberRow.class_id, ClassRow.name, MemberRow.workspace_id, MemberRow.display_name,
                   MemberRow.joined, WorkspaceRow.last_seen)
            .join(ClassRow, ClassRow.id == MemberRow.class_id)
            .join(WorkspaceRow, WorkspaceRow.id == MemberRow.workspace_id))


def _member(session: Session, row: MemberRow) -> Member:
    return Member(*session.execute(_member_query().where(MemberRow.id == row.id)).one())


def join_class(engine: Engine, ws: Workspace | int, code, display_name) -> Member:
    """Tie the workspace to the class of `code` under `display_name`, or JoinError(reason).
    Joining again with the same name changes nothing; with another name, renames (if it is free
    and the class is open). A workspace that is gone raises db.UnknownWorkspace."""
    for attempt in range(2):
        try:
            return _join(engine, ws, code, display_name)
        except IntegrityError:  # a race with another learner (the name) or the teacher (a deleted class)
            if attempt:
                raise JoinError("name_taken") from None
    raise AssertionError("unreachable")


def _join(engine: Engine, ws: Workspace | int, code, display_name) -> Member:
    canonical = normalize_code(code)
    if canonical is None:
        raise JoinError("unknown_code")
    try:
        name, problem = clean_display_name(display_name), None
    except JoinError as error:
        name, problem = None, error
    with writing(engine) as session:
        klass = session.scalar(select(ClassRow).where(ClassRow.code == canonical))
        if klass is None:
            raise JoinError("unknown_code")
        ws_id = workspaces.lock(session, ws)
        row = session.scalar(select(MemberRow).where(MemberRow.class_id == klass.id, MemberRow.workspace_id == ws_id))
        if row is not None and name == row.display_name:
            return _member(session, row)
        if _info(klass).closed():
            raise JoinError("closed")
        if problem is not None:
            raise problem
        key = name_key(name)
        taken = session.scalar(select(MemberRow.workspace_id).where(MemberRow.class_id == klass.id,
                                                                   MemberRow.name_key == key))
        if taken is not None and taken != ws_id:
            raise JoinError("name_taken")
        if row is None:
            row = MemberRow(class_id=klass.id, workspace_id=ws_id, joined=utcnow())
            session.add(row)
        row.display_name, row.name_key = name, key
        session.flush()
        return _member(session, row)


def memberships(engine: Engine, ws: Workspace | int) -> list[Member]:
    """The learner's classes, in the order they joined them."""
    query = _member_query().where(MemberRow.workspace_id == workspace_id(ws)).order_by(MemberRow.joined, MemberRow.id)
    with reading(engine) as session:
        return [Member(*row) for row in session.execute(query)]


def roster(engine: Engine, class_id) -> list[Member]:
    """The class's members, by display name (case-folded)."""
    number = _id(class_id)
    if number is None:
        return []
    query = _member_query().where(MemberRow.class_id == number).order_by(MemberRow.name_key, MemberRow.id)
    with reading(engine) as session:
        return [Member(*row) for row in session.execute(query)]


def remove_member(engine: Engine, class_id, workspace: Workspace | int, delete_data: bool = True) -> bool:
    """Take a learner off the class's roster; with delete_data, delete their workspace and all its
    data too (their runs, progress and every class membership). False (and nothing deleted) when
    that workspace is not in this class."""
    number, ws_id = _id(class_id), _id(workspace)
    if number is None or ws_id is None:
        return False
    with writing(engine) as session:
        found = session.scalar(select(MemberRow.id).where(MemberRow.class_id == number,
                                                         MemberRow.workspace_id == ws_id))
        if found is None:
            return False
        if delete_data:
            session.execute(delete(MemberRow).where(MemberRow.workspace_id == ws_id))
            workspaces._delete(session, [ws_id])  # the one list of what a workspace holds
        else:
            session.execute(delete(MemberRow).where(MemberRow.id == found))
        return True


def is_member_anywhere(engine: Engine, ws: Workspace | int) -> bool:
    """Whether the workspace joined any class (the closed class server admits only those)."""
    with reading(engine) as session:
        return session.scalar(select(MemberRow.id).where(MemberRow.workspace_id == workspace_id(ws)).limit(1)) \
            is not None


# --- assignments ------------------------------------------------------------------------------------

def set_assignments(engine: Engine, class_id, items) -> list[Assignment]:
    """Replace the class's assignments with `items`, (lesson id, due time or None) in the order
    given. Lesson ids are not checked against the catalog (the page offers only those); a
    duplicate or malformed id raises ValueError, a gone class UnknownClass."""
    found: list[Assignment] = []
    for lesson_id, due in items:
        if not isinstance(lesson_id, str) or not LESSON_ID.fullmatch(lesson_id):
            raise ValueError(f"not a lesson id: {str(lesson_id)[:80]!r}")
        if any(a.lesson_id == lesson_id for a in found):
            raise ValueError(f"lesson {lesson_id!r} is assigned twice")
        found.append(Assignment(lesson_id, len(found), _aware(due, f"the due time of {lesson_id}")))
    with writing(engine) as session:
        number = _lock_class(session, class_id)
        session.execute(delete(AssignmentRow).where(AssignmentRow.class_id == number))
        session.add_all(AssignmentRow(class_id=number, lesson_id=a.lesson_id, position=a.position, due=a.due)
                        for a in found)
    return found


def assignments(engine: Engine, class_id) -> list[Assignment]:
    number = _id(class_id)
    if number is None:
        return []
    with reading(engine) as session:
        rows = session.scalars(select(AssignmentRow).where(AssignmentRow.class_id == number)
                               .order_by(AssignmentRow.position)).all()
    return [Assignment(r.lesson_id, r.position, r.due) for r in rows]


def assignments_for(engine: Engine, ws: Workspace | int) -> list[tuple[ClassInfo, Assignment]]:
    """A learner's assignments in every class they joined: classes in the order joined, then the
    teacher's order."""
    query = (select(ClassRow, AssignmentRow).join(MemberRow, MemberRow.class_id == ClassRow.id)
             .join(AssignmentRow, AssignmentRow.class_id == ClassRow.id)
             .where(MemberRow.workspace_id == workspace_id(ws))
             .order_by(MemberRow.joined, MemberRow.id, AssignmentRow.position))
    with reading(engine) as session:
        return [(_info(c), Assignment(a.lesson_id, a.position, a.due)) for c, a in session.execute(query)]


# --- what the dashboard reads --------------------------------------------------------------------

def class_progress(engine: Engine, class_id, kind: str | None = None) -> dict[int, list[Progress]]:
    """Every member's progress rows (of one kind, or all), by workspace id, in one query; a member
    with none has an empty list. Rows in kind and item order."""
    number = _id(class_id)
    if number is None:
        return {}
    on = ProgressRow.workspace_id == MemberRow.workspace_id
    if kind is not None:
        on = and_(on, ProgressRow.kind == kind)
    query = (select(MemberRow.workspace_id, ProgressRow).select_from(MemberRow).outerjoin(ProgressRow, on)
             .where(MemberRow.class_id == number).order_by(MemberRow.workspace_id, ProgressRow.kind, ProgressRow.item))
    found: dict[int, list[Progress]] = {}
    with reading(engine) as session:
        for ws_id, row in session.execute(query):
            rows = found.setdefault(ws_id, [])
            if row is not None:
                rows.append(Progress(row.kind, row.item, row.status, codec.decode(row.detail), row.updated))
    return found


def class_runs(engine: Engine, class_id, stores=None, *, history: bool = True) -> dict[int, dict[str, list[StoredRun]]]:
    """Every member's runs of `stores` (None: every store), without weights, by workspace id and
    store, oldest first, in one query; a member with none has an empty dict. Runs of a process
    that died come back "interrupted", as load_runs says. history=False leaves each run's
    history empty and reads only its settings, end and results (what figures are made of): the
    dashboard's refresh, several times faster; member_run() gives one run whole."""
    number = _id(class_id)
    if number is None:
        return {}
    on = RunRow.workspace_id == MemberRow.workspace_id
    if stores is not None:
        on = and_(on, RunRow.store.in_(list(stores)))
    query = (select(MemberRow.workspace_id, RunRow).select_from(MemberRow).outerjoin(RunRow, on)
             .options(*([defer(RunRow.weights)] if history else [defer(RunRow.weights), defer(RunRow.history)]))
             .where(MemberRow.class_id == number).order_by(MemberRow.workspace_id, RunRow.store, RunRow.run_no))
    with reading(engine) as session:
        pairs = session.execute(query).all()
        stale = runs._stale(session, [r for _, r in pairs if r is not None and r.status == TRAINING])
    if stale:
        with writing(engine) as session:
            session.execute(update(RunRow).where(RunRow.id.in_(stale), RunRow.status == TRAINING)
                            .values(status=INTERRUPTED))
    found: dict[int, dict[str, list[StoredRun]]] = {}
    for ws_id, row in pairs:
        by_store = found.setdefault(ws_id, {})
        if row is not None:
            status = INTERRUPTED if row.id in stale else row.status
            run = runs._decoded(row, status, False) if history else _without_history(row, status)
            by_store.setdefault(row.store, []).append(run)
    return found


def _without_history(row: RunRow, status: str) -> StoredRun:
    """A run's settings, end and results decoded (its arrays unpacked only if those name one)."""
    texts = {"settings": row.settings, "end": row.end_event, "results": row.results}
    problems: list[str] = []
    arrays: dict = {}
    if row.arrays and any('"blob":' in text for text in texts.values()):
        try:
            arrays = codec.unpack_tensors(row.arrays)
        except Exception as error:  # a damaged blob: the JSON still reads, its large arrays are None
            problems.append(f"arrays: {error}")
    values = {}
    for name, empty in (("settings", None), ("end", None), ("results", {})):
        try:
            values[name] = codec.decode(texts[name], arrays, problems)
        except Exception as error:
            problems.append(f"{name}: {error}")
            values[name] = empty
    if problems:
        log.warning("run %s/%s #%s: %s", row.workspace_id, row.store, row.run_no, "; ".join(problems))
    return StoredRun(row.id, row.store, row.run_no, status, values["settings"], [], values["end"],
                     values["results"] if values["results"] is not None else {}, row.link, None, row.weights_note,
                     row.created, row.updated, row.size_bytes, tuple(problems))


def member_run(engine: Engine, class_id, workspace, store: str, run_no) -> StoredRun | None:
    """One run of one member, with its weights (a teacher opening a learner's cell); None when
    the workspace is not in this class or has no such run."""
    number, ws_id, run = _id(class_id), _id(workspace), _id(run_no)
    if number is None or ws_id is None or run is None or not isinstance(store, str):
        return None
    query = (select(RunRow).join(MemberRow, and_(MemberRow.workspace_id == RunRow.workspace_id,
                                                 MemberRow.class_id == number))
             .where(RunRow.workspace_id == ws_id, RunRow.store == store, RunRow.run_no == run))
    found = runs._load(engine, query, True)
    return found[0] if found else None


# --- the teacher's sign-in lock ---------------------------------------------------------------------

def note_sign_in_failure(engine: Engine, source: str = "") -> None:
    """Record one wrong password (`source`: what the caller knows of who tried, kept short).
    Failures older than FAILURES_KEPT go at the same time."""
    text = str(source or "").replace("\x00", "")[:200]
    now = utcnow()
    with writing(engine) as session:
        session.execute(delete(SignInFailureRow).where(SignInFailureRow.at < now - FAILURES_KEPT))
        session.add(SignInFailureRow(at=now, source=text))


def sign_in_failures_since(engine: Engine, seconds: float) -> int:
    """How many wrong passwords in the last `seconds` (at most FAILURES_KEPT back), on any replica."""
    since = utcnow() - dt.timedelta(seconds=float(seconds))
    with reading(engine) as session:
        return int(session.scalar(select(func.count(SignInFailureRow.id)).where(SignInFailureRow.at >= since)))


def clear_sign_in_failures(engine: Engine) -> int:
    """Forget every failure (after a right password); returns how many."""
    with writing(engine) as session:
        return session.execute(delete(SignInFailureRow)).rowcount


def sign_in_locked(engine: Engine, limit: int = 5, window_s: float = 60.0, now: dt.datetime | None = None) -> float:
    """Seconds until sign-in opens again (0.0: open). `limit` failures within `window_s` seconds
    lock it for `window_s` seconds after the last of them."""
    now = now or utcnow()
    window = dt.timedelta(seconds=float(window_s))
    with reading(engine) as session:
        times = sorted(session.scalars(select(SignInFailureRow.at).where(SignInFailureRow.at >= now - 2 * window)
                                       .order_by(SignInFailureRow.at.desc()).limit(10_000)))
    until = None
    for first, last in zip(times, times[max(1, limit) - 1:]):  # every run of `limit` failures in a row
        if last - first <= window:
            until = last + window
    return max(0.0, (until - now).total_seconds()) if until is not None else 0.0
