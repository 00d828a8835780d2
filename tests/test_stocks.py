"""Stock forecasting: offline fallback, windows, leak-free scaling, baselines, models, the recipe, the page."""
import dataclasses
import inspect
import json
import math
import re
import time

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.preprocessing import MinMaxScaler
from test_content import HANGUL, _latin_words, _texts

from conftest import open_page, reopen_workspace, run_recipe
from core import data, device, recipes, stocks
from core.engine import TrainConfig, evaluate, run_to_end
from core.words import sections
from ui.content import say, t
from views.stocks import charts

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Every test runs offline: the FinanceDataReader call raises, the disk cache is empty."""
    calls = []

    def offline(symbol, start, end):
        calls.append(symbol)
        raise ConnectionError("Failed to resolve 'fchart.stock.naver.com' (offline test)")

    monkeypatch.setattr(data, "_download", offline)
    monkeypatch.setattr(data, "STOCK_CACHE", tmp_path / "stocks")
    import streamlit as st

    st.cache_data.clear()  # the page caches loads per process
    return calls


@pytest.fixture(scope="module")
def samsung():
    return data.embedded_prices("005930")


def _between(frame, start, end=None):
    mask = frame["Date"] >= pd.Timestamp(start)
    if end:
        mask &= frame["Date"] <= pd.Timestamp(end)
    return frame[mask].reset_index(drop=True)


def _said(info) -> str:
    """The learner's words for a raised DataError / OfflineError."""
    return say(info.value.words)


# --- Data source --------------------------------------------------------------------------------
def test_offline_uses_embedded_data_and_says_so(no_network):
    prices = data.load_prices("005930", "2020-01-01", "2023-12-31", online=True, timeout=5)
    assert no_network == ["005930"]  # it did try the network first
    assert prices.source == "embedded"
    note = charts.source_note(prices)
    assert "embedded CSV data/stocks/005930.csv" in note
    assert "network is unreachable" in note
    assert "2020-01-02 → 2023-12-08" in note
    assert prices.frame["Date"].min() >= pd.Timestamp("2020-01-01")
    assert list(prices.frame.columns) == ["Date", *data.STOCK_COLUMNS]
    assert prices.currency == "₩"


def test_a_hanging_download_times_out_and_falls_back(monkeypatch):
    monkeypatch.setattr(data, "_download", lambda *a: time.sleep(3))
    started = time.perf_counter()
    prices = data.load_prices("AAPL", "2019-01-01", "2020-12-31", timeout=0.2)
    assert time.perf_counter() - started < 2.0
    assert prices.source == "embedded" and "did not answer within 0.2 s" in charts.source_note(prices)
    assert prices.currency == "$"


def test_unknown_symbol_offline_says_network_and_lists_embedded():
    with pytest.raises(data.OfflineError) as info:
        data.load_prices("ZZZZ", "2020-01-01")
    message = _said(info)
    assert "network is unreachable" in message
    assert all(code in message for code in data.EMBEDDED_STOCKS)


def test_unknown_symbol_when_the_server_answers_empty(monkeypatch):
    monkeypatch.setattr(data, "_download", lambda *a: pd.DataFrame())
    with pytest.raises(data.DataError) as info:
        data.load_prices("zzzz", "2020-01-01")
    assert "no prices for 'ZZZZ'" in _said(info)


def test_bad_symbol_text_gives_a_message():
    with pytest.raises(data.DataError) as info:
        data.load_prices("   ")
    assert "Type a stock symbol" in _said(info)
    with pytest.raises(data.DataError) as info:
        data.load_prices("AB$%")
    assert "does not look like" in _said(info)


