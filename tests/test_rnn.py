"""RNN page: parameter counts, hand-run cells = nn.LSTM/nn.GRU, sine fits, memory, recipes, page."""
import math
import re

import numpy as np
import pytest
import torch

from conftest import open_link, open_page, reopen_workspace, run_recipe
from core import rnn
from core.engine import run_to_end
from core.models import count_params
from core.words import LearnerError, english, sections

CPU = torch.device("cpu")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def sine_run(one_thread):
    """The three cells trained on a small sine task (same data, same seed)."""
    settings = rnn.SineSettings(samples=300, seq_len=30, epochs=25, batch_size=32)
    data = rnn.make_sine_data(settings)
    models, ends = {}, {}
    for cell in rnn.CELLS:
        model, events = rnn.train_sine(cell, data, settings, CPU)
        _, ends[cell] = run_to_end(events)
        models[cell] = model
    return data, models, ends


@pytest.mark.parametrize("cell, expected", [("rnn", 1153), ("lstm", 4513), ("gru", 3393)])
def test_parameter_counts_at_hidden_32(cell, expected):
    model = rnn.make_model(cell, hidden_size=32, num_layers=1)
    assert count_params(model) == expected
    assert rnn.param_count_formula(cell, 1, 32, 1)["total"] == expected
    # the formula also holds for stacked layers and other sizes
    for hidden, layers in ((8, 3), (64, 2)):
        assert (rnn.param_count_formula(cell, 1, hidden, layers)["total"]
                == count_params(rnn.make_model(cell, hidden, layers)))


def test_sine_data_target_is_the_next_input():
    data = rnn.make_sine_data(rnn.SineSettings(samples=50, seq_len=20))
    assert data["x_train"].shape == (40, 20, 1) and data["x_test"].shape == (10, 20, 1)
    torch.testing.assert_close(data["y_train"][:, :-1], data["x_train"][:, 1:], atol=1e-6, rtol=0)
    phase = data["phases_test"][0]
    np.testing.assert_allclose(data["x_test"][0, :, 0].numpy(),
                               np.sin(phase + 0.1 * np.arange(20)), atol=1e-6)
    with pytest.raises(LearnerError) as error:
        rnn.make_sine_data(rnn.SineSettings(samples=1))
    assert english(error.value.words).startswith("The sine task needs")


def test_settings_make_the_engine_config():
    config = rnn.SineSettings(lr=0.003, epochs=7, batch_size=16, seed=2).train_config()
    assert (config.optimizer, config.task, config.lr, config.epochs, config.batch_size, config.seed) == \
        ("adam", "regression", 0.003, 7, 16, 2)
    config = rnn.MemorySettings(epochs=4).train_config()
    assert (config.optimizer, config.task, config.epochs, config.batch_size, config.lr) == \
        ("adam", "regression", 4, 32, 0.01)


def test_all_three_reach_a_low_loss_on_the_sine_task(sine_run):
    data, models, ends = sine_run
    for cell, model in models.items():
        assert ends[cell]["reason"] == "completed"
        mse = rnn.test_mse(model, data, CPU)
        assert mse < 0.01, (cell, mse)  # the variance of sin is 0.5: 0.01 is a 98 % fit
    untrained = rnn.test_mse(rnn.make_model("lstm"), data, CPU)
    assert untrained > 0.1


def test_train_cells_tags_events_and_reports_each_cell(one_thread):
    """One event stream for the three cells: tagged events, monotone overall progress, a result
    per cell (the same figures the engine gives for that cell alone), one end event. The cells
    train side by side, so results come in the order they finish."""
    settings = rnn.SineSettings(samples=100, seq_len=10, hidden_size=8, epochs=3, batch_size=32)
    data = rnn.make_sine_data(settings)
    models, events = rnn.train_cells(data, settings, CPU)
    events = list(events)
    assert events[-1]["kind"] == "end" and events[-1]["reason"] == "completed"
    assert all(e["cell"] in rnn.CELLS for e in events[:-1])
    progress = [e["progress"] for e in events[:-1]]
    assert progress == sorted(progress) and math.isclose(progress[-1], 1.0)
    results = rnn.finished_cells(events)
    assert list(results) == list(rnn.CELLS) == sorted(models, key=rnn.CELLS.index)  # the page's order
    for cell, r in results.items():
        assert r["params"] == count_params(models[cell]) and not r["diverged"]
        assert r["test_mse"] == pytest.approx(rnn.test_mse(models[cell], data, CPU))
        alone, events_alone = rnn.train_sine(cell, data, settings, CPU)
        run_to_end(events_alone)
        assert rnn.test_mse(alone, data, CPU) == pytest.approx(r["test_mse"], rel=1e-5)
    restored = rnn.restore_models(settings, {c: m.state_dict() for c, m in models.items()}, results)
    assert set(restored) == set(rnn.CELLS)
    partial = rnn.restore_models(settings, {c: m.state_dict() for c, m in models.items()},
                                 {"lstm": results["lstm"], "gru": {**results["gru"], "diverged": True}})
    assert set(partial) == {"lstm"}  # a cell that diverged or never finished has no model to show
    torch.testing.assert_close(restored["gru"](data["x_test"]), models["gru"](data["x_test"]))


