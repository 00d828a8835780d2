"""ResNet page: twins' shapes and parameters, vanishing gradients, the comparison run, the
recipe against the engine, stage table, offline transfer, the page under AppTest."""
import pytest
import torch
import torchvision
from torch import nn

from conftest import open_page, reopen_workspace, run_recipe
from core import data, recipes, resnet
from core.engine import TrainConfig, evaluate, run_to_end, train
from core.models import count_params
from core.words import english, sections

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def mnist_small():
    return resnet.experiment_data("mnist", n_train=2000, n_test=1000, seed=0)


# --- building blocks ---------------------------------------------------------------------------

def test_basic_block_shortcut_only_when_shape_changes():
    same = resnet.BasicBlock(64, 64, stride=1)
    assert isinstance(same.shortcut, nn.Identity)
    assert same(torch.randn(2, 64, 14, 14)).shape == (2, 64, 14, 14)

    down = resnet.BasicBlock(64, 128, stride=2)
    conv = down.shortcut[0]
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1) and conv.stride == (2, 2)
    assert down(torch.randn(2, 64, 14, 14)).shape == (2, 128, 7, 7)
    # same parameter count as torchvision's BasicBlock with its downsample shortcut
    tv = torchvision.models.resnet18(weights=None).layer2[0]
    assert count_params(down) == count_params(tv)


def test_mlp_twins_have_equal_depth_and_parameters():
    cfg = resnet.NetConfig(depth=10, width=64, kind="mlp", in_shape=(1, 28, 28))
    plain, residual = resnet.build_pair(cfg)
    expected = (784 * 64 + 64) + 8 * (64 * 64 + 64) + (64 * 10 + 10)  # first, 8 hidden, last
    assert count_params(plain) == count_params(residual) == expected
    assert len(plain.weight_layers()) == len(residual.weight_layers()) == 10
    x = torch.randn(5, 1, 28, 28)
    assert plain(x).shape == residual(x).shape == (5, 10)
    # identical start: the only difference is the skip connection
    for (name, p), (_, r) in zip(plain.state_dict().items(), residual.state_dict().items()):
        assert torch.equal(p, r), name
    assert not torch.allclose(plain(x), residual(x))


def test_conv_twins_differ_only_by_the_1x1_shortcuts():
    cfg = resnet.NetConfig(depth=14, width=8, kind="conv", batchnorm=True, in_shape=(3, 32, 32))
    plain, residual = resnet.build_pair(cfg)
    shortcuts = [b.shortcut for b in residual.blocks if isinstance(b.shortcut, nn.Conv2d)]
    assert len(shortcuts) == 2  # stage 1 -> 2 and 2 -> 3
    assert [s.kernel_size for s in shortcuts] == [(1, 1), (1, 1)]
    # 1x1 convs without bias: 8 -> 16 and 16 -> 32 channels
    assert count_params(residual) - count_params(plain) == 8 * 16 + 16 * 32
    x = torch.randn(4, 3, 32, 32)
    assert plain(x).shape == residual(x).shape == (4, 10)
    assert len(residual.weight_layers()) == 14


def test_depth_must_be_even():
    with pytest.raises(ValueError):
        resnet.blocks_for_depth(9)
    with pytest.raises(ValueError):
        resnet.build_pair(resnet.NetConfig(activation="tanh"))


# --- the experiment ----------------------------------------------------------------------------

def test_first_layer_gradient_vanishes_in_deep_plain_sigmoid_net(mnist_small):
    x, y = mnist_small["x_train"][:256], mnist_small["y_train"][:256]
    cfg = resnet.NetConfig(depth=20, activation="sigmoid", batchnorm=False, in_shape=(1, 28, 28))
    plain, residual = resnet.build_pair(cfg, seed=0)
    result = resnet.first_layer_gradients(plain, residual, x, y)
    g_plain, g_res = result
    assert g_res > 0
    assert g_res / max(g_plain, 1e-30) > 1e3, result  # measured ~1e15; robust margin
    # a shallow plain net does not suffer nearly as much
    shallow_plain, shallow_res = resnet.build_pair(
        resnet.NetConfig(depth=4, activation="sigmoid", in_shape=(1, 28, 28)), seed=0)
    s_plain, s_res = resnet.first_layer_gradients(shallow_plain, shallow_res, x, y)
    assert s_plain / g_plain > 1e3
    # BatchNorm rescues the plain net's gradient (within a factor 10 of its residual twin)
    bn_plain, bn_res = resnet.build_pair(
        resnet.NetConfig(depth=20, activation="sigmoid", batchnorm=True, in_shape=(1, 28, 28)), seed=0)
    b_plain, b_res = resnet.first_layer_gradients(bn_plain, bn_res, x, y)
    assert b_res / b_plain < 10


