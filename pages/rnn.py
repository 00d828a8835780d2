"""RNN, LSTM and GRU: sine waves, long-term memory, inside the gates, equations with live shapes."""
import math

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch

import ui
from core import sequences as seq
from core.models import count_params

CELL_COLORS = alt.Scale(domain=["RNN", "LSTM", "GRU"], range=["#e45756", "#4c78a8", "#54a24b"])

ui.ensure_app_shell()
st.title("🔁 RNN, LSTM & GRU")
st.markdown(
    "A recurrent network reads a sequence one step at a time and carries a **hidden state** "
    "hₜ from step to step. The plain RNN squashes everything through one tanh; the LSTM adds "
    "a **cell state** guarded by input/forget/output gates, the GRU merges them into update "
    "and reset gates. Train all three on the same data with the same seed and see the claims "
    "from the notes happen: who fits, who remembers, and what the gates do."
)


@st.cache_resource(show_spinner=False)
def sine_data(samples: int, seq_len: int) -> dict:
    return seq.make_sine_data(seq.SineConfig(samples=samples, seq_len=seq_len))


def _runs() -> list[dict]:
    return st.session_state.setdefault("rnn_runs", [])


def _chart(chart) -> None:
    st.altair_chart(chart, width="stretch")


# --- 1. The sine task -------------------------------------------------------------------------
st.header("1 · Sine waves: RNN vs LSTM vs GRU")
st.markdown(
    "As in the notes: sequences start at random phases, xₜ = sin(φ + 0.1·t), and the target "
    "is the same wave shifted by 0.1, i.e. the **next** value. 20 % of the sequences are held "
    "out. Each model is `nn.RNN/LSTM/GRU(1, hidden)` + `nn.Linear(hidden, 1)` on every step, "
    "trained with Adam and MSE by the playground's engine."
)
c1, c2, c3 = st.columns(3)
with c1:
    seq_len = st.slider("Sequence length T", 5, 200, 50, step=5, key="rnn_seq_len",
                        help="Time steps per training sequence.")
    samples = st.slider("Sequences", 100, 5000, 1000, step=100, key="rnn_samples",
                        help="Number of sine sequences (80 % train, 20 % test).")
with c2:
    hidden = st.select_slider("Hidden size D_h", [4, 8, 16, 32, 64, 128], 32, key="rnn_hidden")
    layers = st.slider("Layers", 1, 3, 1, key="rnn_layers",
                       help="Stacked recurrent layers (num_layers).")
with c3:
    lr = st.select_slider("Learning rate (Adam)", [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3],
                          0.01, key="rnn_lr")
    epochs = st.slider("Epochs", 1, 300, 100, key="rnn_epochs")
    batch = st.select_slider("Batch size", [16, 32, 64, 128, 256, "full"], 128, key="rnn_batch",
                             help="128 → 7 Adam steps per epoch on 800 sequences. Smaller "
                                  "batches fit better but take longer.")

data = sine_data(samples, seq_len)
n_train = len(data["x_train"])
batch_size = n_train if batch == "full" else int(batch)
train_cfg = seq.SineTrainConfig(hidden_size=hidden, num_layers=layers, lr=lr, epochs=epochs,
                                batch_size=batch_size)
settings = {"T": seq_len, "sequences": samples, "hidden": hidden, "layers": layers, "lr": lr,
            "epochs": epochs, "batch": batch_size}
steps_total = epochs * math.ceil(n_train / batch_size)
st.caption(f"{n_train} training / {len(data['x_test'])} test sequences · {steps_total:,} Adam "
           f"steps per model · the three models get the same data, the same batch order and "
           f"the same seed.")
if lr >= 0.1:
    st.warning("A learning rate this large often makes recurrent nets diverge (NaN loss); "
               "if that happens the run stops with a message.")
if steps_total * seq_len * hidden > 5e8:
    st.warning("These settings are heavy for a laptop CPU: expect minutes per model. "
               "Press ⏹ Stop at any time — finished models are kept.")