def test_train_cells_reports_divergence(one_thread):
    settings = rnn.SineSettings(samples=60, seq_len=8, hidden_size=4, epochs=2, batch_size=32, lr=math.inf)
    _, events = rnn.train_cells(rnn.make_sine_data(settings), settings, CPU)
    events = list(events)
    results = [e for e in events if e["kind"] == "result"]
    assert all(r["diverged"] and math.isnan(r["test_mse"]) and "Diverged" in r["message"] for r in results)
    # the page shows the engine's words (content/<lang>/engine.md), not the English message
    assert all(r["words"].key == "engine.diverged" and english(r["words"]) == r["message"] for r in results)
    assert events[-1]["reason"] == "diverged" and "RNN: Diverged" in events[-1]["message"]  # cells end in any order


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_step_by_step_cells_reproduce_pytorch(sine_run, cell):
    data, models, _ = sine_run
    trained = models[cell]
    result = rnn.inside_cell(trained, data["x_test"][:5])
    reference, _ = trained.rnn(data["x_test"][:5])
    torch.testing.assert_close(result["output"], reference, atol=1e-5, rtol=0)
    assert result["max_abs_diff"] < 1e-5
    # stacked layers and a random multi-channel input too
    deep = rnn.make_model(cell, hidden_size=16, num_layers=2, input_size=3, seed=3)
    x = torch.randn(4, 12, 3)
    steps = rnn.inside_cell(deep, x)
    torch.testing.assert_close(steps["output"], deep.rnn(x)[0], atol=1e-5, rtol=0)
    gates = {"lstm": "ifgoch", "gru": "rznh", "rnn": "h"}[cell]
    for layer in steps["layers"]:
        assert set(layer) == set(gates)
        for name in gates:
            assert layer[name].shape == (4, 12, 16)
    if cell in ("lstm", "gru"):
        sig = ("i", "f", "o") if cell == "lstm" else ("r", "z")
        for name in sig:
            values = steps["layers"][0][name]
            assert values.min() >= 0 and values.max() <= 1


def test_free_running_forecast_follows_the_wave_at_first(sine_run):
    data, models, _ = sine_run
    horizon = 40
    truth = rnn.forecast_truth(float(data["phases_test"][0]), 30, horizon)
    for cell, model in models.items():
        forecast = rnn.free_run_forecast(model, data["x_test"][0], horizon, CPU)
        assert forecast.shape == (horizon,)
        assert np.abs(forecast[:5] - truth[:5]).max() < 0.15, cell


def test_memory_task_lstm_and_gru_beat_the_rnn(one_thread):
    settings = rnn.MemorySettings(t_values=(20,), samples=512, test_samples=300, epochs=20)
    events = list(rnn.run_memory_experiment(settings, CPU))
    assert events[-1]["kind"] == "end" and events[-1]["reason"] == "completed"
    acc = {e["cell"]: e["accuracy"] for e in events if e["kind"] == "result"}
    assert acc["lstm"] > 80 and acc["gru"] > 80, acc
    assert acc["rnn"] < 50, acc
    assert acc["lstm"] > acc["rnn"] + 30 and acc["gru"] > acc["rnn"] + 30
    grads = {e["cell"]: e for e in events if e["kind"] == "gradients"}
    assert set(grads) == set(rnn.CELLS)
    # BPTT at initialisation: every cell's gradient w.r.t. the first input has faded away
    for cell, g in grads.items():
        assert len(g["initial"]) == 20 and g["initial"][0] < 1e-2 * g["initial"][-1], cell
    # after training, the gated cells keep a strong path to step 0 (where v sits); the RNN not
    for cell in ("lstm", "gru"):
        trained = grads[cell]["trained"]
        assert trained[0] > 10 * trained[10], cell
    assert grads["rnn"]["trained"][0] < grads["rnn"]["trained"][-1]
    share = {c: g["trained"][0] / sum(g["trained"]) for c, g in grads.items()}
    assert share["lstm"] > 10 * share["rnn"] and share["gru"] > 10 * share["rnn"]
    progress = [e["progress"] for e in events if e["kind"] == "progress"]
    assert progress == sorted(progress) and math.isclose(progress[-1], 1.0)
    assert english(events[-1]["words"]) == events[-1]["message"] == "Finished 3 trainings."