def test_download_is_tidied_and_cached_on_disk(monkeypatch):
    dates = pd.bdate_range("2021-01-04", periods=50, name="Date")
    raw = pd.DataFrame({"Open": 1.0, "High": 2.0, "Low": 0.5, "Close": np.arange(50.0) + 1,
                        "Volume": 100, "Change": 0.0}, index=dates)
    monkeypatch.setattr(data, "_download", lambda *a: raw)
    first = data.load_prices("MSFT", "2021-01-01", "2021-06-30")
    assert first.source == "download" and len(first.frame) == 50
    assert first.frame["Date"].iloc[0] == pd.Timestamp("2021-01-04")

    def must_not_download(*a):
        raise AssertionError("a fresh cache must be used without the network")

    monkeypatch.setattr(data, "_download", must_not_download)
    second = data.load_prices("MSFT", "2021-01-01", "2021-06-30")
    assert second.source == "cache" and "cached on disk" in charts.source_note(second)
    pd.testing.assert_frame_equal(first.frame, second.frame)


# --- Windows, split, scaling --------------------------------------------------------------------
def test_windows_shapes_and_target_is_the_day_after():
    features = np.arange(20 * 2, dtype=float).reshape(20, 2)  # row r = (2r, 2r + 1)
    target = np.arange(20, dtype=float) * 10
    x, y, rows = stocks.make_windows(features, target, window=5, horizon=1)
    assert x.shape == (15, 5, 2) and y.shape == (15,) and rows.shape == (15,)
    np.testing.assert_array_equal(x[0][:, 0], [0, 2, 4, 6, 8])  # days 0..4
    assert y[0] == 50 and rows[0] == 5  # day 5: the day after the window
    np.testing.assert_array_equal(x[-1][-1], features[18])
    assert y[-1] == 190 and rows[-1] == 19
    x2, y2, rows2 = stocks.make_windows(features, target, window=5, horizon=3)
    assert x2.shape == (13, 5, 2) and rows2[0] == 7 and y2[0] == 70


def test_prepared_windows_line_up_with_real_dates(samsung):
    frame = _between(samsung, "2020-01-01")
    p = stocks.prepare(frame, stocks.StockSettings())
    assert p.x_test.shape[1:] == (30, 4) and p.y_test.shape == (len(p.rows_test), 1)
    assert p.dates[p.rows_test[0]] >= pd.Timestamp("2023-01-01") > p.dates[p.rows_test[0] - 1]
    # The target is the close of the day after each window; the window ends the day before.
    np.testing.assert_allclose(p.to_prices(p.y_test.numpy(), p.rows_test), p.close[p.rows_test], rtol=1e-5)
    clean, _ = stocks.clean_prices(frame)
    last_inputs = p.feature_scaler.inverse_transform(p.x_test[:, -1].double().numpy())  # (N, F)
    expected = clean.loc[p.rows_test - 1, ["Open", "High", "Low", "Volume"]].to_numpy()
    np.testing.assert_allclose(last_inputs, expected, rtol=1e-5)


def test_validation_is_carved_from_the_end_of_training(samsung):
    p = stocks.prepare(_between(samsung, "2020-01-01"), stocks.StockSettings(val_fraction=0.2))
    assert p.rows_train.max() < p.rows_val.min() <= p.rows_val.max() < p.rows_test.min()
    assert p.dates[p.rows_val.max()] < pd.Timestamp("2023-01-01")
    n_before_split = len(p.rows_train) + len(p.rows_val)
    assert len(p.rows_val) == round(0.2 * n_before_split)
    assert p.rows_val.min() == p.train_end


