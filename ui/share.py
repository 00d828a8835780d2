"""Shareable setups: a page's settings in the URL, the 🔗 Share link, a notice for what a link got wrong.

A page wraps each setting a learner may share in `setting`:

    depth = setting(c1.slider, t("perceptron.depth"), 1, 50, 10, key="perceptron_depth")

The widget is drawn exactly as without the wrapper; `setting` also reads the widget's range,
options and default from the call, so that
- a link's value for `key` is checked against them (unknown option, out of range, wrong type,
  too long) and applied before the widget is drawn, on the first run after the URL changed;
- the URL (`st.query_params`) holds the settings that differ from their defaults, written
  after each run by `finish` (app.py), as raw option values (`XOR`, `0.03`), never the
  translated labels, so a Korean link opens the same setup in English;
- the Share link and each run's link (ui.training) are built from the same values.

Nothing from the URL is evaluated: values are matched against the widget's own options or
parsed as numbers, booleans, dates and text, and at most MAX_PARAMS parameters of at most
MAX_TEXT characters are looked at.
"""
import datetime as dt
import inspect
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from ui.content import language, t

APP_PARAMS = ("lang", "lesson", "focus")  # read by the app itself (ui.content, ui.lessons), not settings
EMBED = ("embed", "embed_options")  # Streamlit's own (an embedded app), left alone
MAX_PARAMS = 100   # a link's parameters looked at; the rest are ignored in bulk (bounded work)
MAX_TEXT = 300     # characters of one value looked at (a text box keeps at most its max_chars)
NAMED = 6          # ignored parameters a notice names; the rest are counted
RECENT = 8         # URLs the app wrote lately, told apart from links opened
SHOWN = 40         # characters of a hostile name or value a notice repeats
_STATE = "_share"  # session_state: what the URL said, what is still to apply, this run's settings


@dataclass
class Spec:
    """One shareable widget as the page called it: its kind, default and allowed values."""
    kind: str                # "number", "range", "option", "options", "bool", "text", "date"
    default: Any
    options: list | None = None
    low: Any = None          # numbers and dates: the allowed range
    high: Any = None
    integer: bool = False
    max_chars: int | None = None
    value: Any = None        # the widget's value in this run


def setting(widget, *args, url_default=None, **kwargs):
    """Draw `widget(*args, **kwargs)` (a Streamlit input with a `key`) as a shareable setting.

    `url_default`: the default when the page sets it in st.session_state, not in the call."""
    key = kwargs["key"]
    spec = _spec(widget, args, kwargs)
    if url_default is not None:
        spec.default = url_default
    state = _state()
    if key in state["pending"]:
        raw = state["pending"].pop(key)
        value, problem = parse(spec, raw)
        if problem:
            state["notices"].append((key, raw, problem, value))
        if value is not None or problem is None:
            st.session_state[key] = spec.default if value is None else value
    elif state["reset"] and key in st.session_state and not _same(spec, st.session_state[key], spec.default):
        st.session_state[key] = spec.default  # a new link: what it does not name is at its default
    spec.value = widget(*args, **kwargs)
    state["specs"][key] = spec
    return spec.value


def _spec(widget, args, kwargs) -> Spec:
    call = inspect.signature(widget).bind(*args, **kwargs)
    call.apply_defaults()
    a, name = call.arguments, widget.__name__
    if name in ("slider", "number_input"):
        low, high, value = a["min_value"], a["max_value"], a["value"]
        value = low if value in (None, "min") else value
        if isinstance(value, (tuple, list)):
            integer = all(isinstance(v, int) for v in (low, high, *value))
            return Spec("range", tuple(value), low=low, high=high, integer=integer)
        integer = all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, value))
        return Spec("number", value, low=low, high=high, integer=integer)
    if name in ("selectbox", "radio"):
        options = list(a["options"])
        return Spec("option", options[a["index"]] if a["index"] is not None and options else None, options)
    if name == "select_slider":
        options = list(a["options"])
        return Spec("option", a["value"] if a["value"] is not None else options[0], options)
    if name in ("segmented_control", "pills"):
        return Spec("option", a["default"], list(a["options"]))
    if name == "multiselect":
        default = a["default"]
        return Spec("options", list(default) if isinstance(default, (list, tuple)) else
                    [] if default is None else [default], list(a["options"]))
    if name in ("checkbox", "toggle"):
        return Spec("bool", bool(a["value"]))
    if name == "text_input":
        return Spec("text", a["value"] or "", max_chars=a["max_chars"])
    if name == "date_input":
        value = a["value"]
        return Spec("date", dt.date.today() if value in ("today", None) else value,
                    low=a["min_value"], high=a["max_value"])
    raise TypeError(f"setting() does not know the widget {name!r}")


# --- Values <-> URL text ------------------------------------------------------------------------

