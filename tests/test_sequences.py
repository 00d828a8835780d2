"""Sequences page: parameter counts, hand-run cells = nn.LSTM/nn.GRU, sine fits, memory, page."""
import math

import numpy as np
import pytest
import torch

from conftest import open_page
from core import sequences as seq
from core.engine import run_to_end
from core.models import count_params

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def sine_run(one_thread):
    """The three cells trained on a small sine task (same data, same seed)."""
    data = seq.make_sine_data(seq.SineConfig(samples=300, seq_len=30))
    config = seq.SineTrainConfig(epochs=25, batch_size=32)
    models, ends = {}, {}
    for cell in seq.CELLS:
        model, events = seq.train_sine(cell, data, config, CPU)
        _, ends[cell] = run_to_end(events)
        models[cell] = model
    return data, models, ends


@pytest.mark.parametrize("cell, expected", [("rnn", 1153), ("lstm", 4513), ("gru", 3393)])
def test_parameter_counts_at_hidden_32(cell, expected):
    model = seq.make_model(cell, hidden_size=32, num_layers=1)
    assert count_params(model) == expected
    assert seq.param_count_formula(cell, 1, 32, 1)["total"] == expected
    # the formula also holds for stacked layers and other sizes
    for hidden, layers in ((8, 3), (64, 2)):
        assert (seq.param_count_formula(cell, 1, hidden, layers)["total"]
                == count_params(seq.make_model(cell, hidden, layers)))


def test_sine_data_target_is_the_next_input():
    data = seq.make_sine_data(seq.SineConfig(samples=50, seq_len=20))
    assert data["x_train"].shape == (40, 20, 1) and data["x_test"].shape == (10, 20, 1)
    torch.testing.assert_close(data["y_train"][:, :-1], data["x_train"][:, 1:], atol=1e-6, rtol=0)
    phase = data["phases_test"][0]
    np.testing.assert_allclose(data["x_test"][0, :, 0].numpy(),
                               np.sin(phase + 0.1 * np.arange(20)), atol=1e-6)
    with pytest.raises(ValueError):
        seq.make_sine_data(seq.SineConfig(samples=1))


def test_all_three_reach_a_low_loss_on_the_sine_task(sine_run):
    data, models, ends = sine_run
    for cell, model in models.items():
        assert ends[cell]["reason"] == "completed"
        mse = seq.test_mse(model, data, CPU)
        assert mse < 0.01, (cell, mse)  # the variance of sin is 0.5: 0.01 is a 98 % fit
    untrained = seq.test_mse(seq.make_model("lstm"), data, CPU)
    assert untrained > 0.1


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_step_by_step_cells_reproduce_pytorch(sine_run, cell):
    data, models, _ = sine_run
    trained = models[cell]
    result = seq.inside_cell(trained, data["x_test"][:5])
    reference, _ = trained.rnn(data["x_test"][:5])
    torch.testing.assert_close(result["output"], reference, atol=1e-5, rtol=0)
    assert result["max_abs_diff"] < 1e-5
    # stacked layers and a random multi-channel input too
    deep = seq.make_model(cell, hidden_size=16, num_layers=2, input_size=3, seed=3)
    x = torch.randn(4, 12, 3)
    steps = seq.inside_cell(deep, x)
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
    truth = seq.forecast_truth(float(data["phases_test"][0]), 30, horizon)
    for cell, model in models.items():
        forecast = seq.free_run_forecast(model, data["x_test"][0], horizon, CPU)
        assert forecast.shape == (horizon,)
        assert np.abs(forecast[:5] - truth[:5]).max() < 0.15, cell


def test_memory_task_lstm_and_gru_beat_the_rnn(one_thread):
    config = seq.MemoryConfig(t_values=(20,), samples=512, test_samples=300, epochs=20)
    events = list(seq.run_memory_experiment(config, CPU))
    acc = {e["cell"]: e["accuracy"] for e in events if e["kind"] == "result"}
    assert acc["lstm"] > 80 and acc["gru"] > 80, acc
    assert acc["rnn"] < 50, acc
    assert acc["lstm"] > acc["rnn"] + 30 and acc["gru"] > acc["rnn"] + 30
    grads = {e["cell"]: e for e in events if e["kind"] == "gradients"}
    assert set(grads) == set(seq.CELLS)
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