def test_scaler_sees_training_rows_only(samsung):
    frame = _between(samsung, "2020-01-01")
    honest = stocks.prepare(frame, stocks.StockSettings())
    assert honest.fit_rows == honest.train_end == honest.rows_val.min()
    assert honest.feature_scaler.n_samples_seen_ == honest.fit_rows
    clean, _ = stocks.clean_prices(frame)
    np.testing.assert_array_equal(honest.target_scaler.data_max_, [clean["Close"][:honest.fit_rows].max()])

    # Rewrite everything after the training period: nothing the model trains on may change.
    shocked = frame.copy()
    later = shocked["Date"] >= honest.dates[honest.fit_rows]
    shocked.loc[later, ["Open", "High", "Low", "Close"]] *= 10
    again = stocks.prepare(shocked, stocks.StockSettings())
    np.testing.assert_array_equal(again.feature_scaler.data_max_, honest.feature_scaler.data_max_)
    assert torch.equal(again.x_train, honest.x_train) and torch.equal(again.y_train, honest.y_train)

    # The notebook's scaler is fitted on every row, so the same shock does leak into training.
    leaky = stocks.prepare(shocked, stocks.StockSettings(leaky=True))
    assert leaky.fit_rows == len(clean)
    assert not torch.equal(leaky.x_train[: len(honest.x_train)], honest.x_train)
    assert np.array_equal(leaky.rows_val, leaky.rows_test)  # validating on the test set


def test_leakage_summary_names_what_the_notebook_scaler_learns_from_the_future():
    aapl = data.embedded_prices("AAPL", "2016-12-12")
    leak = stocks.leakage_summary(aapl, stocks.StockSettings(split_date="2019-12-12"))
    (honest_lo, honest_hi), (leaky_lo, leaky_hi) = leak["changed"]["target"]
    assert honest_lo == leaky_lo and honest_hi < 60 < 130 < leaky_hi  # AAPL doubled in 2020
    assert leak["test_outside_training"] and leak["leaky_rows"] == len(aapl) - 1
    text = charts.leak_text(leak, stocks.StockSettings(), "$")
    assert "target (close)" in text and "reshape the very inputs" in text


def test_inverse_scaling_round_trips(samsung):
    """scikit-learn's MinMaxScaler as prepare() uses it: 0..1 on the fitted rows, a constant
    column maps to 0 (no division by zero), and the inverse gives the prices back."""
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.normal(50_000, 9_000, 200), np.full(200, 7.0)])  # + a constant column
    scaler = MinMaxScaler().fit(values[:150])
    scaled = scaler.transform(values)
    assert scaled[:150, 0].min() == 0.0 and scaled[:150, 0].max() == pytest.approx(1.0, abs=1e-12)
    assert np.all(scaled[:, 1] == 0.0)  # constant: no division by zero
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values)
    one_d = rng.normal(size=(30, 1))
    np.testing.assert_allclose(MinMaxScaler().fit(one_d).inverse_transform(
        MinMaxScaler().fit(one_d).transform(one_d)), one_d)
    p = stocks.prepare(_between(samsung, "2020-01-01"), stocks.StockSettings(target="return"))
    np.testing.assert_allclose(p.to_prices(p.y_test.numpy(), p.rows_test), p.close[p.rows_test], rtol=1e-5)


# --- Baselines and metrics ----------------------------------------------------------------------
def test_baseline_metrics_on_a_hand_made_series():
    close = np.array([10.0, 11.0, 13.0, 12.0, 15.0, 14.0])
    rows = np.array([4, 5])  # predict days 4 and 5
    base = stocks.baseline_predictions(close, rows, train_end=4)  # drift from days 0..3: (12-10)/3
    np.testing.assert_allclose(base[stocks.NAIVE], [12.0, 15.0])
    np.testing.assert_allclose(base[stocks.DRIFT], [12.0 + 2 / 3, 15.0 + 2 / 3])
    actual, prev = close[rows], close[rows - 1]
    naive = stocks.metrics(actual, base[stocks.NAIVE], prev)
    assert naive["RMSE"] == pytest.approx(math.sqrt(5))   # errors -3, +1
    assert naive["MAE"] == pytest.approx(2.0)
    assert naive["MAPE %"] == pytest.approx(100 * (3 / 15 + 1 / 14) / 2)
    assert math.isnan(naive["Direction %"])  # it never predicts a move
    drift = stocks.metrics(actual, base[stocks.DRIFT], prev)
    assert drift["RMSE"] == pytest.approx(math.sqrt(((7 / 3) ** 2 + (5 / 3) ** 2) / 2))
    assert drift["MAE"] == pytest.approx(2.0)
    assert drift["MAPE %"] == pytest.approx(100 * ((7 / 3) / 15 + (5 / 3) / 14) / 2)
    assert drift["Direction %"] == pytest.approx(50.0)  # up/up predicted; up/down happened


