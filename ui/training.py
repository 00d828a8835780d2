"""The one live-training panel: Stop, progress with ETA, a throttled live view, the run kept."""
import functools
import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

import streamlit as st
from torch import nn

from core import slots
from core.engine import lr_risk
from ui import lessons, share
from ui.charts import training_chart
from ui.content import say, t
from ui.runs import Run, RunStore, cpu_state_dict
from ui.shell import current_device, format_seconds

RERUN = "_rerun_store"  # session_state: the store whose interrupted run the learner asked to run again
REDRAW_SECONDS = 0.25  # redraw the live view and progress at most ~4 times a second
HISTORY_LIMIT = 2000   # batch events kept per run: bounded, so redrawing stays cheap


def has_epoch(history: list[dict]) -> bool:
    """The default rule for keeping a stopped run: it finished at least one epoch."""
    return any(e["kind"] == "epoch" for e in history)


def announce(store: RunStore) -> None:
    """Show what happened to a run that Stop interrupted (it could not draw it itself), and the
    runs a stopped server interrupted, each with a one-click rerun of its settings."""
    notice = store.pop_notice()
    if notice:
        st.toast(notice)
    for run in store.interrupted:
        with st.container(border=True):
            st.warning(t("workspace.interrupted", name=f"#{run.run_no}",
                         when=run.updated.astimezone().strftime("%Y-%m-%d %H:%M")), icon="⚡")
            c1, c2 = st.columns(2)
            c1.button(t("workspace.rerun"), key=f"{store.key}_rerun_{run.run_no}", type="primary",
                      on_click=_rerun, args=(store, run), disabled=not run.link)
            c2.button(t("workspace.dismiss"), key=f"{store.key}_dismiss_{run.run_no}", on_click=store.dismiss,
                      args=(run.run_no,))


def _rerun(store: RunStore, run) -> None:
    """Open the interrupted run's link (its settings come back as a link's do) and start it again:
    the page's train button (train_button) finds the request on the next run."""
    query = dict(parse_qsl(urlsplit(run.link).query))
    st.query_params.from_dict(query)
    st.session_state[RERUN] = store.key
    store.dismiss(run.run_no)


def train_button(store: RunStore, label: str, key: str, disabled: bool = False, where=st, **kwargs) -> bool:
    """A page's train button: pressed, or an interrupted run of `store` asked to run again (when the
    settings allow it; else the learner sees why below the button and presses it)."""
    pressed = where.button(label, key=key, disabled=disabled, **kwargs)
    requested = st.session_state.get(RERUN) == store.key
    if requested:
        del st.session_state[RERUN]
    return pressed or (requested and not disabled)


def warn_lr(optimizer: str, lr: float, where=st) -> None:
    """Before training: a warning when `lr` is risky for `optimizer` (core.engine.lr_risk)."""
    if (risk := lr_risk(optimizer, lr)) is not None:
        where.warning(say(risk))


def lever(label: str, value, options, estimate: float, fmt: Callable = str) -> tuple | None:
    """A setting the run's time grows with in proportion (epochs, training samples): the
    largest of its `options` below `value` that brings `estimate` under the confirmation
    limit (else its smallest), as (label, value, cheaper value, estimate with it), for
    `time_check`. None when no option is smaller."""
    smaller = [o for o in options if o < value]
    if not smaller:
        return None
    limit = slots.confirm_seconds()
    fitting = [o for o in smaller if estimate * o / value <= limit]
    cheaper = max(fitting) if fitting else min(smaller)
    return label, fmt(value), fmt(cheaper), estimate * cheaper / value


def estimated(estimator: Callable, settings) -> float:
    """`estimator(settings, device)` (a core estimate_seconds) on this session's device, kept
    per settings: timing a few steps is done once, not on every rerun."""
    return _estimate(estimator, f"{estimator.__module__}.{estimator.__qualname__}", settings, str(current_device()))


@st.cache_data(show_spinner=False, max_entries=256)
def _estimate(_estimator: Callable, name: str, settings, device: str) -> float:
    import torch  # `_estimator` is not hashed (the leading _): `name` stands for it in the key
    return float(_estimator(settings, torch.device(device)))