if st.button("▶ Train RNN, LSTM and GRU", type="primary", key="rnn_train"):
    device = ui.current_device()
    run = {"id": len(_runs()) + 1, "settings": settings, "cells": {}, "status": "stopped"}
    _runs().append(run)  # stored first: a Stop keeps the models finished so far
    st.session_state["rnn_models"] = {"run": run["id"], "settings": settings, "models": {}}
    for cell in seq.CELLS:
        label = seq.CELL_LABELS[cell]
        st.subheader(f"Training the {label}")
        model, events = seq.train_sine(cell, data, train_cfg, device)
        history, end = ui.live_training(events, key=f"rnn_live_{cell}", label=label, metric="loss")
        epochs_seen = [e for e in history if e["kind"] == "epoch"]
        if end is not None and end["reason"] == "diverged":
            st.error(f"{label}: {end['message']}")
        model = model.cpu()
        final = epochs_seen[-1]["train_loss"] if epochs_seen else float("nan")
        diverged = end is not None and end["reason"] == "diverged"
        run["cells"][cell] = {
            "params": count_params(model),
            "seconds": end["elapsed"] if end else float("nan"),
            "train_loss": final,
            "test_mse": float("nan") if diverged else seq.test_mse(model, data, torch.device("cpu")),
            "curve": [(e["epoch"], e["train_loss"], e["val_loss"]) for e in epochs_seen],
            "diverged": diverged,
        }
        if not diverged:
            st.session_state["rnn_models"]["models"][cell] = model
    run["status"] = "complete"
    st.success("All three trained. Results below; change a setting and train again to compare.")

runs = _runs()
latest = st.session_state.get("rnn_models")
if not runs:
    st.info("Press **Train RNN, LSTM and GRU** (about 10–20 s on a 2-core CPU with the "
            "defaults). Progress is shown for each model, one after the other.")
else:
    # Loss curves, overlaid, log scale
    st.subheader("Loss curves")
    run_ids = [r["id"] for r in runs]
    shown = st.multiselect("Runs to overlay", run_ids, default=[run_ids[-1]], key="rnn_show_runs",
                           format_func=lambda i: f"run {i}")
    rows = []
    for r in runs:
        if r["id"] not in shown:
            continue
        for cell, res in r["cells"].items():
            for epoch, train_loss, val_loss in res["curve"]:
                for split, value in (("train", train_loss), ("test", val_loss)):
                    if value is not None and value > 0 and math.isfinite(value):
                        rows.append({"epoch": epoch, "loss": value, "cell": seq.CELL_LABELS[cell],
                                     "split": split, "run": f"run {r['id']}"})
    if rows:
        curves = pd.DataFrame(rows)
        dash = "run:N" if len(shown) > 1 else "split:N"
        _chart(alt.Chart(curves).mark_line().encode(
            x=alt.X("epoch:Q"),
            y=alt.Y("loss:Q", scale=alt.Scale(type="log"), title="MSE (log scale)"),
            color=alt.Color("cell:N", scale=CELL_COLORS, title="cell"),
            strokeDash=alt.StrokeDash(dash, title=dash.split(":")[0]),
            detail="split:N",
            tooltip=["run", "cell", "split", "epoch", alt.Tooltip("loss:Q", format=".2e")],
        ).properties(height=300))
        st.caption("Mean squared error per epoch on a log scale (each gridline down is 10× "
                   "smaller). Look at how fast each cell drops and where it flattens; train and "
                   "test lying on top of each other means no overfitting — the task has no noise.")
    else:
        st.info("No finished epochs to draw yet for the selected runs.")

    # Runs table
    st.subheader("Parameters, time and final loss")
    table = []
    for r in runs:
        for cell, res in r["cells"].items():
            table.append({"run": r["id"], "cell": seq.CELL_LABELS[cell], "params": res["params"],
                          "train time (s)": round(res["seconds"], 1),
                          "final train MSE": res["train_loss"], "test MSE": res["test_mse"],
                          **{k: v for k, v in r["settings"].items()},
                          "status": "diverged" if res["diverged"] else r["status"]})
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch",
                 column_config={"final train MSE": st.column_config.NumberColumn(format="%.2e"),
                                "test MSE": st.column_config.NumberColumn(format="%.2e"),
                                "params": st.column_config.NumberColumn(format="%d")})
    st.caption("Parameters: RNN 1·(D_h·d + D_h² + 2D_h), GRU 3·(…), LSTM 4·(…), plus the head "
               "D_h+1 — at D_h = 32: 1,153 / 3,393 / 4,513. GRU has ¾ of the LSTM's weights. "
               "Time is wall-clock on this machine: PyTorch's CPU GRU kernel is often slower "
               "than its LSTM one despite fewer weights, so fewer parameters ≠ faster here. "
               "'stopped' = interrupted with ⏹ (finished models are kept).")
    if st.button("Clear all runs", key="rnn_clear_runs"):
        st.session_state["rnn_runs"] = []
        st.session_state.pop("rnn_models", None)
        st.rerun()

