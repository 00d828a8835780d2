"""A .pt downloaded from the playground loads into the "Show the code" recipe's model.

For every recipe with a page model: the page's model is built with core (a seed other than the
recipe's, so its weights cannot match by chance), saved by the playground's export
(core.export.pt_bytes; the same format by hand for the two stores it does not export), and the
recipe runs with WEIGHTS pointing to it. The recipe's model must then hold exactly
those tensors, say so, and skip its training; where the recipe prints a figure of that model,
the figure must be the core model's on the same data.
"""
import dataclasses

import pytest
import torch
from sklearn.metrics import root_mean_squared_error

from conftest import run_recipe
from core import ann, cnn, export, recipes, regression, resnet, rnn, stocks, transfer
from core.engine import TrainConfig, build_seeded
from core.perceptron import make_toy_mlp

FORMAT = "dl-playground-model/1"


def save(path, page: str, recipe: str, model: torch.nn.Module, name: str = "", settings=None) -> str:
    """`model` saved as the playground's 📦 box saves it: by core.export for the run stores it
    exports, else in its format by hand."""
    if page in export.REGISTRY:
        assert export.entry(page).recipe == recipe
        path.write_bytes(export.pt_bytes(page, settings, model.state_dict(), name))
    else:
        torch.save({"format": FORMAT, "page": page, "recipe": recipe, "model": name,
                    "settings": dataclasses.asdict(settings) if settings is not None else {},
                    "state_dict": model.state_dict()}, path)
    return str(path)


def assert_loaded(theirs: torch.nn.Module, ours: torch.nn.Module, printed: str, name: str = "") -> None:
    """The recipe's model holds the core model's tensors under the same keys, and said it loaded them."""
    mine, given = theirs.state_dict(), ours.state_dict()
    assert list(mine) == list(given), "the recipe's model has other layer names than the page's"
    for key, tensor in given.items():
        assert mine[key].shape == tensor.shape and torch.equal(mine[key].cpu(), tensor), key
    assert f"loaded {name or 'the model'} from " in printed, printed[-500:]


def test_ann_pt_loads_and_scores_what_core_scores(tmp_path, capsys):
    s = ann.AnnSettings(hidden=(24,), activation="tanh", seed=5, normalization="mnist")
    model = ann.build_model(s)
    weights = save(tmp_path / "mnist_ann.pt", "ann_runs", "ann", model, settings=s)
    values = {**s.recipe_values(), "N_TRAIN": 100, "SEED": 0}
    script = run_recipe("ann", optimizer=s.train_config(), WEIGHTS=weights, WEIGHTS_FILE=str(tmp_path / "out.pt"),
                        **values)
    assert_loaded(script["model"], model, capsys.readouterr().out)
    x, y = ann.test_set()
    with torch.no_grad():
        core_acc = 100.0 * (model.eval()(s.transform()(x)).argmax(1) == y).float().mean().item()
    # the recipe's torchvision pipeline and core's tensors: the same 10,000 images, the same figure
    assert script["test_acc"] == pytest.approx(core_acc, abs=0.02)


def test_ann_regression_pt_loads_and_predicts_what_core_predicts(tmp_path, capsys):
    settings = regression.RegressionSettings(hidden=(8, 4), seed=4, split_seed=2, epochs=40)
    model = regression.build_model(settings)
    weights = save(tmp_path / "reg.pt", "ann_reg_runs", "ann_regression", model, settings=settings)
    script = run_recipe("ann_regression", optimizer=settings.train_config(), WEIGHTS=weights,
                        **{**settings.recipe_values(), "SEED": 0})
    assert_loaded(script["model"], model, capsys.readouterr().out)
    split = regression.split(settings.split_seed, settings.val_share, settings.test_share)
    with torch.no_grad():
        scaled = model.eval()(split.tensors("test")[0]).numpy()
    core_rmse = root_mean_squared_error(split.y["test"], split.to_units(scaled))
    assert script["test_rmse"]["ANN"] == pytest.approx(core_rmse, rel=1e-5)


@pytest.mark.parametrize("page,name", [("cnn_runs", ""), ("cnn_augment_runs", "augmented")])
def test_cnn_pt_loads(tmp_path, capsys, page, name, one_thread):
    model = cnn.build_cnn("mnist", 4)
    weights = save(tmp_path / "cnn.pt", page, "cnn", model, name, cnn.CNNSettings(n_train=20, n_test=200))
    script = run_recipe("cnn", WEIGHTS=weights, N_TRAIN=20, N_TEST=200, EPOCHS=2)
    assert_loaded(script["model"], model, capsys.readouterr().out)
    images = torch.stack([script["test_set"][i][0] for i in range(len(script["test_set"]))])
    labels = torch.tensor([script["test_set"][i][1] for i in range(len(script["test_set"]))])
    with torch.no_grad():
        core_acc = 100.0 * (model.eval()(images).argmax(1) == labels).float().mean().item()
    assert script["test_acc"] == pytest.approx(core_acc, abs=1e-6)