def test_residual_twin_learns_where_plain_does_not(mnist_small):
    cfg = resnet.NetConfig(depth=20, activation="sigmoid", in_shape=(1, 28, 28))
    plain, residual = resnet.build_pair(cfg, seed=0)
    train_cfg = TrainConfig(epochs=1, batch_size=64, lr=0.01, optimizer="sgd_momentum", log_every=8)
    results = {}
    for name, model in (("plain", plain), ("residual", residual)):
        events = list(train(model, (mnist_small["x_train"], mnist_small["y_train"]), train_cfg, CPU,
                            step_probe=resnet.grad_norm_probe))
        probes = [e["probe"] for e in events if e["kind"] == "batch"]
        assert probes and len(probes[0]) == 20
        assert list(probes[0]) == resnet.layer_names(model)
        frame = resnet.gradient_frame(events)
        assert len(frame) == 20 * len(probes)
        results[name] = evaluate(model, mnist_small["x_test"], mnist_small["y_test"], CPU)["accuracy"]
    assert results["plain"] < 20  # guessing among 10 classes
    assert results["residual"] > results["plain"] + 30, results


def test_experiment_settings_give_the_one_train_config():
    settings = resnet.ExperimentSettings(n_train=5000, batch_size=64, epochs=3, lr=0.03, optimizer="adam")
    config = settings.train_config()
    assert settings.steps == 79 * 3
    assert (config.epochs, config.batch_size, config.lr, config.optimizer, config.seed) == (3, 64, 0.03, "adam", 0)
    assert config.log_every == 237 // 40  # about 40 logged steps per network
    assert settings.net_config().in_shape == (1, 28, 28)
    assert resnet.ExperimentSettings(dataset="cifar10").net_config().in_shape == (3, 32, 32)
    head, scratch = resnet.TransferConfig().train_config("pretrained"), resnet.TransferConfig().train_config("scratch")
    assert (head.epochs, head.optimizer, head.log_every, scratch.epochs, scratch.log_every) == (15, "adam", 20, 3, 10)
    with pytest.raises(ValueError):
        resnet.TransferConfig().train_config("other")


def test_comparison_run_tags_both_twins_and_keeps_a_stopped_run(mnist_small):
    settings = resnet.ExperimentSettings(depth=8, n_train=500, epochs=2, batch_size=64)
    exp = {k: v[:500] if k.startswith(("x_", "y_")) else v for k, v in mnist_small.items()}
    plain, residual = resnet.build_pair(settings.net_config())
    events = list(resnet.plain_vs_residual(plain, residual, settings, exp, CPU))
    # 2 epochs on 500 images: the plain twin may still be at chance, which the engine says ("not_learned")
    assert events[-1]["kind"] == "end" and events[-1]["reason"] in ("completed", "not_learned")
    progress = [e["progress"] for e in events[:-1]]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert {e["model"] for e in events[:-1]} == {"plain", "residual"}
    assert max(e["progress"] for e in events if e.get("model") == "plain") == 0.5
    assert all(e["eta"] is None for e in events[:-1])  # the panel estimates it over both twins
    done = resnet.comparison(events[:-1])
    assert done["done"] and None not in done["accuracy"].values()
    assert done["ratio"] > 1  # sigmoid, no BN: the residual twin's first layer gets more
    grads = resnet.gradient_frame(events)
    assert set(grads["network"]) == {"plain", "residual"}
    assert len(resnet.gradient_frame(events, "plain")) == 8 * sum(
        1 for e in events if e["kind"] == "batch" and e["model"] == "plain")
    # Stop during the residual twin: what ran is a run, not a comparison
    first_residual_epoch = next(i for i, e in enumerate(events) if e["kind"] == "epoch" and e["model"] == "residual")
    partial = resnet.comparison(events[:first_residual_epoch])
    assert not partial["done"] and partial["ends"]["residual"] is None
    assert partial["accuracy"]["plain"] == done["accuracy"]["plain"] and partial["accuracy"]["residual"] is None