models = (latest or {}).get("models", {})
if models:
    cpu = torch.device("cpu")
    run_settings = latest["settings"]
    run_data = sine_data(run_settings["sequences"], run_settings["T"])
    if run_settings != settings:
        st.caption(f"ℹ️ The plots below use run {latest['run']}'s models and data; the sliders "
                   "have changed since. Train again to update them.")
    x_test, y_test = run_data["x_test"], run_data["y_test"]

    # Prediction vs truth on held-out sequences
    st.subheader("Prediction vs truth on held-out sequences")
    index = st.slider("Test sequence", 0, len(x_test) - 1, 0, key="rnn_test_index")
    T_run = x_test.shape[1]
    rows = [{"t": t, "value": float(y_test[index, t, 0]), "series": "truth (next value)"}
            for t in range(T_run)]
    for cell, model in models.items():
        with torch.no_grad():
            pred = model(x_test[index:index + 1])[0, :, 0]
        rows += [{"t": t, "value": float(pred[t]), "series": seq.CELL_LABELS[cell]}
                 for t in range(T_run)]
    _chart(alt.Chart(pd.DataFrame(rows)).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=alt.X("t:Q", title="time step t"), y=alt.Y("value:Q", title="sin"),
        color=alt.Color("series:N", scale=alt.Scale(
            domain=["truth (next value)", "RNN", "LSTM", "GRU"],
            range=["#999999", "#e45756", "#4c78a8", "#54a24b"])),
        tooltip=["series", "t", alt.Tooltip("value:Q", format=".4f")]).properties(height=260))
    st.caption("Each model sees the true wave up to step t and predicts step t+1. Look at the "
               "first few steps: with an empty memory (h₀ = 0) the phase is ambiguous, so the "
               "first predictions are the worst for every cell.")

    # Free-running forecast
    st.subheader("Free-running forecast: feeding predictions back in")
    horizon = st.slider("Forecast horizon (steps)", 10, 400, 100, step=10, key="rnn_horizon")
    phase = float(run_data["phases_test"][index])
    truth = seq.forecast_truth(phase, T_run, horizon)
    rows = [{"t": t, "value": float(x_test[index, t, 0]), "series": "context (true input)"}
            for t in range(T_run)]
    rows += [{"t": T_run + k, "value": float(truth[k]), "series": "truth"} for k in range(horizon)]
    errors = {}
    for cell, model in models.items():
        forecast = seq.free_run_forecast(model, x_test[index], horizon, cpu)
        errors[seq.CELL_LABELS[cell]] = float(np.mean((forecast - truth) ** 2))
        rows += [{"t": T_run + k, "value": float(forecast[k]), "series": seq.CELL_LABELS[cell]}
                 for k in range(horizon)]
    _chart(alt.Chart(pd.DataFrame(rows)).mark_line().encode(
        x=alt.X("t:Q", title="time step t"), y=alt.Y("value:Q", title="sin"),
        color=alt.Color("series:N", scale=alt.Scale(
            domain=["context (true input)", "truth", "RNN", "LSTM", "GRU"],
            range=["#333333", "#bbbbbb", "#e45756", "#4c78a8", "#54a24b"])),
        tooltip=["series", "t", alt.Tooltip("value:Q", format=".3f")]).properties(height=280))
    cols = st.columns(len(errors))
    for col, (label, err) in zip(cols, errors.items()):
        col.metric(f"{label} forecast MSE", f"{err:.2e}")
    st.caption(f"After the {T_run}-step context, each prediction becomes the next input, so "
               "errors compound. Look at where each curve drifts from the grey truth: the "
               "models only ever trained on sequences of length "
               f"{T_run}, so beyond that they run in territory they never saw.")

# --- 2. Long-term memory ----------------------------------------------------------------------
st.header("2 · Long-term memory: recall the first value")
st.markdown(
    "Step 0 carries a number v ∈ [−1, 1] with a marker (second input channel = 1); the next "
    "T−1 steps carry random distractor numbers from the same range. At every step the "
    "network must output v. An answer is **right** if the last output, after T−1 "
    "distractors, is within ±0.1 of v (always answering 0 scores ≈ 10 %). The LSTM/GRU can "
    "close their input gate after the marker; a plain RNN must keep v alive through repeated "
    "tanh mixing with the distractors."
)
m1, m2, m3 = st.columns(3)
with m1:
    t_max = st.select_slider("Longest T", [8, 12, 20, 40, 60, 80, 100], 40, key="rnn_mem_T",
                             help="Tested at T/8, T/4, T/2 and T.")