def test_verdict_distinguishes_copying_from_beating(samsung):
    p = stocks.prepare(_between(samsung, "2020-01-01"), stocks.StockSettings())
    actual, prev = p.close[p.rows_test], p.prev_close(p.rows_test)
    rng = np.random.default_rng(1)
    preds = {"lstm": prev + rng.normal(0, 5, len(prev)), "gru": actual + rng.normal(0, 5, len(prev))}
    table = stocks.compare(p, preds)
    assert list(table.index) == ["lstm", "gru", stocks.NAIVE, stocks.DRIFT]
    copycat = charts.verdict_text(stocks.verdict(table, "lstm", p, preds["lstm"]), "₩")
    oracle = charts.verdict_text(stocks.verdict(table, "gru", p, preds["gru"]), "₩")
    assert "ties with" in copycat and "yesterday's curve shifted" in copycat
    assert "beats copying yesterday" in oracle
    assert table.loc["gru", "Direction %"] > 90


# --- Bad inputs ---------------------------------------------------------------------------------
def test_bad_inputs_give_messages(samsung):
    cases = [(_between(samsung, "2022-11-01", "2023-01-31"), stocks.StockSettings(), "too short"),
             (_between(samsung, "2020-01-01"), stocks.StockSettings(split_date="2024-06-01"), "No test days"),
             (_between(samsung, "2022-09-01"), stocks.StockSettings(split_date="2022-12-01"), "training windows"),
             (samsung, stocks.StockSettings(features=()), "at least one input"),
             (samsung.drop(columns=["Volume"]), stocks.StockSettings(), "no Volume column")]
    for frame, settings, words in cases:
        with pytest.raises(data.DataError) as info:
            stocks.prepare(frame, settings)
        assert words in _said(info)

    holes = _between(samsung, "2020-01-01").copy()
    holes.loc[[100, 200], "Volume"] = np.nan
    holes.loc[300, "Close"] = 0.0
    p = stocks.prepare(holes, stocks.StockSettings())
    notes = [say(n) for n in p.notes]
    assert any("Dropped 2 row(s) with missing values" in n for n in notes)
    assert any("zero or negative price" in n for n in notes)
    assert not torch.isnan(p.x_train).any() and not torch.isnan(p.x_test).any()


# --- Models -------------------------------------------------------------------------------------
def test_models_have_the_notebook_shape_and_same_seed_same_init():
    x = torch.randn(7, 30, 4)  # (N, window, F)
    for cell in ("lstm", "gru"):
        model = stocks.make_model(cell, 4)
        assert model(x).shape == (7, 1)
        assert [m.out_features for m in model.head if isinstance(m, torch.nn.Linear)] == [5, 1]
        twin = stocks.make_model(cell, 4)
        assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    deep = stocks.make_model("gru", 4, stocks.StockSettings(hidden=16, layers=2, dropout=0.2))
    assert deep(x).shape == (7, 1) and deep.rnn.num_layers == 2 and deep.rnn.hidden_size == 16


def test_settings_make_the_notebook_train_config():
    config = stocks.StockSettings().train_config()
    assert (config.optimizer, config.lr, config.batch_size, config.epochs) == ("adam", 0.01, 32, 100)
    assert (config.patience, config.min_delta, config.task, config.restore_best) == (5, 1e-6, "regression", True)