def test_stopped_run_is_kept_in_the_store_with_weights(mnist_small, monkeypatch):
    """What run_training does on Stop: a run with end None into the page's RunStore."""
    from ui.runs import Run, RunStore, cpu_state_dict
    from ui.training import has_epoch

    monkeypatch.setattr("streamlit.session_state", {}, raising=False)
    settings = resnet.ExperimentSettings(depth=6, n_train=200, epochs=1)
    exp = {k: v[:200] if k.startswith(("x_", "y_")) else v for k, v in mnist_small.items()}
    plain, residual = resnet.build_pair(settings.net_config())
    events = resnet.plain_vs_residual(plain, residual, settings, exp, CPU)
    history = []
    for event in events:  # Stop right after the plain twin's first epoch
        history.append(event)
        if event["kind"] == "epoch":
            break
    store = RunStore("resnet_runs")
    assert has_epoch(history)
    store.add(Run(id=store.next_id(), settings=settings, history=history, end=None,
                  results=resnet.comparison(history),
                  state_dict={"plain": cpu_state_dict(plain), "residual": cpu_state_dict(residual)}))
    run = store.latest
    assert run.stopped and not run.results["done"] and run.settings == settings
    assert all(v.device.type == "cpu" for v in run.state_dict["plain"].values())


def test_activation_histograms_batchnorm_keeps_the_spread(mnist_small):
    x = mnist_small["x_train"][:256]
    hist, stats = resnet.activation_histograms(
        resnet.NetConfig(depth=20, activation="relu", in_shape=(1, 28, 28)), x)
    sums = hist.groupby(["batchnorm", "layer_index"])["fraction"].sum()
    assert ((sums - 1).abs() < 1e-6).all()
    assert set(stats["batchnorm"]) == {False, True} and (stats["layers"] == 19).all()  # 9 blocks x 2 + head
    last = stats.groupby("batchnorm").last()
    assert last.loc[True, "std"] > 3 * last.loc[False, "std"]  # with BN vs without
    assert abs(last.loc[True, "mean_slope"] - 0.5) < 0.1  # about half the ReLUs active

    _, sig = resnet.activation_histograms(
        resnet.NetConfig(depth=20, activation="sigmoid", in_shape=(1, 28, 28)), x)
    assert (sig["mean_slope"] <= 0.25 + 1e-6).all()


# --- real architectures ------------------------------------------------------------------------

@pytest.mark.parametrize("name,total,layers", [("resnet18", 11_689_512, 18),
                                               ("resnet34", 21_797_672, 34),
                                               ("resnet50", 25_557_032, 50)])
def test_stage_table_matches_torchvision(name, total, layers):
    table = resnet.stage_table(name)
    model = getattr(torchvision.models, name)(weights=None)
    totals = table.set_index("stage").loc["total"]
    assert totals["parameters"] == count_params(model) == total
    assert totals["weight layers"] == layers
    assert table.iloc[:-1]["parameters"].sum() == total
    sizes = table.set_index("stage")["output"].str.split(" x ").str[-1]
    assert sizes[["stem", "pool", "layer1", "layer2", "layer3", "layer4"]].tolist() == \
        ["112", "56", "56", "28", "14", "7"]
    blocks = table.set_index("stage")["blocks"]
    expected_blocks = [len(getattr(model, f"layer{i}")) for i in range(1, 5)]
    assert blocks[["layer1", "layer2", "layer3", "layer4"]].tolist() == expected_blocks
    stage_params = table.set_index("stage")["parameters"]
    assert stage_params["layer3"] == count_params(model.layer3)
    # what each stage is: content sections the page says in the reader's language
    described = table.set_index("stage")["layers"]
    assert english(described["layer1"]) == type(model.layer1[0]).__name__
    assert english(described["fc"]) == "fully connected -> 1000 classes"


