"""One run record and one bounded, session-scoped store of runs, the same on every page, and the
pickers that follow it."""
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
import torch
from torch import nn

import db
from ui import workspace
from ui.content import t

DEFAULT_LIMIT = 20  # runs kept per store and workspace: bounded memory and storage for a whole class
log = logging.getLogger("playground.runs")


@dataclass
class Run:
    """A finished or stopped training run: its settings, events, results and weights."""
    id: int                          # 1, 2, 3… within its store
    settings: Any                    # the page's settings dataclass, as it was for this run
    history: list[dict]              # the events the live chart saw (batch, epoch, …)
    end: dict | None                 # the end event; None when Stop cut the run short
    results: dict = field(default_factory=dict)   # the page's numbers about this run
    state_dict: dict | None = None   # weights on the CPU (never a live nn.Module)
    link: str = ""                   # the page with this run's settings (ui.share.run_link)

    @property
    def name(self) -> str:
        return f"#{self.id}"

    @property
    def stopped(self) -> bool:
        return self.end is None

    @property
    def epochs(self) -> list[dict]:
        return [e for e in self.history if e["kind"] == "epoch"]


def cpu_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's weights, safe to keep after the model is gone."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


class RunStore:
    """A page's runs: kept in the learner's workspace (ui.workspace, the database) and read from
    there once per session into st.session_state; oldest dropped first past `limit` (and past
    the workspace's byte quota). Without a database, the same in this session only."""

    def __init__(self, key: str, limit: int = DEFAULT_LIMIT):
        self.key, self.limit = key, limit
        state = st.session_state.get(key)
        if state is None:
            state = st.session_state[key] = {}
            self._load(state)
        for name, empty in (("runs", []), ("next_id", 1), ("notice", None), ("interrupted", []), ("training", None)):
            state.setdefault(name, empty)
        self._state = state

    def _load(self, state: dict) -> None:
        """The workspace's kept runs of this store, and the runs a stopped server interrupted."""
        database, ws = workspace.database(), workspace.current()
        if database is None or ws is None:
            return
        try:
            stored = database.load_runs(ws, self.key)
        except Exception as exc:  # a database gone away mid-session: the page still works
            log.error("reading %s failed (%s)", self.key, type(exc).__name__)
            state["notice"] = t("workspace.load_failed")
            return
        unreadable = [r for r in stored if r.problems]
        state["runs"] = [Run(r.run_no, r.settings, r.history, r.end, r.results, r.state_dict, r.link)
                         for r in stored if r.status == db.KEPT and not r.problems]
        state["interrupted"] = [r for r in stored if r.status == db.INTERRUPTED and not r.problems]
        state["next_id"] = max((r.run_no for r in stored), default=0) + 1
        if unreadable:
            state["notice"] = t("workspace.unreadable", count=len(unreadable))

    @property
    def runs(self) -> list[Run]:
        return self._state["runs"]

    @property
    def latest(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]

    @property
    def interrupted(self) -> list:
        """Runs that were training when their server stopped (db.StoredRun: settings, link, time)."""
        return self._state["interrupted"]

    def next_id(self) -> int:
        return self._state["next_id"]

    def get(self, name: str) -> Run | None:
        return next((r for r in self.runs if r.name == name), None)

    def start(self, settings, link: str) -> int:
        """A run begins: its number, and (with a database) a "training" row with its settings and
        link, so that a server dying mid-run leaves it behind as interrupted."""
        run_no, database, ws = self.next_id(), workspace.database(), workspace.current()
        if database is not None and ws is not None:
            with _logged(f"starting a run in {self.key}"):
                started = database.start_run(ws, self.key, run_no, settings, link)
                self._state["training"], run_no = started.row_id, started.run_no
        self._state["next_id"] = run_no + 1
        return run_no

    def discard(self) -> None:
        """The run that started ended with nothing to keep."""
        row_id, self._state["training"] = self._state["training"], None
        if row_id is not None and (database := workspace.database()) is not None:
            with _logged(f"discarding a run in {self.key}"):
                database.discard_run(row_id)

    def add(self, run: Run) -> list[str]:
        """Keep `run` (written to the workspace once, here); returns what the learner should be told:
        runs dropped to stay within the limits, weights too large to keep."""
        self._state["training"] = None
        database, ws = workspace.database(), workspace.current()
        told = []
        if database is not None and ws is not None:
            try:
                kept = database.keep_run(ws, self.key, run.id, run.settings, run.history, run.end, run.results,
                                         run.link, run.state_dict, limit=self.limit)
            except Exception as exc:  # the run stays in this session; the learner is told it is not saved
                log.error("keeping a run in %s failed (%s)", self.key, type(exc).__name__)
                told.append(t("workspace.keep_failed", name=run.name))
            else:
                run.id = kept.run_no
                if not kept.weights_stored and run.state_dict is not None:
                    told.append(t("workspace.weights_not_kept", name=run.name,
                                  limit=db.settings.max_weights_bytes() / 2**20))
                for dropped in kept.dropped:
                    _forget(dropped.store, dropped.run_no)
                    told.append(t(f"workspace.dropped_{dropped.reason}", name=f"#{dropped.run_no}",
                                  limit=self.limit))
        self.runs.append(run)
        self._state["next_id"] = max(self._state["next_id"], run.id + 1)
        if len(self.runs) > self.limit:  # without a database; with one, already dropped above
            dropped_run = self.runs.pop(0)
            told.append(t("common.runs_dropped", limit=self.limit, name=dropped_run.name))
        return list(dict.fromkeys(told))

    def remove(self, names) -> None:
        doomed = set(names)
        gone = [r.id for r in self.runs if r.name in doomed]
        self._state["runs"] = [r for r in self.runs if r.name not in doomed]
        if gone and (database := workspace.database()) is not None and (ws := workspace.current()) is not None:
            with _logged(f"removing runs of {self.key}"):
                database.remove_runs(ws, self.key, gone)

    def clear(self) -> None:
        self._state["runs"] = []
        if (database := workspace.database()) is not None and (ws := workspace.current()) is not None:
            with _logged(f"clearing {self.key}"):
                database.clear(ws, self.key)

    def dismiss(self, run_no: int) -> None:
        """Forget an interrupted run."""
        self._state["interrupted"] = [r for r in self.interrupted if r.run_no != run_no]
        if (database := workspace.database()) is not None and (ws := workspace.current()) is not None:
            with _logged(f"dismissing an interrupted run of {self.key}"):
                database.remove_runs(ws, self.key, [run_no])

    def set_notice(self, text: str | None) -> None:
        """A message for the next rerun (a run stopped mid-way cannot draw anything itself)."""
        self._state["notice"] = text

    def pop_notice(self) -> str | None:
        notice, self._state["notice"] = self._state["notice"], None
        return notice