def measured_slowly(steps: Callable[[], Iterable[dict]], key: str, label: str, where=st) -> dict | None:
    """Work too long for a rerun (a large preview), asked for with a button: it waits for one of
    the training slots (core.slots) as a training does, then runs with its progress shown and a
    Stop button; Stop or any other widget reruns the page, which ends it between two of its
    steps. `steps()` yields {"progress": 0..1} events and a last {"kind": "end", ...}, returned
    (None when stopped)."""
    button, bar = where.empty(), where.empty()
    ticket = _take_slot(button, key)
    events = steps()
    try:
        button.button(t("common.stop"), key=f"{key}_stop", help=t("common.stop_help"))
        for event in events:
            if event.get("kind") == "end":
                return event
            bar.progress(min(1.0, max(0.0, float(event.get("progress", 0.0)))), text=label)
        return None
    finally:
        button.empty()
        bar.empty()
        if hasattr(events, "close"):
            events.close()
        slots.shared(current_device().type).release(ticket)


def time_check(estimate: float, key: str, levers: list[tuple | None] = (), steps: int | None = None,
               at_most: bool = False, where=st) -> bool:
    """The run's estimated time, shown by its button; above the confirmation limit
    (core.slots.confirm_seconds) a warning names the setting that makes the run long and a
    cheaper choice (the first of `levers` that gets under the limit, else the most saving),
    and the learner must tick a box. `at_most`: early stopping may end the run sooner.
    Returns whether the button may start the run."""
    device = current_device().type.upper()
    said = format_seconds(estimate)
    where.caption(t("engine.estimate_at_most", estimate=said, device=device) if at_most
                  else t("engine.estimate", estimate=said, device=device, steps=steps) if steps
                  else t("engine.estimate_short", estimate=said, device=device))
    limit = slots.confirm_seconds()
    if estimate <= limit:
        return True
    choices = [c for c in levers if c is not None]
    if choices:
        fitting = [c for c in choices if c[3] <= limit]
        label, value, cheaper, cheaper_estimate = fitting[0] if fitting else min(choices, key=lambda c: c[3])
        where.warning(t("engine.long_run", estimate=said, limit=format_seconds(limit), setting=label, value=value,
                        cheaper=f"{label} = {cheaper}", cheaper_estimate=format_seconds(cheaper_estimate)), icon="⏱")
    return where.checkbox(t("engine.long_run_confirm", estimate=said), key=f"{key}_confirm")


Weights = nn.Module | dict[str, nn.Module] | None  # what a run keeps: one model, or several by name


def run_training(events: Iterable[dict], *, key: str, label: str, store: RunStore, settings,
                 results: Callable[[list[dict], dict | None], dict] | None = None, weights: Weights = None,
                 live_view: Callable[[list[dict]], None] | None = None, metric: str = "accuracy",
                 keep_partial: Callable[[list[dict]], bool] = has_epoch,
                 redraw_seconds: float = REDRAW_SECONDS, queue: bool = True, clear: bool = False) -> Run:
    """Drain a training generator on the page and keep the run it made in `store`.

    `events` yields dicts with a "kind"; the last one has kind "end" (its "words" are shown).
    Events with "progress" (0..1) move the progress bar; "eta", "loss"/"train_loss" and
    "elapsed" are shown when present. `live_view(history)` draws the live picture inside one
    container (default: the loss/accuracy chart). The run kept is a `Run` of `settings`, with
    `results(history, end)` (the page's figures; `end` is None for a stopped run) and the
    weights of `weights` (a model, or a dict of models by name) as CPU state_dicts.

    Stop, like any widget, reruns the script, which interrupts this loop at once: the
    partial run is then kept if `keep_partial(history)`, and `announce(store)` tells the
    learner on the next rerun.

    With `queue` (the default) the training first takes one of the server's few training
    slots (core.slots), waiting its turn with its place in the queue shown; the slot is given
    back however the run ends. Demos that finish in well under a second pass `queue=False`.
    With `clear`, the panel (button, progress, live view) is removed once the run is kept: for
    pages that draw the finished run below it.
    """
    if clear:
        panel = st.empty()
        with panel.container():
            run = run_training(events, key=key, label=label, store=store, settings=settings, results=results,
                               weights=weights,
                               live_view=live_view, metric=metric, keep_partial=keep_partial,
                               redraw_seconds=redraw_seconds, queue=queue)
        panel.empty()
        return run
    button = st.empty()
    ticket = _take_slot(button, key) if queue else None
    try:
        button.button(t("common.stop"), key=f"{key}_stop", help=t("common.stop_help"))
        link = share.run_link()
        make_run = functools.partial(_make_run, store.start(settings, link), settings, results, weights, link)
        return _drain(events, key, label, store, make_run, live_view, metric, keep_partial, redraw_seconds)
    finally:
        store.discard()  # a run that started and was not kept (an error, a Stop before its first epoch)
        if hasattr(events, "close"):  # a stopped run's generator (and any threads it runs) ends now
            events.close()
        if ticket is not None:
            slots.shared(current_device().type).release(ticket)