def test_lstm_and_gru_train_and_early_stop(samsung, one_thread):
    settings = stocks.StockSettings(window=20, batch_size=64, epochs=60, patience=3)
    p = stocks.prepare(_between(samsung, "2020-01-01"), settings)
    for cell in ("lstm", "gru"):
        model = stocks.make_model(cell, p.n_features, settings)
        epochs, end = run_to_end(stocks.train_events(model, p, CPU))
        assert end["reason"] == "early_stop", end
        assert end["best_epoch"] == end["epochs_run"] - 3
        assert epochs[-1]["val_loss"] is not None
        assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
        # the best epoch's weights were restored
        val = evaluate(model, p.x_val, p.y_val, CPU, task="regression")["loss"]
        assert val == pytest.approx(end["best_monitor"], rel=1e-4)
        prices = stocks.predict_prices(model, p, CPU)
        assert prices.shape == (len(p.rows_test),) and np.isfinite(prices).all()
        assert 0.5 * p.close.min() < stocks.next_day_forecast(model, p, CPU) < 2 * p.close.max()


def test_train_models_is_one_stream_and_a_stopped_run_is_judged(samsung, one_thread):
    """The page's event stream: every event names its model, progress spans the plan, and a run
    cut short (Stop) is summarized with the epochs it finished (results(history, None))."""
    settings = stocks.StockSettings(window=10, hidden=4, epochs=2, batch_size=128, patience=None, with_leaky=True)
    frame = _between(samsung, "2021-01-01", "2023-12-31")
    plan = stocks.plans(frame, stocks.prepare(frame, settings))
    assert [name for name, _ in plan] == ["lstm", "gru", "lstm_leaky"] and plan[2][1].settings.leaky
    models, history = {}, []
    for event in stocks.train_models(plan, CPU, models, message="done"):
        if event["kind"] == "end":
            assert event["message"] == "done" and event["words"] == data.Words("stocks.trained", {})
            break
        history.append(event)
    progress = [e["progress"] for e in history]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert [e["model"] for e in history if e["kind"] == "model_end"] == ["lstm", "gru", "lstm_leaky"]
    full = stocks.summarize(models, plan, history, CPU)
    assert list(full["table"].index) == ["lstm", "gru", "lstm_leaky", stocks.NAIVE, stocks.DRIFT]
    assert [v["model"] for v in full["verdicts"]] == ["lstm", "gru"] and set(full["next_day"]) == set(models)

    first_gru_epoch = next(i for i, e in enumerate(history) if e["kind"] == "epoch" and e["model"] == "gru")
    stopped = stocks.summarize(models, plan, history[:first_gru_epoch + 1], CPU)  # Stop after GRU's epoch 1
    assert list(stopped["curves"]) == ["lstm", "gru"] and stopped["curves"]["gru"]["end"] is None
    assert list(stopped["table"].index) == ["lstm", "gru", stocks.NAIVE, stocks.DRIFT]


def test_one_cpu_thread_restores_the_thread_count():
    """The bench times both loops on one thread (core.device.one_cpu_thread), then restores the count."""
    before = torch.get_num_threads()
    with device.one_cpu_thread(CPU):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_every_message_core_names_has_words():
    """Core raises Words ("stocks.<section>"); each section exists in content/en/stocks.md."""
    known = sections("en", "stocks")
    for module in (data, stocks):
        for key in re.findall(r'"stocks\.(\w+)"', inspect.getsource(module)):
            assert key in known, f"{module.__name__}: no [[{key}]] in content/en/stocks.md"


def test_embedded_stocks_are_named_in_both_languages():
    """[[name_<symbol>]] for every embedded stock, and [[embedded_list]] made of them, in each
    language; the English ones are EMBEDDED_STOCKS' names."""
    for language in ("en", "ko"):
        said = sections(language, "stocks")
        names = {code: said[f"name_{code}"] for code in data.EMBEDDED_STOCKS}
        assert said["embedded_list"] == ", ".join(f"{code} {name}" for code, name in names.items())
        assert language == "en" or all(HANGUL.search(name) for name in names.values())
    assert sections("en", "stocks")["embedded_list"] == data.embedded_list()
    assert all(sections("en", "stocks")[f"name_{c}"] == n for c, n in data.EMBEDDED_STOCKS.items())
    assert say(data.embedded_words()) == data.embedded_list()