def test_resnet_pt_loads_into_the_twin_it_names(tmp_path, capsys, one_thread):
    settings = resnet.ExperimentSettings(depth=6, width=16, seed=2)
    plain, residual = resnet.build_pair(settings.net_config(), settings.seed)
    weights = save(tmp_path / "resnet.pt", "resnet_runs", "resnet", residual, "residual", settings)
    script = run_recipe("resnet", optimizer=TrainConfig(optimizer="sgd_momentum", lr=0.01), WEIGHTS=weights,
                        DEPTH=6, WIDTH=16, N_TRAIN=64, N_TEST=100, EPOCHS=1)
    printed = capsys.readouterr().out
    assert_loaded(script["model"], residual, printed, "residual")  # the loop's last model
    assert "loaded plain" not in printed and "epoch 1:" in printed  # the plain twin still trained
    with torch.no_grad():
        core_acc = 100 * (residual.eval()(script["x_test"]).argmax(1) == script["y_test"]).sum().item() / 100
    assert script["results"]["residual"][0] == pytest.approx(core_acc)


def test_transfer_pt_loads_into_the_model_it_names(tmp_path, capsys, one_thread):
    settings = transfer.TransferSettings(per_class=10, epochs=1, seed=1)
    model = transfer.build_models(settings, transfer.load_backbone())["finetune"]
    weights = save(tmp_path / "transfer.pt", "transfer_runs", "transfer", model, "finetune", settings)
    script = run_recipe("transfer", optimizer=settings.train_config(), WEIGHTS=weights, PER_CLASS=10, EPOCHS=1)
    assert_loaded(script["finetune"], model, capsys.readouterr().out, "finetune")
    with torch.no_grad():
        core_acc = 100 * (model.eval()(script["x_test"]).argmax(1) == script["y_test"]).sum().item() / 1000
    assert script["results"]["finetune"] == pytest.approx(core_acc)
    for other in ("scratch", "frozen"):  # only the file's model is replaced
        assert script[other].state_dict().keys() == model.state_dict().keys()


def test_rnn_sine_pt_loads_into_its_cell(tmp_path, capsys):
    settings = rnn.SineSettings(samples=60, seq_len=12, hidden_size=8, num_layers=2)
    model = rnn.make_model("gru", hidden_size=8, num_layers=2, seed=3)
    weights = save(tmp_path / "rnn.pt", "rnn_runs", "rnn_sine", model, "gru", settings)
    script = run_recipe("rnn_sine", WEIGHTS=weights, SAMPLES=60, SEQ_LEN=12, HIDDEN=8, LAYERS=2, EPOCHS=1)
    assert_loaded(script["model"], model, capsys.readouterr().out, "gru")
    with torch.no_grad():
        core_mse = torch.nn.functional.mse_loss(model(script["x_test"]), script["y_test"]).item()
    assert script["test_mse"]["gru"] == pytest.approx(core_mse, rel=1e-6)


def test_rnn_memory_pt_loads_into_its_cell(tmp_path, capsys):
    model = rnn.make_model("lstm", hidden_size=8, input_size=2, seed=3)
    weights = save(tmp_path / "memory.pt", "rnn_memory", "rnn_memory", model, "lstm", rnn.MemorySettings())
    script = run_recipe("rnn_memory", WEIGHTS=weights, T=5, SAMPLES=32, TEST_SAMPLES=50, HIDDEN=8, EPOCHS=1)
    printed = capsys.readouterr().out
    assert "loaded lstm from " in printed
    loaded = torch.nn.ModuleDict({"rnn": script["rnn"], "head": script["head"]})  # the last cell: gru
    assert loaded.state_dict().keys() == model.state_dict().keys()
    with torch.no_grad():
        last = model(script["x_test"])[:, -1, 0]
    core_acc = 100 * ((last - script["y_test"][:, -1, 0]).abs() <= script["TOLERANCE"]).float().mean().item()
    assert script["accuracy"]["lstm"] == pytest.approx(core_acc)