def to_text(spec: Spec, value) -> str:
    """A widget value as the URL writes it: raw option values, numbers, true/false, ISO dates."""
    if spec.kind == "bool":
        return "true" if value else "false"
    if spec.kind == "range":
        return ",".join(_number_text(v) for v in value)
    if spec.kind == "options":
        return ",".join(str(v) for v in value)
    if spec.kind == "date":
        return value.isoformat()
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _number_text(v) -> str:
    return str(v) if isinstance(v, int) else format(v, ".10g")


def parse(spec: Spec, raw) -> tuple[Any, str | None]:
    """The value a URL text stands for, and what was wrong with it (a content key), if anything.

    A value of None with a problem means "ignored: keep the default"; a value with a problem
    means "used, but changed" (clamped into range, shortened).
    """
    if isinstance(raw, list):  # ?k=1&k=2: the last one counts, as in Streamlit
        raw = raw[-1] if raw else ""
    text = str(raw)
    if spec.kind == "text":
        limit = min(spec.max_chars or MAX_TEXT, MAX_TEXT)
        return (text[:limit], "share.problem_long") if len(text) > limit else (text, None)
    if len(text) > MAX_TEXT:
        return None, "share.problem_long_ignored"
    if spec.kind == "bool":
        word = text.strip().lower()
        if word in ("true", "1", "yes", "on"):
            return True, None
        if word in ("false", "0", "no", "off"):
            return False, None
        return None, "share.problem_invalid"
    if spec.kind == "number":
        return _number(spec, text)
    if spec.kind == "range":
        parts = [_number(spec, p) for p in text.split(",")]
        if len(parts) != 2 or any(v is None for v, _ in parts):
            return None, "share.problem_invalid"
        low, high = sorted(v for v, _ in parts)
        return (low, high), next((p for _, p in parts if p), None)
    if spec.kind == "option":
        found = _option(spec.options, text)
        return (found[0], None) if found else (None, "share.problem_option")
    if spec.kind == "options":
        words = [w for w in text.split(",") if w][:len(spec.options)]
        found = [_option(spec.options, w) for w in words]
        kept = list(dict.fromkeys(f[0] for f in found if f))
        return kept, None if all(found) else "share.problem_option"
    if spec.kind == "date":
        try:
            day = dt.date.fromisoformat(text.strip())
        except ValueError:
            return None, "share.problem_invalid"
        clamped = min(max(day, spec.low or day), spec.high or day)
        return clamped, None if clamped == day else "share.problem_clamped"
    return None, "share.problem_invalid"


def _number(spec: Spec, text: str) -> tuple[Any, str | None]:
    try:
        number = float(text.strip())
    except ValueError:
        return None, "share.problem_invalid"
    if not math.isfinite(number) or (spec.integer and number != int(number)):
        return None, "share.problem_invalid"
    value = int(number) if spec.integer else number
    clamped = min(max(value, spec.low), spec.high)
    return clamped, None if clamped == value else "share.problem_clamped"


def _option(options: list, text: str) -> tuple | None:
    """The option whose raw value reads `text` (a number matches its value: 0.030 is 0.03)."""
    for option in options:
        if str(option) == text:
            return (option,)
    try:
        number = float(text)
    except ValueError:
        return None
    for option in options:
        if isinstance(option, (int, float)) and not isinstance(option, bool) and math.isclose(option, number):
            return (option,)
    return None


def _same(spec: Spec, a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9)
    return a == b


# --- One run of the app -------------------------------------------------------------------------

def _state() -> dict:
    return st.session_state.setdefault(_STATE, {"recent": [], "pending": {}, "specs": {}, "last": {},
                                                "notices": [], "extra": {}, "shown": None,
                                                "reset": False})


def start(page: str) -> None:
    """Before the page runs (app.py): when the URL is not the one the app wrote last (a link
    was opened, the browser went back), its settings are applied to the widgets as they are
    drawn, and the page's other settings start at their defaults."""
    state = _state()
    arrived = _url()
    state["last"], state["specs"], state["extra"] = state["specs"], {}, {}
    # A URL the app wrote itself, even a few runs ago (a rerun can overtake the browser's
    # update of the address bar), is not a new link: nothing is applied or reset then.
    if page != state.get("page") or arrived not in state["recent"]:
        state["pending"] = {k: v for k, v in arrived.items() if k not in APP_PARAMS}
        state["notices"] = []
        state["skipped"] = max(0, len(_names()) - len(arrived))
        state["page"], state["reset"] = page, True
    else:
        state["pending"], state["reset"] = {}, False


def _names() -> list[str]:
    """The URL's parameter names, without Streamlit's own embed options (kept as they are)."""
    return [k for k in st.query_params if k.lower() not in EMBED]