# --- Show the code ------------------------------------------------------------------------------
def test_recipe_matches_the_engine(samsung, one_thread, capsys):
    """The recipe, offline on the embedded CSV at small settings, reaches the engine's test RMSE
    for the same settings within 0.01 % (fused vs plain Adam round differently), both cells."""
    settings = stocks.StockSettings(start="2021-01-01", end="2023-12-31", window=10, hidden=4, epochs=3,
                                    batch_size=128, patience=None)
    out = run_recipe("stocks", optimizer=settings.train_config(), START=settings.start, END=settings.end,
                     WINDOW=settings.window, HIDDEN=settings.hidden, EPOCHS=settings.epochs,
                     BATCH=settings.batch_size, PATIENCE=settings.patience)
    printed = capsys.readouterr().out
    for word in ("LSTM", "GRU", "tomorrow = today", "drift", "RMSE", "next trading day"):
        assert word in printed
    p = stocks.prepare(data.embedded_prices("005930", settings.start, settings.end), settings)
    for cell in ("lstm", "gru"):
        model = stocks.make_model(cell, p.n_features, settings)
        run_to_end(stocks.train_events(model, p, CPU))
        engine = stocks.compare(p, {cell: stocks.predict_prices(model, p, CPU)})
        assert out["test_rmse"][cell.upper()] == pytest.approx(engine.loc[cell, "RMSE"], rel=1e-4)
        assert out["test_rmse"]["tomorrow = today"] == pytest.approx(engine.loc[stocks.NAIVE, "RMSE"], rel=1e-9)


def test_recipe_renders_the_pages_settings():
    rendered = recipes.render("stocks", optimizer=TrainConfig(optimizer="adam"), SYMBOL="AAPL", PATIENCE=None,
                              FEATURES=["Close", "Return"])
    assert "\nSYMBOL = 'AAPL'" in rendered and "\nPATIENCE = None" in rendered
    assert "torch.optim.Adam(model.parameters(), lr=LR)  # @optimizer" in rendered