def test_memory_data_layout():
    x, y = rnn.make_memory_data(7, 10, seed=1)
    assert x.shape == (10, 7, 2) and y.shape == (10, 7, 1)
    assert torch.all(x[:, 0, 1] == 1) and torch.all(x[:, 1:, 1] == 0)
    torch.testing.assert_close(y[:, -1, 0], x[:, 0, 0])
    assert x[:, :, 0].abs().max() <= 1


def test_equations_carry_the_current_shapes():
    lstm = " ".join(rnn.equations("lstm", 1, 48))
    assert "48\\times1" in lstm and "48\\times48" in lstm and "c_t" in lstm
    assert "64\\times64" in rnn.equations("rnn", 1, 64)[0]
    gru = " ".join(rnn.equations("gru", 3, 16))
    assert "16\\times3" in gru and "z_t" in gru and "r_t" in gru
    shapes = rnn.shape_table(1, 32, 2, 64, 50)
    assert shapes["batch_input"] == "64×50×1" and shapes["h_n"] == "2×64×32"


# --- Recipes: the "Show the code" scripts against the engine ----------------------------------

def test_sine_recipe_matches_the_engine(one_thread, capsys):
    """rnn_sine.py at small settings reaches the engine's test MSE for every cell within 1 %
    (same data, init seed and batch order; only the engine's fused Adam kernel differs)."""
    settings = rnn.SineSettings(samples=200, seq_len=20, hidden_size=16, epochs=10, batch_size=32)
    script = run_recipe("rnn_sine", optimizer=settings.train_config(), SAMPLES=settings.samples,
                        SEQ_LEN=settings.seq_len, HIDDEN=settings.hidden_size, EPOCHS=settings.epochs,
                        BATCH_SIZE=settings.batch_size, LR=settings.lr)
    out = capsys.readouterr().out
    assert "RNN" in out and "LSTM" in out and "GRU" in out and "test MSE" in out
    _, events = rnn.train_cells(rnn.make_sine_data(settings), settings, CPU)
    engine = {e["cell"]: e["test_mse"] for e in events if e["kind"] == "result"}
    assert set(script["test_mse"]) == set(rnn.CELLS)
    for cell in rnn.CELLS:
        assert script["test_mse"][cell] == pytest.approx(engine[cell], rel=0.01), cell


def test_memory_recipe_matches_the_engine(one_thread, capsys):
    """rnn_memory.py at one T reaches the engine's accuracy for every cell within 2 points
    (same data, init seed and batch order; only the engine's fused Adam kernel differs)."""
    settings = rnn.MemorySettings(t_values=(6,), samples=256, test_samples=200, hidden_size=16, epochs=8)
    script = run_recipe("rnn_memory", optimizer=settings.train_config(), T=6, SAMPLES=settings.samples,
                        TEST_SAMPLES=settings.test_samples, HIDDEN=settings.hidden_size, EPOCHS=settings.epochs)
    assert "T=6" in capsys.readouterr().out
    engine = {e["cell"]: e["accuracy"] for e in rnn.run_memory_experiment(settings, CPU) if e["kind"] == "result"}
    for cell in rnn.CELLS:
        assert abs(script["accuracy"][cell] - engine[cell]) <= 2, (cell, script["accuracy"], engine)


# --- The page -------------------------------------------------------------------------------