def _url() -> dict:
    """The URL's parameters as {name: text} (a repeated name: its list), the first MAX_PARAMS."""
    texts = {k: st.query_params.get_all(k) for k in _names()[:MAX_PARAMS + len(APP_PARAMS)]}
    return {k: v[-1] if len(v) == 1 else v for k, v in texts.items()}


def new_link() -> bool:
    """Whether this run follows a URL the app did not write (a link opened, history navigation)."""
    return _state()["reset"]


def section(label: str, key: str, settings: str, help: str | None = None, kept: bool = False) -> bool:
    """Whether to draw a section that opens with a toggle (a shareable setting under `key`, off by
    default): a closed section costs the page's first view nothing. Arriving on the page opens it
    when the link names any of the section's settings (keys starting with `settings`) or when
    the learner has `kept` runs there."""
    state = _state()
    waiting = state["pending"]
    if state["reset"] and key not in waiting and (kept or any(name.startswith(settings) for name in waiting)):
        waiting[key] = "true"
    return setting(st.toggle, label, value=False, key=key, help=help)


def pending(key: str):
    """A custom setting's URL text to apply now (once), or None: for settings that are not one
    widget (the CNN page's layer stack)."""
    return _state()["pending"].pop(key, None)


def keep(key: str, text: str | None) -> None:
    """A custom setting's URL text for this run (None: at its default, left out of the URL)."""
    if text is not None:
        _state()["extra"][key] = text[:4 * MAX_TEXT]


def note(key: str, raw, problem: str, value=None) -> None:
    """Tell the learner a custom setting from the link was ignored or changed."""
    _state()["notices"].append((key, raw, problem, value))


def values(including_previous: bool = False) -> dict[str, str]:
    """This page's settings that differ from their defaults, as URL texts (sorted by name).

    `including_previous`: also settings not drawn yet in this run, from the last run (a run's
    link is taken while the page is still drawing)."""
    state = _state()
    specs = {**state["last"], **state["specs"]} if including_previous else state["specs"]
    out = {}
    for key, spec in specs.items():
        value = spec.value if key in state["specs"] else st.session_state.get(key, spec.value)
        if value is not None and not _same(spec, value, spec.default):
            out[key] = to_text(spec, value)
    out.update(state["extra"])
    return dict(sorted(out.items()))


def query(including_previous: bool = False, lesson: bool = True) -> dict[str, str]:
    """The whole query of this setup: language, settings, and the lesson and focus flags."""
    params = {"lang": language(), **values(including_previous)}
    if lesson:
        params.update({k: st.query_params[k] for k in ("lesson", "focus") if k in st.query_params})
    return params


def link(url_path: str, params: dict[str, str]) -> str:
    """An absolute link when the browser told us where the app lives, else one from the root."""
    return f"{_base_url()}/{url_path}?{urlencode(params, safe=',')}"


def _base_url() -> str:
    """The app's root as the browser sees it (behind a proxy too), without the page's path."""
    url = (st.context.url or "").split("?")[0].rstrip("/")
    page = _state().get("page") or ""
    if page and url.endswith("/" + page):
        url = url[: -len(page) - 1]
    return url


def run_link() -> str:
    """The link that reopens the current page with the settings of the run being trained."""
    return link(_state().get("page") or "", query(including_previous=True, lesson=False))


def finish() -> None:
    """After the page ran (app.py): name what the link got wrong, and write the URL."""
    state = _state()
    leftovers = [(k, v, "share.problem_unknown", None) for k, v in state["pending"].items()]
    state["pending"] = {}
    state["notices"].extend(leftovers)
    wanted = query()
    if wanted != _url():
        st.query_params.from_dict(wanted)  # keeps ?embed=… as it was
    state["recent"] = [wanted, *[q for q in state["recent"] if q != wanted]][:RECENT]
    state["shown"] = notice_text(state["notices"], state.get("skipped", 0))


def notice_text(notices: list, skipped: int = 0) -> str | None:
    """One short notice naming what a link asked for and did not get (None when all was used)."""
    if not notices and not skipped:
        return None
    parts = []
    for key, raw, problem, value in notices[:NAMED]:
        raw = raw[-1] if isinstance(raw, list) and raw else raw
        parts.append(t(problem, name=_short(key), value=_short(str(raw)),
                       used=_short(str(value)) if value is not None else ""))
    more = len(notices) - NAMED + skipped
    if more > 0:
        parts.append(t("share.problem_more", count=more))
    return t("share.notice", problems="; ".join(parts))


def _short(text: str) -> str:
    text = text.replace("`", "'").replace("\n", " ")
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def shown_notice() -> str | None:
    return _state()["shown"]


def drawn_keys() -> list[str]:
    """The shareable settings drawn in this run (focus mode hides the ones a lesson does not use)."""
    return list(_state()["specs"])