def test_memory_data_layout():
    x, y = seq.make_memory_data(7, 10, seed=1)
    assert x.shape == (10, 7, 2) and y.shape == (10, 7, 1)
    assert torch.all(x[:, 0, 1] == 1) and torch.all(x[:, 1:, 1] == 0)
    torch.testing.assert_close(y[:, -1, 0], x[:, 0, 0])
    assert x[:, :, 0].abs().max() <= 1


def test_equations_carry_the_current_shapes():
    lstm = " ".join(seq.equations("lstm", 1, 48))
    assert "48\\times1" in lstm and "48\\times48" in lstm and "c_t" in lstm
    assert "64\\times64" in seq.equations("rnn", 1, 64)[0]
    gru = " ".join(seq.equations("gru", 3, 16))
    assert "16\\times3" in gru and "z_t" in gru and "r_t" in gru
    rows = {r["symbol"]: r["shape"] for r in seq.shape_table(1, 32, 2, 64, 50)}
    assert rows["batch input"] == "64×50×1" and rows["h_n (and c_n)"] == "2×64×32"


def test_generated_code_runs(capsys):
    code = seq.sine_code(seq.SineConfig(samples=40, seq_len=10),
                         seq.SineTrainConfig(hidden_size=8, epochs=1, batch_size=16))
    exec(compile(code, "sine_rnn_lstm_gru.py", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    assert "RNN" in out and "LSTM" in out and "GRU" in out and "test MSE" in out
    code = seq.memory_code(seq.MemoryConfig(samples=64, test_samples=32, epochs=1,
                                            hidden_size=8), T=6)
    exec(compile(code, "memory.py", "exec"), {"__name__": "__main__"})
    assert "T=6" in capsys.readouterr().out


def test_page_trains_and_renders():
    at = open_page("pages/rnn.py", timeout=180)
    assert not at.exception, [e.message for e in at.exception]
    # gates of untrained cells are shown and verified before any training
    assert any("LSTM vs nn.LSTM" in m.label for m in at.metric)
    at.slider(key="rnn_samples").set_value(100)
    at.slider(key="rnn_seq_len").set_value(10)
    at.slider(key="rnn_epochs").set_value(2)
    at.button(key="rnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    runs = at.session_state["rnn_runs"]
    assert len(runs) == 1 and runs[0]["status"] == "complete"
    assert set(runs[0]["cells"]) == set(seq.CELLS)
    assert any("forecast MSE" in m.label for m in at.metric)
    # a second run with other settings is kept for comparison
    at.select_slider(key="rnn_hidden").set_value(8).run()
    at.button(key="rnn_train").click().run()
    assert not at.exception
    assert len(at.session_state["rnn_runs"]) == 2
    assert at.session_state["rnn_runs"][1]["cells"]["lstm"]["params"] == 4 * (8 + 64 + 16) + 9
    # the memory experiment, tiny
    at.select_slider(key="rnn_mem_T").set_value(8)
    at.slider(key="rnn_mem_epochs").set_value(2)
    at.select_slider(key="rnn_mem_samples").set_value(128)
    at.button(key="rnn_mem_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    memory = at.session_state["rnn_memory"]
    assert memory["status"] == "complete"
    assert len(memory["results"]) == 3 * len(memory["config"].t_values) == 9  # T = 2, 4, 8


def test_page_reports_divergence():
    at = open_page("pages/rnn.py", timeout=180)
    at.slider(key="rnn_samples").set_value(100)
    at.slider(key="rnn_seq_len").set_value(10)
    at.slider(key="rnn_epochs").set_value(3)
    at.select_slider(key="rnn_lr").set_value(0.3)
    at.run()
    assert at.warning  # a large learning rate is flagged before training
    at.button(key="rnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