# --- show the code: core/recipes/resnet.py -----------------------------------------------------

@pytest.mark.parametrize("values", [
    dict(DATASET="mnist", KIND="mlp", DEPTH=12, WIDTH=64, ACTIVATION="sigmoid", BATCHNORM=False,
         N_TRAIN=1000, N_TEST=500, EPOCHS=1),
    dict(DATASET="cifar10", KIND="conv", DEPTH=8, WIDTH=4, ACTIVATION="relu", BATCHNORM=True,
         N_TRAIN=300, N_TEST=200, EPOCHS=1),
], ids=["mlp-mnist", "conv-cifar10"])
def test_recipe_trains_the_same_twins_as_the_engine(values, one_thread):
    """The recipe, run offline on the embedded data, builds the engine's twins and reaches the
    engine's figures for the same settings: same subset, start weights and batch order, so test
    accuracy within 1 point and the first layer's gradient on the last step within 5 %
    (fused vs plain optimizer kernels and conv algorithms round differently)."""
    config = TrainConfig(optimizer="sgd_momentum", lr=0.01)
    g = run_recipe("resnet", optimizer=config, **values)
    settings = resnet.ExperimentSettings(
        depth=values["DEPTH"], width=values["WIDTH"], activation=values["ACTIVATION"],
        batchnorm=values["BATCHNORM"], kind=values["KIND"], dataset=values["DATASET"],
        n_train=values["N_TRAIN"], n_test=values["N_TEST"], epochs=values["EPOCHS"])
    plain, residual = resnet.build_pair(settings.net_config(), settings.seed)
    for flag, ours in ((False, plain), (True, residual)):
        theirs = g["Net"](flag)
        assert count_params(theirs) == count_params(ours)
        assert len(g["weight_layers"](theirs)) == values["DEPTH"]
        assert theirs(torch.randn(2, *settings.net_config().in_shape)).shape == (2, 10)
    exp = resnet.experiment_data(settings.dataset, settings.n_train, settings.n_test, settings.seed)
    history = list(resnet.plain_vs_residual(plain, residual, settings, exp, CPU))
    ours = resnet.comparison(history)
    assert ours["done"]
    for name in resnet.MODELS:
        acc, grad = g["results"][name]
        assert abs(acc - ours["accuracy"][name]) <= 1.0, (name, acc, ours["accuracy"])
        last_probe = [e["probe"] for e in history if e["kind"] == "batch" and e["model"] == name][-1]
        engine_grad = next(iter(last_probe.values()))  # layer 1 on the epoch's last step
        assert grad == pytest.approx(engine_grad, rel=0.05), (name, grad, engine_grad)


@pytest.mark.parametrize("kind,width,shape", [("mlp", 32, (1, 28, 28)), ("conv", 8, (3, 32, 32))])
def test_recipe_builds_the_same_networks_for_every_kind(kind, width, shape, one_thread):
    """The recipe's Net, with BatchNorm, matches core's twins in parameters, depth and output."""
    g = run_recipe("resnet", DATASET="mnist" if shape[0] == 1 else "cifar10", KIND=kind, DEPTH=12,
                   WIDTH=width, BATCHNORM=True, N_TRAIN=100, N_TEST=100, EPOCHS=1)
    plain, residual = resnet.build_pair(resnet.NetConfig(depth=12, width=width, kind=kind, batchnorm=True,
                                                         in_shape=shape))
    for flag, ours in ((False, plain), (True, residual)):
        theirs = g["Net"](flag)
        assert count_params(theirs) == count_params(ours)
        assert len(g["weight_layers"](theirs)) == 12
        assert theirs(torch.randn(2, *shape)).shape == (2, 10)