def test_stocks_pt_loads_into_its_cell(tmp_path, capsys):
    settings = stocks.StockSettings(hidden=6, seed=2)
    model = stocks.make_model("gru", len(settings.features), settings)
    weights = save(tmp_path / "stocks.pt", "stocks_runs", "stocks", model, "gru", settings)
    script = run_recipe("stocks", optimizer=settings.train_config(), WEIGHTS=weights, HIDDEN=6, EPOCHS=1)
    assert_loaded(script["model"], model, capsys.readouterr().out, "gru")  # the loop's last model
    with torch.no_grad():
        predicted = script["to_prices"](model.eval()(script["x_test"]).numpy(), script["prev"])
    assert script["test_rmse"]["GRU"] == pytest.approx(root_mean_squared_error(script["actual"], predicted))


def test_perceptron_mlp_pt_and_a_bare_state_dict_load(tmp_path, capsys):
    model = build_seeded(lambda: make_toy_mlp(hidden=3, activation="tanh"), 9)
    values = {"DATASET": "XOR", "N_POINTS": 40, "HIDDEN": 3, "EPOCHS": 5}
    for weights in (save(tmp_path / "mlp.pt", "perceptron_mlp_runs", "perceptron_mlp", model),
                    str(tmp_path / "bare.pt")):
        torch.save(model.state_dict(), tmp_path / "bare.pt")
        script = run_recipe("perceptron_mlp", WEIGHTS=weights, **values)
        assert_loaded(script["model"], model, capsys.readouterr().out)
        assert script["losses"] == []  # not trained
        with torch.no_grad():
            core_acc = (model(script["X"]).argmax(1) == script["y"]).float().mean().item() * 100
        assert script["accuracy"] == pytest.approx(core_acc)


def test_a_file_for_other_settings_stops_with_one_clear_line(tmp_path):
    model = make_toy_mlp(hidden=5)
    weights = save(tmp_path / "mlp.pt", "perceptron_mlp_runs", "perceptron_mlp", model,
                     settings=dataclasses.make_dataclass("S", [("hidden", int)])(5))
    with pytest.raises(SystemExit) as stopped:
        run_recipe("perceptron_mlp", WEIGHTS=weights, HIDDEN=3, EPOCHS=1)
    message = str(stopped.value)
    assert "does not fit this model" in message and "'hidden': 5" in message and "\n" not in message


def test_every_recipe_with_a_page_model_takes_weights():
    """The recipes without WEIGHTS have no model the page keeps: the cubic's four numbers and
    the backpropagation walk's weights travel in their settings already."""
    from core import recipes

    without = [name for name in recipes.names() if "WEIGHTS" not in recipes.settings(name)]
    assert without == ["backprop", "perceptron_cubic"]
    assert all(recipes.settings(name)["WEIGHTS"] == "None" for name in recipes.names() if name not in without)


def test_every_model_the_playground_exports_has_its_place_in_the_recipe():
    """Each (run store, model) core.export writes with a recipe name: the recipe takes WEIGHTS, and
    a recipe with several models loads it into the one of that name (a one-model recipe takes any)."""
    for store, entry in export.REGISTRY.items():
        if not entry.recipe:
            continue  # ResNet-18 transfer: no recipe rebuilds it
        source = recipes.source(entry.recipe)
        assert recipes.settings(entry.recipe)["WEIGHTS"] == "None", store
        one_model = "load_weights(model)" in source
        for name in entry.models:
            if (store, name) != ("stocks_runs", "lstm_leaky"):  # refused in one line, tested below
                assert one_model or f'"{name}"' in source, (store, name)


def test_the_leaky_lstm_is_refused_in_one_line(tmp_path):
    settings = stocks.StockSettings(with_leaky=True)
    model = stocks.RecurrentForecaster("lstm", len(settings.features), settings)  # the leaky one's shape
    weights = save(tmp_path / "leaky.pt", "stocks_runs", "stocks", model, "lstm_leaky", settings)
    with pytest.raises(SystemExit, match="leaky LSTM: this script trains only the honest LSTM and GRU"):
        run_recipe("stocks", WEIGHTS=weights, EPOCHS=1)


def test_every_recipe_loads_weights_with_the_same_function():
    """A recipe runs alone in a learner's folder, so each carries its own load_weights; they are
    one function written nine times, and stay one: a fix to one must reach them all."""
    import re

    found = {}
    for name in recipes.names():
        match = re.search(r"\ndef load_weights\(.*?\n(?=\n\S)", recipes.source(name), re.DOTALL)
        if match:
            found[name] = match.group(0)
    assert len(found) >= 9 and len(set(found.values())) == 1, sorted(found)