def _forget(store: str, run_no: int) -> None:
    """A run the database dropped (over a limit or the quota), out of its store in this session too."""
    state = st.session_state.get(store)
    if isinstance(state, dict) and isinstance(state.get("runs"), list):
        state["runs"] = [r for r in state["runs"] if r.id != run_no]


@contextlib.contextmanager
def _logged(what: str):
    """A database write that fails leaves the run in this session and says so in the log, never a
    traceback on the page (the learner keeps working)."""
    try:
        yield
    except Exception as exc:
        log.error("%s failed (%s)", what, type(exc).__name__)


def follow_latest(store: RunStore, key: str, pickers: tuple[str, ...], overlay: str | None = None) -> None:
    """Point the run pickers (session-state keys `pickers`) at a run kept since the last rerun (a
    finished run, or one Stop cut short on the rerun before) and add it to the `overlay`
    multiselect (every run by default); forget runs that were removed or dropped. `key` names
    the state that remembers which run was followed last."""
    names, latest, state = store.names, store.latest, st.session_state
    overlaid = [n for n in state.get(overlay, names) if n in names] if overlay else []
    if latest is not None and latest.id > state.get(key, 0):
        state[key] = latest.id
        state.update({picker: latest.name for picker in pickers})
        overlaid = [n for n in overlaid if n != latest.name] + [latest.name]
    if overlay:
        state[overlay] = overlaid
    if latest is not None:
        state.update({picker: latest.name for picker in pickers if state.get(picker) not in names})


def remove_row(store: RunStore, key: str) -> None:
    """Pick runs and remove them from `store`: a multiselect and its button, side by side."""
    col_sel, col_btn = st.columns([3, 1])
    col_sel.multiselect(t("common.remove_select"), store.names, key=f"{key}_select",
                        placeholder=t("common.remove_placeholder"))
    col_btn.button(t("common.remove"), key=key, disabled=not st.session_state.get(f"{key}_select"),
                   on_click=lambda: store.remove(st.session_state.pop(f"{key}_select", [])))