def test_recipe_settings_and_optimizer_come_from_the_page_settings():
    settings = resnet.ExperimentSettings(lr=0.05, optimizer="adam", kind="conv", width=8)
    code = recipes.render("resnet", optimizer=settings.train_config(), **settings.recipe_values())
    assert "torch.optim.Adam(model.parameters(), lr=LR)" in code
    assert "\nLR = 0.05" in code and "\nKIND = 'conv'" in code and "\nWIDTH = 8" in code
    assert set(settings.recipe_values()) | {"DATA_DIR", "WEIGHTS"} == set(recipes.settings("resnet"))


# --- transfer learning: offline and from a cached file (never downloads) -------------------

def test_offline_transfer_learning_raises_offline_error(monkeypatch, tmp_path):
    monkeypatch.setattr(resnet, "pretrained_weights_path", lambda: tmp_path / "missing.pth")
    monkeypatch.setattr(data, "internet_available", lambda *a, **k: False)
    assert resnet.pretrained_available() is False
    with pytest.raises(data.OfflineError, match="internet") as raised:
        resnet.load_pretrained_resnet18()
    assert raised.value.words.key == "resnet.tl_offline_error"  # the page says it in its language


@pytest.fixture
def fake_cached_weights(monkeypatch, tmp_path):
    """A random ResNet-18 state dict where the cached ImageNet weights would be."""
    path = tmp_path / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir()
    torch.manual_seed(1)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    monkeypatch.setattr(resnet, "pretrained_weights_path", lambda: path)

    def no_network(*_a, **_k):
        raise AssertionError("a cached file must not touch the network")
    monkeypatch.setattr(data, "internet_available", no_network)
    return path


def test_transfer_pipeline_runs_from_cached_weights(fake_cached_weights):
    model = resnet.load_pretrained_resnet18()
    cfg = resnet.TransferConfig(n_train=40, n_test=20, image_size=32)
    tl = resnet.transfer_data(cfg)
    assert tl["x_train"].shape == (40, 3, 32, 32) and tl["x_train"].dtype == torch.uint8
    assert torch.bincount(tl["y_train"], minlength=10).tolist() == [4] * 10  # stratified
    fc_before = model.fc.weight.clone()
    with torch.no_grad():  # the frozen backbone's features, as the page's transfer run computes them first
        backbone = nn.Sequential(*list(model.children())[:-1]).eval()
        feats = torch.flatten(backbone(tl["x_train"].float() / 255), 1)
    assert feats.shape == (40, 512)
    assert torch.equal(model.fc.weight, fc_before) and isinstance(model.fc, nn.Linear)
    _, end = run_to_end(train(resnet.new_head(), (feats, tl["y_train"]),
                              TrainConfig(epochs=1, batch_size=16, optimizer="adam", lr=1e-3), CPU))
    assert end["reason"] in ("completed", "not_learned")  # one epoch on 40 fake features: often still at chance


# --- the page ----------------------------------------------------------------------------------

def test_page_offline_shows_message_and_trains(monkeypatch, tmp_path):
    monkeypatch.setattr(resnet, "pretrained_weights_path", lambda: tmp_path / "missing.pth")
    monkeypatch.setattr(data, "internet_available", lambda *a, **k: False)
    at = open_page("views/resnet/resnet.py", timeout=240)
    assert not at.exception, at.exception
    assert any("needs the internet" in w.value for w in at.warning)
    assert len(at.table) == 2  # activation stats and the stage table
    at.select_slider(key="resnet_n_train").set_value(500)
    at.slider(key="resnet_epochs").set_value(1)
    at.run()
    at.button(key="resnet_train").click().run()
    assert not at.exception, at.exception
    kept = at.session_state["resnet_runs"]["runs"]
    assert len(kept) == 1 and kept[0].results["done"] and kept[0].settings.n_train == 500
    assert set(kept[0].state_dict) == {"plain", "residual"}
    reopen_workspace(at, "views/resnet/resnet.py", ["resnet_runs"])
    labels = [m.label for m in at.metric]
    assert "Plain: gradient at layer 1" in labels and "Residual: test accuracy" in labels
    ratio = next(m for m in at.metric if m.label == "Residual: gradient at layer 1").delta
    assert "x the plain one" in ratio
    # the results survive a rerun (e.g. another widget), and changed settings are pointed out
    at.slider(key="resnet_depth").set_value(8).run()
    assert not at.exception, at.exception
    assert any("other settings" in i.value for i in at.info)


