"""The ANN-for-regression section: an honest split and scaling, the baselines against
scikit-learn and NumPy, the ANN's test RMSE on a fixed seed, the recipe, and the page."""
import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression
from test_content import HANGUL, _latin_words, _texts

from conftest import open_page, reopen_workspace, run_recipe
from core import regression
from core.engine import run_to_end
from ui.runs import Run

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny steps: one thread avoids pool stalls
CPU = torch.device("cpu")
# The default settings (split seed 0, seed 0) on the CPU: the ANN's test RMSE is 57.23 (early
# stop at epoch 31, best epoch 11), the linear model's 58.17, the training mean's 71.89.
ANN_RMSE_LIMIT = 58.0
QUICK = {"epochs": 15}  # the page tests' run: a few epochs, still past the best one


def _trained(settings: regression.RegressionSettings, s: regression.Split | None = None):
    s = s or regression.split(settings.split_seed, settings.val_share, settings.test_share)
    model = regression.build_model(settings)
    epochs, end = run_to_end(regression.train_events(model, s, settings, CPU))
    return model, s, epochs, end


def test_split_is_disjoint_seeded_and_complete():
    s = regression.split(0)
    rows = [s.rows[k] for k in ("train", "val", "test")]
    assert [len(r) for r in rows] == list(regression.n_rows(0.2, 0.2)) == [264, 89, 89]
    assert sorted(np.concatenate(rows).tolist()) == list(range(442))
    assert np.array_equal(regression.split(0).rows["test"], s.rows["test"])
    assert not np.array_equal(regression.split(1).rows["test"], s.rows["test"])
    for val_share, test_share in ((0.1, 0.3), (0.25, 0.15), (0.15, 0.25)):
        other = regression.split(3, val_share, test_share)
        assert tuple(len(other.rows[k]) for k in ("train", "val", "test")) == regression.n_rows(val_share, test_share)


def test_scalers_are_fitted_on_the_training_rows_only(monkeypatch):
    s = regression.split(0)
    assert s.x_scaler.n_samples_seen_ == s.y_scaler.n_samples_seen_ == 264
    np.testing.assert_allclose(s.x_scaler.mean_, s.x["train"].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.x_scaler.scale_, s.x["train"].std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.y_scaler.mean_, [s.y["train"].mean()], rtol=1e-12)
    everything = np.concatenate([s.x["train"], s.x["val"], s.x["test"]])
    assert not np.allclose(s.x_scaler.mean_, everything.mean(axis=0), rtol=1e-6)
    # Change every validation and test row beyond recognition: the scalers must not move.
    table = regression.load_table()
    held_out = np.concatenate([s.rows["val"], s.rows["test"]])
    table.loc[held_out, list(regression.FEATURES)] += 1_000.0
    table.loc[held_out, regression.TARGET] *= 10
    monkeypatch.setattr(regression, "_table", lambda: table)
    leaked = regression.split(0)
    np.testing.assert_array_equal(leaked.x_scaler.mean_, s.x_scaler.mean_)
    np.testing.assert_array_equal(leaked.x_scaler.scale_, s.x_scaler.scale_)
    np.testing.assert_array_equal(leaked.y_scaler.mean_, s.y_scaler.mean_)
    # ...while the test rows themselves did change, so the comparison above could fail.
    assert leaked.tensors("test")[0].mean() > s.tensors("test")[0].mean() + 10


def test_tensors_are_standardized_and_back_in_units():
    s = regression.split(0)
    x, y = s.tensors("train")
    assert x.shape == (264, 10) and y.shape == (264, 1) and x.dtype == torch.float32
    assert x.mean(dim=0).abs().max() < 1e-5 and (x.std(dim=0, correction=0) - 1).abs().max() < 1e-5
    np.testing.assert_allclose(s.to_units(s.tensors("test")[1].numpy()), s.y["test"], rtol=1e-5)