def _make_run(run_no: int, settings, results, weights: Weights, link: str, history: list[dict],
              end: dict | None) -> Run:
    """The run as kept: its number, figures, weights on the CPU and the link that reproduces it."""
    state_dict = (None if weights is None else cpu_state_dict(weights) if isinstance(weights, nn.Module)
                  else {name: cpu_state_dict(model) for name, model in weights.items()})
    return Run(run_no, settings, history, end, results(history, end) if results else {}, state_dict, link)


def _take_slot(button, key: str) -> slots.Ticket:
    """Join the training queue and wait for a slot, showing the place and expected wait.

    Leaving the queue (its button, or any widget) reruns the script: the caller's `finally`
    then gives the place back.
    """
    queue = slots.shared(current_device().type)
    ticket = queue.join(key)
    if ticket.granted:
        return ticket
    try:
        button.button(t("common.leave_queue"), key=f"{key}_leave")
        notice = st.empty()
        while not queue.wait(ticket, timeout=0.5):
            wait = queue.estimated_wait(ticket)
            notice.info(t("common.queued", position=queue.position(ticket), busy=queue.busy[0],
                          wait=format_seconds(wait) if wait is not None else t("common.wait_unknown")),
                        icon="⏳")
        notice.empty()
    except BaseException:
        queue.release(ticket)
        raise
    return ticket


def _drain(events, key, label, store, make_run, live_view, metric, keep_partial, redraw_seconds) -> Run:
    progress = st.progress(0.0, text=t("common.starting", label=label))
    view = st.empty()
    draw = live_view or (lambda history: st.altair_chart(training_chart(history, metric), width="stretch"))
    history: list[dict] = []
    end, finished, last_draw, fraction = None, False, 0.0, 0.0
    started = time.perf_counter()
    try:
        for event in events:
            if event["kind"] == "end":
                end = event
                break
            history.append(event)
            _bound(history)
            if "progress" in event:  # events without it (an engine epoch) keep the bar where it is
                fraction = min(1.0, max(0.0, float(event["progress"])))
            elif event["kind"] == "epoch" and event.get("eta") is not None and event.get("elapsed"):
                fraction = event["elapsed"] / (event["elapsed"] + event["eta"])
            now = time.perf_counter()
            if now - last_draw >= redraw_seconds:
                _show_progress(progress, label, event, now - started, fraction)
                with view.container():
                    draw(history)
                last_draw = now
        finished = True
    finally:
        if not finished:  # Stop, a widget change or an error cut the run short: keep what ran
            if keep_partial(history):
                run = make_run(history, None)
                told = store.add(run)
                store.set_notice(" ".join([t("common.stopped_kept", name=run.name), *told]))
                lessons.note_run(store.key)
            else:
                store.set_notice(t("common.stopped_nothing"))
    if history:
        with view.container():
            draw(history)
    progress.progress(1.0, text=f"{label}: {end_text(end)}")
    run = make_run(history, end)
    for told in store.add(run):
        st.info(told)
    lessons.note_run(store.key)
    return run


def end_text(end: dict | None) -> str:
    """How a run ended, in the session's language: the end event's words, else its message."""
    if end is None:
        return t("common.stopped")
    return say(end["words"]) if end.get("words") is not None else end.get("message", "")


def _show_progress(progress, label: str, event: dict, elapsed: float, fraction: float) -> None:
    elapsed = event.get("elapsed", elapsed)
    eta = event.get("eta")
    if eta is None and fraction > 0:
        eta = elapsed / fraction * (1 - fraction)
    loss = event.get("loss", event.get("train_loss"))
    progress.progress(fraction, text=t(
        "common.progress", label=label, percent=100 * fraction,
        loss=t("common.progress_loss", loss=loss) if loss is not None else "",
        elapsed=format_seconds(elapsed), eta=format_seconds(eta)))


def _bound(history: list[dict]) -> None:
    """Past HISTORY_LIMIT batch events, keep every other one: the curve keeps its whole span."""
    if len(history) <= HISTORY_LIMIT:  # cheap test first: this runs on every event
        return
    batches = [i for i, e in enumerate(history) if e["kind"] == "batch"]
    if len(batches) > HISTORY_LIMIT:
        dropped = set(batches[1::2])
        history[:] = [e for i, e in enumerate(history) if i not in dropped]