def test_page_transfer_learning_from_cached_weights(fake_cached_weights, monkeypatch):
    at = open_page("views/resnet/resnet.py", timeout=240)
    assert not at.exception, at.exception
    assert not any("needs the internet" in w.value for w in at.warning)
    at.select_slider(key="resnet_tl_n").set_value(200)
    at.select_slider(key="resnet_tl_size").set_value(32)
    at.slider(key="resnet_tl_head_epochs").set_value(2)
    at.slider(key="resnet_tl_scratch_epochs").set_value(1)
    at.run()
    at.button(key="resnet_tl_train").click().run()
    assert not at.exception, at.exception
    kept = at.session_state["resnet_tl_runs"]["runs"]
    # ran to the end; with fake weights and 1–2 epochs on 200 images the engine may rightly say "not learned"
    assert len(kept) == 1 and kept[0].end["reason"] in ("completed", "not_learned")
    assert set(resnet.transfer_frame(kept[0].history)["model"]) == {"pretrained", "scratch"}
    assert set(kept[0].state_dict) == {"pretrained", "scratch"}
    # A from-scratch ResNet-18 (43 MB) is over the 20 MB a run may keep: kept without weights, said so.
    assert any("kept without its weights" in i.value for i in at.info)
    reopen_workspace(at, "views/resnet/resnet.py", ["resnet_tl_runs"], weights=False)
    labels = [m.label for m in at.metric]
    assert "pretrained + new last layer" in labels and "from scratch" in labels


def _hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_page_in_korean_trains_both_experiments(fake_cached_weights):
    """?lang=ko: the comparison and the transfer run, and everything they report, in Korean."""
    at = open_page("views/resnet/resnet.py", timeout=240, query={"lang": "ko"})
    assert not at.exception, at.exception
    at.select_slider(key="resnet_n_train").set_value(500)
    at.slider(key="resnet_depth").set_value(8)
    at.slider(key="resnet_epochs").set_value(1)
    at.select_slider(key="resnet_tl_n").set_value(200)
    at.select_slider(key="resnet_tl_size").set_value(32)
    at.slider(key="resnet_tl_head_epochs").set_value(1)
    at.slider(key="resnet_tl_scratch_epochs").set_value(1)
    at.run()
    at.button(key="resnet_train").click().run()
    assert not at.exception, at.exception
    assert at.session_state["resnet_runs"]["runs"][0].results["done"]
    labels = [m.label for m in at.metric]
    assert "일반: 1층의 기울기" in labels and "잔차: 테스트 정확도" in labels
    ratio = next(m for m in at.metric if m.label == "잔차: 1층의 기울기").delta
    assert "일반 신경망의" in ratio
    at.button(key="resnet_tl_train").click().run()
    assert not at.exception, at.exception
    assert at.session_state["resnet_tl_runs"]["runs"][0].end["reason"] in ("completed", "not_learned")  # fake weights
    labels = [m.label for m in at.metric]
    assert "사전 학습 + 새 마지막 층" in labels and "처음부터 학습" in labels
    for text in [m.label for m in at.metric] + [c.value for c in at.caption] + [w.value for w in at.warning]:
        assert _hangul(text), text


def test_page_in_korean_says_why_transfer_learning_failed(monkeypatch):
    """A failed download: the page's own words, not core.data.OfflineError's English."""
    monkeypatch.setattr(resnet, "pretrained_available", lambda: True)

    def fail():
        raise data.OfflineError("HTTP Error 503: Service Unavailable")
    monkeypatch.setattr(resnet, "load_pretrained_resnet18", fail)
    at = open_page("views/resnet/resnet.py", timeout=240, query={"lang": "ko"})
    at.button(key="resnet_tl_train").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [sections("ko", "resnet")["tl_failed"]]