def test_page_trains_and_renders():
    at = open_page("views/rnn/rnn.py", timeout=180)
    assert not at.exception, [e.message for e in at.exception]
    # gates of untrained cells are shown and verified before any training
    assert any("LSTM vs nn.LSTM" in m.label for m in at.metric)
    at.slider(key="rnn_samples").set_value(100)
    at.slider(key="rnn_seq_len").set_value(10)
    at.slider(key="rnn_epochs").set_value(2)
    at.button(key="rnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    runs = at.session_state["rnn_runs"]["runs"]
    assert len(runs) == 1 and not runs[0].stopped
    assert set(runs[0].results) == set(rnn.CELLS) == set(runs[0].state_dict)
    assert all(isinstance(v, torch.Tensor) and v.device == CPU
               for weights in runs[0].state_dict.values() for v in weights.values())
    assert any("forecast MSE" in m.label for m in at.metric)
    assert any("Using run #1" in c.value for c in at.caption)  # the gates now show the trained cells
    # a second run with other settings is kept for comparison
    at.select_slider(key="rnn_hidden").set_value(8).run()
    at.button(key="rnn_train").click().run()
    assert not at.exception
    runs = at.session_state["rnn_runs"]["runs"]
    assert len(runs) == 2
    assert runs[1].results["lstm"]["params"] == 4 * (8 + 64 + 16) + 9
    assert len(at.dataframe[0].value) == 6  # the table: 2 runs x 3 cells
    # the memory experiment, tiny
    at.select_slider(key="rnn_mem_T").set_value(8)
    at.slider(key="rnn_mem_epochs").set_value(2)
    at.select_slider(key="rnn_mem_samples").set_value(128)
    at.button(key="rnn_mem_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    memory = at.session_state["rnn_memory"]["runs"][-1]
    assert not memory.stopped and memory.state_dict is None
    assert len(memory.results["points"]) == 3 * len(memory.settings.t_values) == 9  # T = 2, 4, 8
    assert set(memory.results["gradients"]) == set(rnn.CELLS)
    reopen_workspace(at, "views/rnn/rnn.py", ["rnn_runs", "rnn_memory"])
    # clearing the sine runs goes back to the empty page
    at.button(key="rnn_clear_runs").click().run()
    assert not at.exception and at.session_state["rnn_runs"]["runs"] == []
    again = open_link("views/rnn/rnn.py", {"ws": at.session_state["_workspace"]["key"]})  # cleared for good
    assert again.session_state["rnn_runs"]["runs"] == [] and len(again.session_state["rnn_memory"]["runs"]) == 1


def test_page_reports_divergence():
    at = open_page("views/rnn/rnn.py", timeout=180)
    at.slider(key="rnn_samples").set_value(100)
    at.slider(key="rnn_seq_len").set_value(10)
    at.slider(key="rnn_epochs").set_value(3)
    at.select_slider(key="rnn_lr").set_value(0.3)
    at.run()
    assert at.warning  # a large learning rate is flagged before training
    at.button(key="rnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]


def test_a_stopped_run_keeps_the_finished_cells(one_thread):
    """Stop interrupts run_training mid-stream (here: an error right after the first cell's
    result): the run kept holds the finished cell's results, and only that cell's model comes back."""
    from streamlit.testing.v1 import AppTest

    def script():
        import contextlib

        import torch

        from core import rnn
        from ui.runs import RunStore
        from ui.training import run_training

        store = RunStore("rnn_runs")
        settings = rnn.SineSettings(samples=60, seq_len=8, hidden_size=4, epochs=2, batch_size=16)
        models, events = rnn.train_cells(rnn.make_sine_data(settings), settings, torch.device("cpu"))

        def stopped_after_first_cell():
            for event in events:
                yield event
                if event["kind"] == "result":
                    raise InterruptedError("Stop")

        with contextlib.suppress(InterruptedError):
            run_training(stopped_after_first_cell(), key="rnn_live", label="test", store=store, settings=settings,
                         results=lambda history, end: rnn.finished_cells(history), weights=models,
                         keep_partial=rnn.any_finished)

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    run = at.session_state["rnn_runs"]["runs"][0]
    # The cells train side by side: whichever finished first is the one kept.
    assert run.stopped and len(run.results) == 1 and set(run.results) <= set(rnn.CELLS)
    assert list(rnn.restore_models(run.settings, run.state_dict, run.results)) == list(run.results)
    assert at.session_state["rnn_runs"]["notice"]  # announced on the next rerun


def test_page_trains_and_reports_in_korean():
    """?lang=ko: both trainings run, and what they report (alerts, metrics, captions, the
    progress bar's last words) is Korean."""
    at = open_page("views/rnn/rnn.py", timeout=180, query={"lang": "ko"})
    assert not at.exception, [e.message for e in at.exception]
    at.slider(key="rnn_samples").set_value(100)
    at.slider(key="rnn_seq_len").set_value(10)
    at.slider(key="rnn_epochs").set_value(2)
    at.select_slider(key="rnn_mem_T").set_value(8)
    at.slider(key="rnn_mem_epochs").set_value(2)
    at.select_slider(key="rnn_mem_samples").set_value(128)
    at.button(key="rnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.session_state["rnn_runs"]["runs"]) == 1
    assert at.success and all(HANGUL.search(a.value) for a in at.success)
    assert any(m.label.endswith("예측 MSE") for m in at.metric)
    assert all(HANGUL.search(m.label) for m in at.metric)
    assert all(HANGUL.search(c.value) for c in at.caption)
    said = at.session_state["rnn_runs"]["runs"][0].end["words"]  # the panel's last words (it is cleared)
    assert HANGUL.search(sections("ko", "engine")[said.key.partition(".")[2]])
    at.button(key="rnn_mem_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.session_state["rnn_memory"]["runs"]) == 1
    said = at.session_state["rnn_memory"]["runs"][0].end["words"]
    assert said.key == "rnn.mem_finished" and said.values == {"jobs": 9}
    assert sections("ko", "rnn")["mem_finished"].format(**said.values) == "학습 9번을 마쳤습니다."
    assert all(HANGUL.search(text) for text in [*(a.value for a in at.info), *(c.value for c in at.caption)])