with m2:
    mem_epochs = st.slider("Epochs per model", 2, 100, 30, key="rnn_mem_epochs")
with m3:
    mem_samples = st.select_slider("Training sequences", [128, 256, 512, 1024, 2048], 512,
                                   key="rnn_mem_samples")
t_values = tuple(sorted({max(2, round(t_max / k)) for k in (8, 4, 2, 1)}))
mem_cfg = seq.MemoryConfig(t_values=t_values, samples=mem_samples, epochs=mem_epochs)
st.caption(f"T grid: {', '.join(map(str, t_values))} · 3 cells × {len(t_values)} lengths = "
           f"{3 * len(t_values)} small trainings (hidden 32, Adam 0.01, batch 32, seed 0).")

if st.button("▶ Run the memory experiment", type="primary", key="rnn_mem_run"):
    device = ui.current_device()
    store = {"config": mem_cfg, "results": [], "gradients": {}, "status": "stopped"}
    st.session_state["rnn_memory"] = store  # partial results survive a Stop
    st.button("⏹ Stop", key="rnn_mem_stop", help="Stops now; the points so far are kept.")
    bar = st.progress(0.0, text="Memory experiment: starting…")
    live = st.empty()
    for event in seq.run_memory_experiment(mem_cfg, device):
        if event["kind"] == "progress":
            bar.progress(min(1.0, event["progress"]),
                         text=(f"{seq.CELL_LABELS[event['cell']]} at T={event['T']}: epoch "
                               f"{event['epoch']}/{mem_cfg.epochs}, loss {event['loss']:.4f}"))
        elif event["kind"] == "result":
            store["results"].append(event)
            done = pd.DataFrame(store["results"])
            done["cell"] = done["cell"].map(seq.CELL_LABELS)
            live.dataframe(done[["cell", "T", "accuracy", "seconds"]], hide_index=True)
        elif event["kind"] == "gradients":
            store["gradients"][event["cell"]] = event
    store["status"] = "complete"
    bar.progress(1.0, text="Memory experiment: done.")

memory = st.session_state.get("rnn_memory")
if not memory or not memory["results"]:
    st.info("Press **Run the memory experiment** (about a minute with the defaults on a "
            "laptop CPU; ⏹ Stop keeps what is finished).")
