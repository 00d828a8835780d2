"""Stock forecasting: offline fallback, windows, leak-free scaling, baselines, models, the page."""
import math
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT, open_page
from core import forecast as fc
from core.engine import evaluate, run_to_end

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Every test runs offline: the FinanceDataReader call raises, the disk cache is empty."""
    calls = []

    def offline(symbol, start, end):
        calls.append(symbol)
        raise ConnectionError("Failed to resolve 'fchart.stock.naver.com' (offline test)")

    monkeypatch.setattr(fc, "_download", offline)
    monkeypatch.setattr(fc, "STOCK_CACHE", tmp_path / "stocks")
    import streamlit as st

    st.cache_data.clear()  # the page caches loads per process
    return calls


@pytest.fixture(scope="module")
def samsung():
    return fc._tidy(fc.load_stock_csv("005930"))


def _between(frame, start, end=None):
    mask = frame["Date"] >= pd.Timestamp(start)
    if end:
        mask &= frame["Date"] <= pd.Timestamp(end)
    return frame[mask].reset_index(drop=True)


# --- Data source --------------------------------------------------------------------------------
def test_offline_uses_embedded_data_and_says_so(no_network):
    data = fc.load_prices("005930", "2020-01-01", "2023-12-31", online=True, timeout=5)
    assert no_network == ["005930"]  # it did try the network first
    assert data.source == "embedded"
    assert "embedded CSV data/stocks/005930.csv" in data.note
    assert "network is unreachable" in data.note
    assert "2020-01-02 → 2023-12-08" in data.note
    assert data.frame["Date"].min() >= pd.Timestamp("2020-01-01")
    assert list(data.frame.columns) == ["Date", *fc.COLUMNS]
    assert data.currency == "₩"


def test_a_hanging_download_times_out_and_falls_back(monkeypatch):
    monkeypatch.setattr(fc, "_download", lambda *a: time.sleep(3))
    started = time.perf_counter()
    data = fc.load_prices("AAPL", "2019-01-01", "2020-12-31", timeout=0.2)
    assert time.perf_counter() - started < 2.0
    assert data.source == "embedded" and "did not answer within 0.2 s" in data.note
    assert data.currency == "$"


def test_unknown_symbol_offline_says_network_and_lists_embedded():
    with pytest.raises(fc.StockDataError) as info:
        fc.load_prices("ZZZZ", "2020-01-01")
    message = str(info.value)
    assert "network is unreachable" in message
    assert all(code in message for code in fc.EMBEDDED_STOCKS)


def test_unknown_symbol_when_the_server_answers_empty(monkeypatch):
    monkeypatch.setattr(fc, "_download", lambda *a: pd.DataFrame())
    with pytest.raises(fc.StockDataError, match="no prices for 'ZZZZ'"):
        fc.load_prices("zzzz", "2020-01-01")


def test_bad_symbol_text_gives_a_message():
    with pytest.raises(fc.StockDataError, match="Type a stock symbol"):
        fc.load_prices("   ")
    with pytest.raises(fc.StockDataError, match="does not look like"):
        fc.load_prices("AB$%")


def test_download_is_tidied_and_cached_on_disk(monkeypatch):
    dates = pd.bdate_range("2021-01-04", periods=50, name="Date")
    raw = pd.DataFrame({"Open": 1.0, "High": 2.0, "Low": 0.5, "Close": np.arange(50.0) + 1,
                        "Volume": 100, "Change": 0.0}, index=dates)
    monkeypatch.setattr(fc, "_download", lambda *a: raw)
    first = fc.load_prices("MSFT", "2021-01-01", "2021-06-30")
    assert first.source == "download" and len(first.frame) == 50
    assert first.frame["Date"].iloc[0] == pd.Timestamp("2021-01-04")

    def must_not_download(*a):
        raise AssertionError("a fresh cache must be used without the network")

    monkeypatch.setattr(fc, "_download", must_not_download)
    second = fc.load_prices("MSFT", "2021-01-01", "2021-06-30")
    assert second.source == "cache" and "cached on disk" in second.note
    pd.testing.assert_frame_equal(first.frame, second.frame)


# --- Windows, split, scaling --------------------------------------------------------------------
def test_windows_shapes_and_target_is_the_day_after():
    features = np.arange(20 * 2, dtype=float).reshape(20, 2)  # row r = (2r, 2r + 1)
    target = np.arange(20, dtype=float) * 10
    x, y, rows = fc.make_windows(features, target, window=5, horizon=1)
    assert x.shape == (15, 5, 2) and y.shape == (15,) and rows.shape == (15,)
    np.testing.assert_array_equal(x[0][:, 0], [0, 2, 4, 6, 8])  # days 0..4
    assert y[0] == 50 and rows[0] == 5  # day 5: the day after the window
    np.testing.assert_array_equal(x[-1][-1], features[18])
    assert y[-1] == 190 and rows[-1] == 19
    x2, y2, rows2 = fc.make_windows(features, target, window=5, horizon=3)
    assert x2.shape == (13, 5, 2) and rows2[0] == 7 and y2[0] == 70


def test_prepared_windows_line_up_with_real_dates(samsung):
    frame = _between(samsung, "2020-01-01")
    p = fc.prepare(frame, fc.ForecastConfig())
    assert p.x_test.shape[1:] == (30, 4) and p.y_test.shape == (len(p.rows_test), 1)
    assert p.dates[p.rows_test[0]] >= pd.Timestamp("2023-01-01") > p.dates[p.rows_test[0] - 1]
    # The target is the close of the day after each window; the window ends the day before.
    np.testing.assert_allclose(p.to_prices(p.y_test.numpy(), p.rows_test), p.close[p.rows_test], rtol=1e-5)
    clean, _ = fc.clean_prices(frame)
    last_inputs = p.feature_scaler.inverse_transform(p.x_test[:, -1].double().numpy())  # (N, F)
    expected = clean.loc[p.rows_test - 1, ["Open", "High", "Low", "Volume"]].to_numpy()
    np.testing.assert_allclose(last_inputs, expected, rtol=1e-5)


def test_validation_is_carved_from_the_end_of_training(samsung):
    p = fc.prepare(_between(samsung, "2020-01-01"), fc.ForecastConfig(val_fraction=0.2))
    assert p.rows_train.max() < p.rows_val.min() <= p.rows_val.max() < p.rows_test.min()
    assert p.dates[p.rows_val.max()] < pd.Timestamp("2023-01-01")
    n_before_split = len(p.rows_train) + len(p.rows_val)
    assert len(p.rows_val) == round(0.2 * n_before_split)
    assert p.rows_val.min() == p.train_end


def test_scaler_sees_training_rows_only(samsung):
    frame = _between(samsung, "2020-01-01")
    honest = fc.prepare(frame, fc.ForecastConfig())
    assert honest.fit_rows == honest.train_end == honest.rows_val.min()
    assert honest.feature_scaler.n_rows_ == honest.fit_rows
    clean, _ = fc.clean_prices(frame)
    np.testing.assert_array_equal(honest.target_scaler.max_, [clean["Close"][:honest.fit_rows].max()])

    # Rewrite everything after the training period: nothing the model trains on may change.
    shocked = frame.copy()
    later = shocked["Date"] >= honest.dates[honest.fit_rows]
    shocked.loc[later, ["Open", "High", "Low", "Close"]] *= 10
    again = fc.prepare(shocked, fc.ForecastConfig())
    np.testing.assert_array_equal(again.feature_scaler.max_, honest.feature_scaler.max_)
    assert torch.equal(again.x_train, honest.x_train) and torch.equal(again.y_train, honest.y_train)

    # The notebook's scaler is fitted on every row, so the same shock does leak into training.
    leaky = fc.prepare(shocked, fc.ForecastConfig(leaky=True))
    assert leaky.fit_rows == len(clean)
    assert not torch.equal(leaky.x_train[: len(honest.x_train)], honest.x_train)
    assert np.array_equal(leaky.rows_val, leaky.rows_test)  # validating on the test set


def test_leakage_summary_names_what_the_notebook_scaler_learns_from_the_future():
    aapl = _between(fc._tidy(fc.load_stock_csv("AAPL")), "2016-12-12")
    leak = fc.leakage_summary(aapl, fc.ForecastConfig(split_date="2019-12-12"))
    (honest_lo, honest_hi), (leaky_lo, leaky_hi) = leak["changed"]["target (close)"]
    assert honest_lo == leaky_lo and honest_hi < 60 < 130 < leaky_hi  # AAPL doubled in 2020
    assert leak["test_outside_training"] and leak["leaky_rows"] == len(aapl) - 1


def test_inverse_scaling_round_trips(samsung):
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.normal(50_000, 9_000, 200), np.full(200, 7.0)])  # + a constant column
    scaler = fc.MinMaxScaler().fit(values[:150])
    scaled = scaler.transform(values)
    assert scaled[:150, 0].min() == 0.0 and scaled[:150, 0].max() == 1.0
    assert np.all(scaled[:, 1] == 0.0)  # constant: no division by zero
    np.testing.assert_allclose(scaler.inverse_transform(scaled), values)
    one_d = rng.normal(size=30)
    np.testing.assert_allclose(fc.MinMaxScaler().fit(one_d).inverse_transform(
        fc.MinMaxScaler().fit(one_d).transform(one_d)), one_d)
    p = fc.prepare(_between(samsung, "2020-01-01"), fc.ForecastConfig(target="return"))
    np.testing.assert_allclose(p.to_prices(p.y_test.numpy(), p.rows_test), p.close[p.rows_test], rtol=1e-5)


# --- Baselines and metrics ----------------------------------------------------------------------
def test_baseline_metrics_on_a_hand_made_series():
    close = np.array([10.0, 11.0, 13.0, 12.0, 15.0, 14.0])
    rows = np.array([4, 5])  # predict days 4 and 5
    base = fc.baseline_predictions(close, rows, train_end=4)  # drift from days 0..3: (12-10)/3
    np.testing.assert_allclose(base[fc.NAIVE], [12.0, 15.0])
    np.testing.assert_allclose(base[fc.DRIFT], [12.0 + 2 / 3, 15.0 + 2 / 3])
    actual, prev = close[rows], close[rows - 1]
    naive = fc.metrics(actual, base[fc.NAIVE], prev)
    assert naive["RMSE"] == pytest.approx(math.sqrt(5))   # errors -3, +1
    assert naive["MAE"] == pytest.approx(2.0)
    assert naive["MAPE %"] == pytest.approx(100 * (3 / 15 + 1 / 14) / 2)
    assert math.isnan(naive["Direction %"])  # it never predicts a move
    drift = fc.metrics(actual, base[fc.DRIFT], prev)
    assert drift["RMSE"] == pytest.approx(math.sqrt(((7 / 3) ** 2 + (5 / 3) ** 2) / 2))
    assert drift["MAE"] == pytest.approx(2.0)
    assert drift["MAPE %"] == pytest.approx(100 * ((7 / 3) / 15 + (5 / 3) / 14) / 2)
    assert drift["Direction %"] == pytest.approx(50.0)  # up/up predicted; up/down happened


def test_verdict_distinguishes_copying_from_beating(samsung):
    p = fc.prepare(_between(samsung, "2020-01-01"), fc.ForecastConfig())
    actual, prev = p.close[p.rows_test], p.prev_close(p.rows_test)
    rng = np.random.default_rng(1)
    preds = {"Copycat": prev + rng.normal(0, 5, len(prev)), "Oracle": actual + rng.normal(0, 5, len(prev))}
    table = fc.compare(p, preds)
    assert list(table.index) == ["Copycat", "Oracle", fc.NAIVE, fc.DRIFT]
    assert "ties with" in fc.verdict(table, "Copycat", p, preds["Copycat"], "₩")
    assert "yesterday's curve shifted" in fc.verdict(table, "Copycat", p, preds["Copycat"], "₩")
    assert "beats copying yesterday" in fc.verdict(table, "Oracle", p, preds["Oracle"], "₩")
    assert table.loc["Oracle", "Direction %"] > 90


# --- Bad inputs ---------------------------------------------------------------------------------
def test_bad_inputs_give_messages(samsung):
    short = _between(samsung, "2022-11-01", "2023-01-31")
    with pytest.raises(fc.ForecastInputError, match="too short"):
        fc.prepare(short, fc.ForecastConfig())
    with pytest.raises(fc.ForecastInputError, match="No test days"):
        fc.prepare(_between(samsung, "2020-01-01"), fc.ForecastConfig(split_date="2024-06-01"))
    with pytest.raises(fc.ForecastInputError, match="training windows"):
        fc.prepare(_between(samsung, "2022-09-01"), fc.ForecastConfig(split_date="2022-12-01"))
    with pytest.raises(fc.ForecastInputError, match="at least one input"):
        fc.prepare(samsung, fc.ForecastConfig(features=()))
    with pytest.raises(fc.ForecastInputError, match="no Volume column"):
        fc.prepare(samsung.drop(columns=["Volume"]), fc.ForecastConfig())

    holes = _between(samsung, "2020-01-01").copy()
    holes.loc[[100, 200], "Volume"] = np.nan
    holes.loc[300, "Close"] = 0.0
    p = fc.prepare(holes, fc.ForecastConfig())
    assert any("Dropped 2 row(s) with missing values" in n for n in p.notes)
    assert any("zero or negative price" in n for n in p.notes)
    assert not torch.isnan(p.x_train).any() and not torch.isnan(p.x_test).any()


# --- Models -------------------------------------------------------------------------------------
def test_models_have_the_notebook_shape_and_same_seed_same_init():
    x = torch.randn(7, 30, 4)  # (N, window, F)
    for cell in ("lstm", "gru"):
        model = fc.make_model(cell, 4)
        assert model(x).shape == (7, 1)
        assert [m.out_features for m in model.head if isinstance(m, torch.nn.Linear)] == [5, 1]
        twin = fc.make_model(cell, 4)
        assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    deep = fc.make_model("gru", 4, fc.ModelConfig(hidden=16, layers=2, dropout=0.2))
    assert deep(x).shape == (7, 1) and deep.rnn.num_layers == 2 and deep.rnn.hidden_size == 16


def test_lstm_and_gru_train_and_early_stop(samsung):
    p = fc.prepare(_between(samsung, "2020-01-01"), fc.ForecastConfig(window=20))
    config = fc.make_train_config(lr=0.01, batch_size=64, epochs=60, patience=3)
    for cell in ("lstm", "gru"):
        model = fc.make_model(cell, p.n_features)
        epochs, end = run_to_end(fc.train_events(model, p, config, CPU))
        assert end["reason"] == "early_stop", end
        assert end["best_epoch"] == end["epochs_run"] - 3
        assert epochs[-1]["val_loss"] is not None
        assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
        # the best epoch's weights were restored
        val = evaluate(model, p.x_val, p.y_val, CPU, task="regression")["loss"]
        assert val == pytest.approx(end["best_monitor"], rel=1e-4)
        prices = fc.predict_prices(model, p, CPU)
        assert prices.shape == (len(p.rows_test),) and np.isfinite(prices).all()
        assert 0.5 * p.close.min() < fc.next_day_forecast(model, p, CPU) < 2 * p.close.max()


def test_generated_code_runs(tmp_path):
    config = fc.ForecastConfig(window=10)
    code = fc.make_code("005930", "2021-01-01", "2023-12-31", config, fc.ModelConfig(hidden=4),
                        fc.make_train_config(epochs=2, batch_size=128),
                        csv_path=str(ROOT / "data" / "stocks" / "005930.csv"))
    script = tmp_path / "stock_forecast.py"
    script.write_text(code)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180,
                         cwd=tmp_path, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    for word in ("LSTM", "GRU", "tomorrow = today", "drift", "RMSE", "next trading day"):
        assert word in out.stdout


# --- The page -----------------------------------------------------------------------------------
def test_page_offline_trains_and_reports_honestly(no_network):
    at = open_page("pages/stocks.py")
    assert not at.exception, [e.message for e in at.exception]
    infos = " ".join(i.value for i in at.info)
    assert "embedded CSV data/stocks/005930.csv" in infos and "network is unreachable" in infos
    assert no_network  # the page did try FinanceDataReader (which we made fail)
    at.slider(key="stocks_epochs").set_value(3).run()
    at.button(key="stocks_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error
    table = at.dataframe[-1].value
    assert list(table.index) == ["LSTM", "GRU", fc.NAIVE, fc.DRIFT]
    verdicts = [m.value for m in at.markdown if m.value.startswith(("**LSTM**", "**GRU**"))]
    assert len(verdicts) == 2 and all("tomorrow = today" in v for v in verdicts)
    assert {m.label for m in at.metric} >= {"LSTM", "GRU"}
    assert any("not financial advice" in w.value for w in at.warning)


def test_page_bad_inputs_give_messages():
    at = open_page("pages/stocks.py")
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
