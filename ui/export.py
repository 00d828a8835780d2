""""📦 Take your model": a kept run's model(s) as .pt (weights + settings) and as ONNX, with a
short "use it" snippet. One call per run store: `export_box(store)`."""
import streamlit as st
import torch

from core import export
from ui.content import labels, t
from ui.runs import RunStore


def export_box(store: RunStore, key: str | None = None) -> None:
    """The expander for `store`'s kept runs (the newest picked at first, and again after each new
    run). Nothing is exported on a rerun: each file is made when its button is clicked."""
    key = key or f"export_{store.key}"
    found = export.entry(store.key)
    kept = [r for r in reversed(store.runs) if export.models_in(store.key, r.state_dict)]  # newest first
    with st.expander(t("export.title"), icon="📦"):
        if not kept:
            st.caption(t("export.no_weights" if store.runs else "export.empty"))
            return
        _follow_newest(kept[0].id, [r.name for r in kept], key)
        run = store.get(st.selectbox(t("export.pick_run"), [r.name for r in kept], key=f"{key}_run"))
        st.caption(t("export.intro", opset=export.OPSET))
        models = export.models_in(store.key, run.state_dict)
        names = labels(f"export.model_{store.key}", [m for m in models if m])
        for model, weights in models.items():
            _downloads(store.key, run, model, weights, names(model) if model else run.name, key)
        first = next(iter(models))
        build = (t("export.build_recipe", recipe=f"{found.recipe}.py") if found.recipe
                 else t(f"export.build_{store.key}_{first}"))
        shape = ", ".join(map(str, (1, *found.shape(run.settings, first))))
        st.code(t("export.snippet", pt=export.file_name(store.key, run.id, first, ".pt"), build=build,
                  onnx=export.file_name(store.key, run.id, first, ".onnx"), shape=shape,
                  input=t(f"export.input_{store.key}")), language="python")


def _follow_newest(newest: int, names: list[str], key: str) -> None:
    """The picker shows the newest kept run once it arrives, and never a run that is gone."""
    state = st.session_state
    if newest > state.get(f"{key}_followed", 0) or state.get(f"{key}_run") not in names:
        state[f"{key}_followed"], state[f"{key}_run"] = newest, names[0]


def _downloads(store: str, run, model: str, weights: dict, label: str, key: str) -> None:
    """One model's two buttons; the bytes are made on the click (ONNX export takes a moment)."""
    suffix = f"_{model}" if model else ""
    finite = st.session_state.setdefault(f"{key}_finite", {})  # (run, model) -> bool: read once, not per rerun
    if (run.id, model) not in finite:  # a ResNet-18's 11 M weights take a noticeable part of a rerun
        finite[run.id, model] = all(bool(torch.isfinite(v).all()) for v in weights.values() if v.is_floating_point())
    if not finite[run.id, model]:
        st.warning(t("export.not_finite", model=label))
    col_pt, col_onnx = st.columns(2)
    col_pt.download_button(t("export.download_pt", model=label), lambda: export.pt_bytes(
        store, run.settings, weights, model), file_name=export.file_name(store, run.id, model, ".pt"),
        mime="application/octet-stream", key=f"{key}_pt{suffix}", on_click="ignore")
    col_onnx.download_button(t("export.download_onnx", model=label), lambda: export.run_onnx_bytes(
        store, run.settings, weights, model), file_name=export.file_name(store, run.id, model, ".onnx"),
        mime="application/octet-stream", key=f"{key}_onnx{suffix}", on_click="ignore")