# --- The page -----------------------------------------------------------------------------------
def test_page_offline_trains_and_reports_honestly(no_network):
    at = open_page("views/stocks/stocks.py")
    assert not at.exception, [e.message for e in at.exception]
    infos = " ".join(i.value for i in at.info)
    assert "embedded CSV data/stocks/005930.csv" in infos and "network is unreachable" in infos
    assert no_network  # the page did try FinanceDataReader (which we made fail)
    at.slider(key="stocks_epochs").set_value(3).run()
    at.button(key="stocks_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error
    runs = at.session_state["stocks_runs"]["runs"]
    assert len(runs) == 1 and not runs[0].stopped and set(runs[0].state_dict) == {"lstm", "gru"}
    assert all(isinstance(v, torch.Tensor) for sd in runs[0].state_dict.values() for v in sd.values())
    table = at.dataframe[-1].value
    assert list(table.index) == [t(f"stocks.series_{n}") for n in ("lstm", "gru", "naive", "drift")]
    assert list(table.index) == ["LSTM", "GRU", "Tomorrow = today", "Drift"]
    assert table.iloc[:, 0].str.startswith("₩").all()
    assert table.loc["Tomorrow = today", t("stocks.col_ratio")] == "1.00×"
    verdicts = [m.value for m in at.markdown if m.value.startswith(("**LSTM**", "**GRU**"))]
    assert len(verdicts) == 2 and all("tomorrow = today" in v for v in verdicts)
    assert {m.label for m in at.metric} >= {"LSTM", "GRU"}
    assert any(m.label.startswith("Tomorrow = today (close ") for m in at.metric)  # a stock keeps its price words
    assert "Next trading day" in [h.value for h in at.subheader] and all("the last close" in v for v in verdicts)
    assert any("not financial advice" in w.value for w in at.warning)

    at.slider(key="stocks_window").set_value(20).run()  # a second run: the picker appears
    assert any("settings changed" in i.value for i in at.info)
    at.button(key="stocks_train").click().run()
    assert not at.exception and len(at.session_state["stocks_runs"]["runs"]) == 2
    assert at.selectbox(key="stocks_pick").value == "#2"
    reopen_workspace(at, "views/stocks/stocks.py", ["stocks_runs"])
    assert not any("settings changed" in i.value for i in at.info)


def test_page_bad_inputs_give_messages():
    at = open_page("views/stocks/stocks.py")
    at.selectbox(key="stocks_symbol").set_value("other").run()
    at.text_input(key="stocks_other").input("ZZZZ").run()
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "network is unreachable" in message and "005930" in message and "TSLA" in message

    at.selectbox(key="stocks_symbol").set_value("AAPL").run()  # embedded data ends 2020-12-11
    assert not at.exception
    assert any("No test days" in e.value for e in at.error)
    at.button(key="stocks_fix_dates").click().run()
    assert not at.exception and not at.error
    assert at.session_state["stocks_split"] < pd.Timestamp("2020-12-11").date()

    at.slider(key="stocks_window").set_value(120).run()
    at.date_input(key="stocks_start").set_value(pd.Timestamp("2019-09-01").date()).run()
    assert not at.exception
    assert any("too short" in e.value or "training windows" in e.value for e in at.error)


def test_settings_dataclass_keeps_a_comment_on_every_default():
    source = inspect.getsource(stocks.StockSettings)
    for f in dataclasses.fields(stocks.StockSettings):
        line = next(line for line in source.splitlines() if line.strip().startswith(f"{f.name}:"))
        assert "#" in line, f.name


def _chart_titles(at) -> list[str]:
    """Every title (chart, axis, legend, tooltip) in the page's Altair charts."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "title" and isinstance(value, str):
                    found.append(value)
                elif key == "title" and isinstance(value, dict):
                    for part in (value.get("text"), value.get("subtitle")):
                        found.extend([part] if isinstance(part, str) else part if isinstance(part, list) else [])
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    def charts(node):
        if getattr(node, "type", "") in ("vega_lite_chart", "arrow_vega_lite_chart"):
            walk(json.loads(node.proto.spec))
        for child in getattr(node, "children", {}).values():
            charts(child)

    charts(at.main)
    return found


def test_page_in_korean_trains_and_reports_in_korean(no_network):
    """?lang=ko: the messages, results, tables and charts after training read in Korean, and
    widgets whose options are worded (run picker, stock, chart kind) still work after a run."""
    at = open_page("views/stocks/stocks.py", query={"lang": "ko"})
    assert any("네트워크에 연결할 수 없습니다" in i.value for i in at.info)
    at.slider(key="stocks_epochs").set_value(2).run()
    at.button(key="stocks_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error
    verdicts = [m.value for m in at.markdown if m.value.startswith(("**LSTM**", "**GRU**"))]
    assert len(verdicts) == 2 and all(HANGUL.search(v) and "내일 = 오늘" in v for v in verdicts)
    assert any(HANGUL.search(m.label) for m in at.metric) and {m.label for m in at.metric} >= {"LSTM", "GRU"}
    assert any("투자 조언이 아닙니다" in w.value for w in at.warning)
    english = [text for text in _texts(at.main) if not HANGUL.search(text) and _latin_words(text)]
    assert not english, english
    titles = _chart_titles(at)
    assert titles and not [x for x in titles if not HANGUL.search(x) and _latin_words(x)]
    table = at.dataframe[-1].value
    assert list(table.index) == ["LSTM", "GRU", "내일 = 오늘", "드리프트(drift)"]
    assert all(HANGUL.search(c) or not _latin_words(c) for c in table.columns)

    at.slider(key="stocks_window").set_value(20).run()
    assert any("설정이 바뀌었습니다" in i.value for i in at.info)
    at.button(key="stocks_train").click().run()
    assert not at.exception and len(at.session_state["stocks_runs"]["runs"]) == 2
    picker = at.selectbox(key="stocks_pick")
    assert picker.value == "#2" and all("윈도우" in o for o in picker.options)
    picker.set_value("#1").run()
    assert not at.exception and any("설정이 바뀌었습니다" in i.value for i in at.info)

    at.radio(key="stocks_chart_kind").set_value("candlestick").run()
    at.selectbox(key="stocks_symbol").set_value("other").run()
    at.text_input(key="stocks_other").input("ZZZZ").run()
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "네트워크에 연결할 수 없습니다" in message and "005930 삼성전자" in message and "TSLA 테슬라" in message


def test_an_own_series_is_worded_in_its_own_units():
    """An uploaded series has no currency: its values keep four significant digits, its columns
    their own names, and the leak sentence shows its ranges as numbers (no ₩, $ or %)."""
    assert stocks.format_price(1234.5678, "") == "1,235" and stocks.format_price(-0.012345, "") == "-0.01235"
    assert stocks.format_price(1234.5, "₩") == "₩1,234" and stocks.format_price(12.3, "$") == "$12.30"
    assert charts.feature("기온") == "기온" and charts.feature("Open") == t("stocks.feature_Open")
    settings = stocks.StockSettings(upload="t.csv", value="기온", features=("기온",))
    text = charts.leak_text({"changed": {"기온": ((-3.5, 9.25), (-8.0, 9.25))}, "leaky_rows": 300}, settings, "")
    assert "-8" in text and "9.25" in text and not re.search(r"[₩$%]", text)


# What a price series is called, in each language: none of it may be said of an own series once trained on.
PRICE_WORDS = {"en": re.compile(r"price|close|trading day", re.IGNORECASE),
               "ko": re.compile(r"주가|종가|거래일|가격|최고가|최저가")}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_page_trained_on_an_own_series_never_speaks_of_prices(lang, one_thread):
    """A temperature is no price: after training on an uploaded series (the notebook's leaky LSTM
    too), the titles, captions, verdicts, next-step lines, tables and charts speak of its values
    and rows, never of prices, closes or trading days."""
    n = 300
    temperature = 8 * np.sin(np.arange(n) / 30) + np.random.default_rng(1).normal(size=n)  # crosses zero
    raw = pd.DataFrame({"날짜": pd.date_range("2022-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                        "기온": temperature}).to_csv(index=False).encode()
    at = open_page("views/stocks/stocks.py", query={"lang": lang}, timeout=300)
    at.selectbox(key="stocks_symbol").set_value("upload").run()
    at.file_uploader(key="stocks_own_file").set_value(("temperature.csv", raw, "text/csv")).run()
    at.slider(key="stocks_epochs").set_value(2).run()
    at.checkbox(key="stocks_leaky_demo").check().run()
    at.button(key="stocks_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error

    verdicts = [m.value for m in at.markdown if m.value.startswith(("**LSTM**", "**GRU**"))]
    assert len(verdicts) == 2 and all("기온" in v for v in verdicts)  # the own variants, naming the value
    assert {"en": "Next step", "ko": "다음 스텝"}[lang] in [h.value for h in at.subheader]
    tables = [str(x) for frame in at.dataframe for x in (*frame.value.columns, *frame.value.index)]
    read = _texts(at.main) + _chart_titles(at) + tables
    assert not [x for x in read if PRICE_WORDS[lang].search(x)], [x for x in read if PRICE_WORDS[lang].search(x)]
