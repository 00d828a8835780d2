"""One run record and one bounded, session-scoped store of runs, the same on every page, and the
pickers that follow it."""
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
import torch
from torch import nn

from ui.content import t

DEFAULT_LIMIT = 20  # runs kept per store and session: bounded memory for a whole class


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
    """A page's runs in this session (st.session_state), oldest dropped first past `limit`."""

    def __init__(self, key: str, limit: int = DEFAULT_LIMIT):
        self.key, self.limit = key, limit
        state = st.session_state.setdefault(key, {"runs": [], "next_id": 1, "notice": None})
        self._state = state

    @property
    def runs(self) -> list[Run]:
        return self._state["runs"]

    @property
    def latest(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.runs]

    def next_id(self) -> int:
        return self._state["next_id"]

    def get(self, name: str) -> Run | None:
        return next((r for r in self.runs if r.name == name), None)

    def add(self, run: Run) -> Run | None:
        """Keep `run`; returns the run dropped to stay within the limit, if any."""
        self.runs.append(run)
        self._state["next_id"] = max(self._state["next_id"], run.id + 1)
        if len(self.runs) > self.limit:
            return self.runs.pop(0)
        return None

    def remove(self, names) -> None:
        doomed = set(names)
        self._state["runs"] = [r for r in self.runs if r.name not in doomed]

    def clear(self) -> None:
        self._state["runs"] = []

    def set_notice(self, text: str | None) -> None:
        """A message for the next rerun (a run stopped mid-way cannot draw anything itself)."""
        self._state["notice"] = text

    def pop_notice(self) -> str | None:
        notice, self._state["notice"] = self._state["notice"], None
        return notice


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