else:
    if memory["status"] != "complete":
        st.warning("The last experiment was stopped; showing the points that finished.")
    res = pd.DataFrame(memory["results"])
    res["cell"] = res["cell"].map(seq.CELL_LABELS)
    if res["diverged"].any():
        st.error("Some trainings diverged (NaN loss); they are scored 0 %.")
    chance = alt.Chart(pd.DataFrame({"y": [10.0]})).mark_rule(strokeDash=[4, 4], color="gray").encode(y="y:Q")
    _chart((alt.Chart(res).mark_line(point=True).encode(
        x=alt.X("T:Q", title="sequence length T (answer is T−1 steps after v)"),
        y=alt.Y("accuracy:Q", title="answers within ±0.1 (%)", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("cell:N", scale=CELL_COLORS),
        tooltip=["cell", "T", alt.Tooltip("accuracy:Q", format=".1f"),
                 alt.Tooltip("seconds:Q", format=".1f")]) + chance).properties(height=280))
    st.caption("Accuracy on 500 held-out sequences per T; the dashed line is the ≈10 % you get "
               "by always answering 0. Look for where the RNN falls towards the dashed line "
               "while the LSTM and GRU stay near 100 %.")

    grads = memory["gradients"]
    if grads:
        rows = []
        for cell, ev in grads.items():
            T_g = ev["T"]
            for stage in ("initial", "trained"):
                for t, g in enumerate(ev[stage]):
                    if g > 0:
                        rows.append({"steps before the answer": T_g - 1 - t, "|dL/dx_t|": g,
                                     "cell": seq.CELL_LABELS[cell],
                                     "weights": "at initialisation" if stage == "initial" else "after training"})
        if rows:
            _chart(alt.Chart(pd.DataFrame(rows)).mark_line(point=alt.OverlayMarkDef(size=10)).encode(
                x=alt.X("steps before the answer:Q", scale=alt.Scale(reverse=True)),
                y=alt.Y("|dL/dx_t|:Q", scale=alt.Scale(type="log"), title="mean |∂L/∂xₜ| (log)"),
                color=alt.Color("cell:N", scale=CELL_COLORS),
                tooltip=["cell", "steps before the answer", alt.Tooltip("|dL/dx_t|:Q", format=".2e")],
            ).properties(height=240, width=330).facet(column=alt.Column("weights:N", title=None,
                                                                          sort="descending")))
            st.caption(f"Backpropagation through time at T = {max(memory['config'].t_values)}: "
                       "how strongly the loss of the final answer reacts to each input value "
                       "(step 0, where v sits, is at the left). At initialisation all three "
                       "fade by a roughly constant factor per step back — a straight falling "
                       "line on the log scale: vanishing gradients (the LSTM's forget gate "
                       "starts near 0.5, so it fades too). After training the LSTM and GRU have "
                       "opened a path (forget/update gate ≈ 1): a spike at step 0 and a flat, "
                       "ignored stretch of distractors. The RNN has no such path: its "
                       "gradient at step 0 stays tiny, so it cannot learn to remember v.")

mem_T = max(mem_cfg.t_values)
ui.show_code(seq.memory_code(mem_cfg, mem_T), "memory_rnn_lstm_gru.py", key="rnn_mem_code")

# --- 3. Inside the cells ----------------------------------------------------------------------
st.header("3 · Inside the cells: gates over time")
trained_models = (latest or {}).get("models", {})
gate_settings = (latest or {}).get("settings", settings)
if "lstm" in trained_models and "gru" in trained_models:
    lstm_model, gru_model = trained_models["lstm"], trained_models["gru"]
    st.caption(f"Using run {latest['run']}'s trained LSTM and GRU.")
else:
    st.info("Showing **untrained** (freshly initialised) cells. Train in section 1 to see the "
            "gates of the trained LSTM and GRU.")
    lstm_model = seq.make_model("lstm", hidden, layers)
    gru_model = seq.make_model("gru", hidden, layers)
    gate_settings = settings
gate_data = sine_data(gate_settings["sequences"], gate_settings["T"])
g1, g2 = st.columns(2)
with g1:
    gate_index = st.slider("Test sequence", 0, len(gate_data["x_test"]) - 1, 0, key="rnn_gate_index")
with g2:
    n_layers = lstm_model.rnn.num_layers
    gate_layer = st.slider("Layer", 1, max(n_layers, 2), 1, key="rnn_gate_layer",
                           disabled=n_layers == 1, help="Only with more than one layer.") - 1
    gate_layer = min(gate_layer, n_layers - 1)
x_one = gate_data["x_test"][gate_index:gate_index + 1]  # (1, T, 1)
lstm_in = seq.inside_cell(lstm_model, x_one)
gru_in = seq.inside_cell(gru_model, x_one)


def _heatmap(values: torch.Tensor, title: str, gate: bool) -> alt.Chart:
    arr = values[0].numpy()  # (T, H)
    T_h, H_h = arr.shape
    frame = pd.DataFrame({"t": np.repeat(np.arange(T_h), H_h), "unit": np.tile(np.arange(H_h), T_h),
                          "value": arr.reshape(-1)})
    scale = (alt.Scale(scheme="viridis", domain=[0, 1]) if gate
             else alt.Scale(scheme="redblue", domainMid=0, reverse=True))
    return alt.Chart(frame).mark_rect().encode(
        x=alt.X("t:O", title="time step t", axis=alt.Axis(values=list(range(0, T_h, 10)))),
        y=alt.Y("unit:O", title="hidden unit", axis=alt.Axis(values=list(range(0, H_h, 8)))),
        color=alt.Color("value:Q", scale=scale, title=None),
        tooltip=["t", "unit", alt.Tooltip("value:Q", format=".3f")],
    ).properties(title=title, height=160, width=250)


def _input_line(x: torch.Tensor) -> alt.Chart:
    frame = pd.DataFrame({"t": np.arange(x.shape[1]), "input": x[0, :, 0].numpy()})
    return alt.Chart(frame).mark_line(color="#333", point=alt.OverlayMarkDef(size=10)).encode(
        x=alt.X("t:Q", title="time step t"), y=alt.Y("input:Q", title="xₜ"),
        tooltip=["t", alt.Tooltip("input:Q", format=".3f")]).properties(height=150)


st.markdown("**The input sequence xₜ fed to both cells**")
_chart(_input_line(x_one))
L = lstm_in["layers"][gate_layer]
G = gru_in["layers"][gate_layer]
tab_lstm, tab_gru = st.tabs(["LSTM gates", "GRU gates"])
with tab_lstm:
    st.altair_chart(alt.vconcat(
        alt.hconcat(_heatmap(L["i"], "input gate iₜ (write new content?)", True),
                    _heatmap(L["f"], "forget gate fₜ (keep the old cell?)", True)
                    ).resolve_scale(color="shared"),
        alt.hconcat(_heatmap(L["o"], "output gate oₜ (show the cell?)", True),
                    _heatmap(L["g"], "candidate c̃ₜ = gₜ (tanh)", False)
                    ).resolve_scale(color="independent"),
        alt.hconcat(_heatmap(L["c"], "cell state cₜ", False),
                    _heatmap(L["h"], "hidden state hₜ = oₜ·tanh(cₜ)", False)
                    ).resolve_scale(color="independent"),
    ).resolve_scale(color="independent"), width="content")
    st.metric("Hand-run LSTM vs nn.LSTM: max |difference|", f"{lstm_in['max_abs_diff']:.1e}",
              help="The heatmaps come from a step-by-step loop over the weights of the trained "
                   "nn.LSTM; this is how far its hₜ is from nn.LSTM's own output.")
    st.caption("Each row is one hidden unit, each column one time step. Gates run from 0 "
               "(closed, dark) to 1 (open, yellow). Look for units whose forget gate stays "
               "near 1 — they carry the cell state forward — and for gate patterns that "
               "repeat with the wave's phase.")
with tab_gru:
    st.altair_chart(alt.vconcat(
        alt.hconcat(_heatmap(G["r"], "reset gate rₜ (use the past for the candidate?)", True),
                    _heatmap(G["z"], "update gate zₜ (keep hₜ₋₁?)", True)
                    ).resolve_scale(color="shared"),
        alt.hconcat(_heatmap(G["n"], "candidate h̃ₜ = nₜ (tanh)", False),
                    _heatmap(G["h"], "hidden state hₜ", False)
                    ).resolve_scale(color="independent"),
    ).resolve_scale(color="independent"), width="content")
    st.metric("Hand-run GRU vs nn.GRU: max |difference|", f"{gru_in['max_abs_diff']:.1e}")
    st.caption("hₜ = (1 − zₜ)·h̃ₜ + zₜ·hₜ₋₁: where zₜ is near 1 the unit keeps its old value, "
               "near 0 it takes the new candidate. The GRU has no separate cell state — its "
               "hidden state does both jobs, which is why it needs one gate block fewer.")
if max(lstm_in["max_abs_diff"], gru_in["max_abs_diff"]) > 1e-5:
    st.error("The step-by-step cells do not match PyTorch's output (difference above 1e-5).")

# --- 4. Equations with live shapes ------------------------------------------------------------
st.header("4 · The equations, with your shapes")
st.caption(f"With the current sliders: input size d = 1, hidden size D_h = {hidden}, batch "
           f"N = {batch_size}, sequence length T = {seq_len}, layers = {layers}. Shapes are for "
           "one sequence in column-vector form; ⊙ is element-wise multiplication.")
eq_tabs = st.tabs(["RNN", "LSTM", "GRU"])
for tab, cell in zip(eq_tabs, seq.CELLS):
    with tab:
        for latex in seq.equations(cell, 1, hidden):
            st.latex(latex)
        formula = seq.param_count_formula(cell, 1, hidden, layers)
        actual = count_params(seq.make_model(cell, hidden, layers))
        per_layer = " + ".join(f"{n:,}" for n in formula["layers"])
        st.markdown(f"**Parameters:** {formula['gates']} gate block(s) × (D_h·d + D_h² + 2·D_h) "
                    f"per layer = {per_layer}, plus the head D_h + 1 = {formula['head']} → "
                    f"**{formula['total']:,}** (PyTorch counts {actual:,}).")
st.dataframe(pd.DataFrame(seq.shape_table(1, hidden, layers, batch_size, seq_len)),
             hide_index=True, width="stretch")
st.caption("PyTorch keeps two biases per gate (b_ih and b_hh) — that is the 2·D_h in the "
           "count — and stores the gates' matrices stacked: LSTM rows in the order i, f, g, o; "
           "GRU r, z, n. Layers above the first take D_h inputs instead of d.")

# --- 5. Show the code -------------------------------------------------------------------------
st.header("5 · The code")
ui.show_code(seq.sine_code(seq.SineConfig(samples=samples, seq_len=seq_len), train_cfg),
             "sine_rnn_lstm_gru.py", key="rnn_code")