def test_baselines_match_scikit_learn_and_numpy():
    s = regression.split(0)
    base = regression.baselines(s)
    actual = s.y["test"]

    def by_hand(predicted):
        residual = actual - predicted
        return {"rmse": math.sqrt(np.mean(residual ** 2)), "mae": np.mean(np.abs(residual)),
                "r2": 1 - np.sum(residual ** 2) / np.sum((actual - actual.mean()) ** 2)}

    mean = by_hand(np.full(len(actual), s.y["train"].mean()))
    linear = by_hand(LinearRegression().fit(s.x["train"], s.y["train"]).predict(s.x["test"]))  # unscaled: same fit
    for name, reference in (("mean", mean), ("linear", linear)):
        for key in ("rmse", "mae", "r2"):
            assert base[name][key] == pytest.approx(reference[key], rel=1e-9), (name, key)
    assert base["mean"]["rmse"] == pytest.approx(71.8865, abs=1e-4)
    assert base["linear"]["rmse"] == pytest.approx(58.1694, abs=1e-4)
    assert base["linear"]["r2"] > 0.3 > base["mean"]["r2"]


def test_the_ann_reaches_the_stated_rmse_and_early_stopping_keeps_the_best_epoch():
    settings = regression.RegressionSettings()
    model, s, epochs, end = _trained(settings)
    assert end["reason"] == "early_stop" and end["epochs_run"] == end["best_epoch"] + settings.patience
    res = regression.analyze(model, s, settings, epochs, end, CPU)
    assert res["rmse"] < ANN_RMSE_LIMIT < res["baselines"]["mean"]["rmse"]
    assert res["r2"] > 0.3 and res["mae"] < res["rmse"]
    # The weights kept are the best epoch's: their validation loss is the best one seen.
    x_val, y_val = s.tensors("val")
    with torch.no_grad():
        val_loss = torch.nn.functional.mse_loss(model(x_val), y_val).item()
    assert val_loss == pytest.approx(min(e["val_loss"] for e in epochs), rel=1e-5)
    table = regression.comparison(res)
    assert table["model"].tolist() == ["mean", "linear", "ann"]
    assert regression.verdict(res) == "beats"


def test_verdict_and_runs_table_and_curves():
    base = {"linear": {"rmse": 50.0}, "mean": {"rmse": 70.0}}
    assert regression.verdict({"rmse": 45.0, "baselines": base}) == "beats"
    assert regression.verdict({"rmse": 50.4, "baselines": base}) == "ties"
    assert regression.verdict({"rmse": 55.0, "baselines": base}) == "loses"
    settings = regression.RegressionSettings(hidden=(8,), epochs=4, patience=0)
    model, s, epochs, end = _trained(settings)
    assert end["reason"] == "completed" and len(epochs) == 4
    run = Run(1, settings, epochs, end, regression.analyze(model, s, settings, epochs, end, CPU))
    table = regression.runs_table([run])
    assert table.loc[0, "hidden"] == "8" and table.loc[0, "epochs_run"] == 4 and table.loc[0, "outcome"] == "completed"
    curves = regression.runs_curves([run])
    std = float(s.y_scaler.scale_[0])
    assert curves["val_rmse"].tolist() == pytest.approx([math.sqrt(e["val_loss"]) * std for e in epochs])
    # The last epoch's validation RMSE in units is the RMSE of the model's own validation predictions.
    predicted = s.to_units(model.eval()(s.tensors("val")[0]).detach().numpy())
    assert curves["val_rmse"].iloc[-1] == pytest.approx(math.sqrt(np.mean((predicted - s.y["val"]) ** 2)), rel=1e-4)


def test_estimate_grows_with_the_work():
    small = regression.RegressionSettings()
    assert 0 < regression.estimate_seconds(small, CPU) < 60
    assert regression.estimate_seconds(regression.RegressionSettings(epochs=600), CPU) == pytest.approx(
        2 * regression.estimate_seconds(small, CPU), rel=0.02)  # the run's set-up counts once
    assert regression.estimate_seconds(regression.RegressionSettings(hidden=(512, 512)), CPU) > \
        regression.estimate_seconds(small, CPU)
    assert regression.estimate_seconds(regression.RegressionSettings(batch_size=8), CPU) > \
        regression.estimate_seconds(small, CPU)


def test_recipe_matches_the_engine(capsys):
    settings = regression.RegressionSettings(hidden=(16,), epochs=60, patience=10, seed=3, split_seed=5)
    out = run_recipe("ann_regression", optimizer=settings.train_config(), **settings.recipe_values())
    printed = capsys.readouterr().out
    assert "training mean" in printed and "linear regression" in printed and "R²" in printed
    model, s, epochs, end = _trained(settings)
    res = regression.analyze(model, s, settings, epochs, end, CPU)
    assert out["best_epoch"] == end["best_epoch"]
    assert out["test_rmse"]["ANN"] == pytest.approx(res["rmse"], rel=1e-4)
    assert out["test_rmse"]["linear regression"] == pytest.approx(res["baselines"]["linear"]["rmse"], rel=1e-9)
    assert out["test_rmse"]["training mean"] == pytest.approx(res["baselines"]["mean"]["rmse"], rel=1e-9)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_page_section_trains_and_shows_results(lang):
    at = open_page("views/ann/ann.py", query={"lang": lang}, timeout=300)
    assert not at.exception, [e.message for e in at.exception]
    assert at.number_input(key="reg_split_seed").value == 0
    at.text_input(key="reg_hidden").input("32, x").run()  # bad input: a message, no traceback
    assert not at.exception and at.button(key="reg_train").disabled
    assert any("32, x" in e.value for e in at.error)
    at.text_input(key="reg_hidden").input("32, 16")
    at.slider(key="reg_epochs").set_value(QUICK["epochs"]).run()
    assert not at.button(key="reg_train").disabled
    at.button(key="reg_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    settings = regression.RegressionSettings(**QUICK)
    model, s, epochs, end = _trained(settings)
    res = regression.analyze(model, s, settings, epochs, end, CPU)
    rmse, mae, r2 = {"en": ("Test RMSE", "Test MAE", "Test R²"), "ko": ("테스트 RMSE", "테스트 MAE", "테스트 R²")}[lang]
    shown = {m.label: m.value for m in at.metric}
    assert shown[rmse] == f"{res['rmse']:.2f}" and shown[mae] == f"{res['mae']:.2f}" and shown[r2] == f"{res['r2']:.3f}"
    verdict = {"en": "beats", "ko": "앞섭니다"}[lang]
    assert any(verdict in m.value and f"{res['baselines']['linear']['rmse']:.2f}" in m.value for m in at.success)
    assert at.session_state["ann_reg_runs"]["runs"][0].results["rmse"] == pytest.approx(res["rmse"], rel=1e-6)
    assert at.multiselect(key="reg_compare_runs").value == ["#1"]
    reopen_workspace(at, "views/ann/ann.py", ["ann_reg_runs"])
    if lang == "ko":  # the results, tables and run comparison read in Korean too
        english = [text[:80] for text in _texts(at.main) if not HANGUL.search(text) and _latin_words(text)]
        assert not english, english


def test_the_default_settings_are_the_diabetes_table_and_an_old_run_reads_back():
    """Runs kept before own tables existed have no data, target, features or rows: rebuilt from
    the stored JSON they take the defaults, which are the diabetes table's."""
    import json

    from db import codec

    settings = regression.RegressionSettings(hidden=(8,), seed=4)
    assert not settings.own and settings.architecture() == "10-8-1" and settings.rows == 442
    assert settings.steps_per_epoch() == math.ceil(264 / 32)
    stored = json.loads(codec.encode(settings, {}))
    for field in ("data", "data_hash", "target", "features", "rows"):
        del stored["v"][field]
    problems = []
    assert codec.decode(json.dumps(stored), {}, problems) == settings and not problems
