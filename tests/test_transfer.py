"""Offline transfer learning (core/transfer.py, ui/transfer.py): the shipped backbone,
freezing, the three-way comparison, the recipe against core, the section under AppTest."""
import pytest
import torch
from test_content import HANGUL, _latin_words, _texts
from torch import nn

from conftest import open_page, reopen_workspace, run_recipe
from core import data, transfer
from core.engine import evaluate
from core.words import Words, sections
from ui.shell import format_seconds

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def fifty(one_thread):
    """The comparison with 50 labelled images per class (the issue's figure), default settings."""
    settings = transfer.TransferSettings(per_class=50)
    history = list(transfer.compare(settings, transfer.build_models(settings), transfer.target_data(settings), CPU))
    return settings, history


# --- the shipped backbone -------------------------------------------------------------------------

def test_shipped_backbone_loads_and_reaches_its_stated_accuracy(one_thread):
    info = transfer.backbone_info()
    assert info["classes"] == ["airplane", "automobile", "bird", "cat", "deer"]
    assert transfer.BACKBONE_PATH.stat().st_size < 1_000_000  # a few hundred KB, shipped in git
    model = transfer.load_source_model()
    assert sum(p.numel() for p in model.backbone.parameters()) == info["parameters"] == 77_392
    x, y = transfer.class_split(transfer.SOURCE_CLASSES, train=False)
    assert len(x) == 1000 and torch.bincount(y).tolist() == [200] * 5
    accuracy = evaluate(model, x, y, CPU)["accuracy"]
    assert accuracy == pytest.approx(info["test_accuracy"], abs=0.3)  # conv kernels may round differently
    assert accuracy > 65  # chance is 20 %


def test_class_split_is_seeded_balanced_and_relabelled():
    x1, y1 = transfer.class_split(transfer.TARGET_CLASSES, True, per_class=10, seed=3)
    x2, y2 = transfer.class_split(transfer.TARGET_CLASSES, True, per_class=10, seed=3)
    x3, _ = transfer.class_split(transfer.TARGET_CLASSES, True, per_class=10, seed=4)
    assert x1.shape == (50, 3, 32, 32) and torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert torch.bincount(y1).tolist() == [10] * 5  # dog..truck -> 0..4
    raw_x, raw_y = data.load_cifar10(True)
    first = data.normalize(raw_x[raw_y == transfer.TARGET_CLASSES[0]], data.CIFAR10_MEAN, data.CIFAR10_STD)
    dog = x1[y1 == 0][0]
    assert any(torch.equal(dog, image) for image in first)  # label 0 really is a dog


def test_frozen_backbone_gets_no_gradients_and_keeps_its_batchnorm_statistics():
    backbone = transfer.load_backbone()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    model = transfer.TransferNet(backbone, transfer.new_head(), frozen=True).train()
    assert not model.backbone.training and model.head.training
    counts = transfer.parameter_counts(model)
    assert counts == {"trainable": 64 * 5 + 5, "frozen": 77_392}
    loss = nn.functional.cross_entropy(model(torch.randn(8, 3, 32, 32)), torch.arange(8) % 5)
    loss.backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.head.weight.grad is not None
    for key, value in model.backbone.state_dict().items():  # running means too: eval() mode
        assert torch.equal(value, before[key]), key
    # without eval(), requires_grad = False alone would let BatchNorm's buffers move
    loose = transfer.TransferNet(transfer.load_backbone(), transfer.new_head(), frozen=True)
    nn.Module.train(loose)
    loose(torch.randn(8, 3, 32, 32))
    assert not torch.equal(loose.backbone.stem[1].running_mean, before["stem.1.running_mean"])


def test_the_three_models_start_alike_and_count_their_parameters():
    settings = transfer.TransferSettings()
    models = transfer.build_models(settings)
    heads = [m.head.state_dict() for m in models.values()]
    for head in heads[1:]:
        assert all(torch.equal(head[k], heads[0][k]) for k in head)  # the same new head
    pretrained = transfer.load_backbone().state_dict()
    for mode in ("frozen", "finetune"):
        assert all(torch.equal(models[mode].backbone.state_dict()[k], v) for k, v in pretrained.items())
    assert not torch.equal(models["scratch"].backbone.stem[0].weight, pretrained["stem.0.weight"])
    counts = {m: transfer.parameter_counts(model) for m, model in models.items()}
    assert counts["scratch"] == counts["finetune"] == {"trainable": 77_717, "frozen": 0}
    assert counts["frozen"] == {"trainable": 325, "frozen": 77_392}
    groups = transfer.finetune_optimizer(models["finetune"], settings).param_groups
    assert [g["lr"] for g in groups] == [settings.backbone_lr, settings.lr]


def test_finetuning_with_50_labels_per_class_beats_training_from_scratch(fifty):
    """The issue's claim, measured on the embedded data with seed 0 and the page's defaults
    (15 epochs): on the same 250 images fine-tuning beats scratch by more than 5 points, the
    frozen backbone by less (measured: scratch 50.3 %, frozen 54.7 %, fine-tuning 62.2 %)."""
    settings, history = fifty
    table = transfer.summary(history).set_index("model")
    assert list(table.index) == list(transfer.MODES)
    assert table.loc["finetune", "accuracy"] > table.loc["scratch", "accuracy"] + 5
    assert table.loc["frozen", "accuracy"] > table.loc["scratch", "accuracy"]
    found = transfer.verdict(transfer.summary(history))
    assert found["gain"] > 5 and found["best"] == "finetune"
    assert history[-1]["kind"] == "end" and history[-1]["reason"] == "completed"
    curves = transfer.curves(history)
    assert curves.groupby("model").size().to_dict() == dict.fromkeys(transfer.MODES, settings.epochs)


def test_estimate_grows_with_the_work():
    small, big = transfer.TransferSettings(per_class=10), transfer.TransferSettings(per_class=500)
    cpu = torch.device("cpu")
    assert 0 < transfer.estimate_seconds(small, cpu) < transfer.estimate_seconds(big, cpu)
    assert transfer.estimate_seconds(transfer.TransferSettings(epochs=30), cpu) > transfer.estimate_seconds(
        transfer.TransferSettings(epochs=15), cpu)
    assert transfer.sweep_estimate_seconds(small, cpu, (10, 50)) == pytest.approx(
        transfer.estimate_seconds(small, cpu) + transfer.estimate_seconds(transfer.TransferSettings(per_class=50), cpu))


def test_sweep_reports_every_model_at_every_size(one_thread):
    settings = transfer.TransferSettings(epochs=2)
    history = list(transfer.sweep(settings, CPU, sizes=(10, 20)))
    frame = transfer.sweep_frame(history)
    assert frame[["size", "model"]].values.tolist() == [[s, m] for s in (10, 20) for m in transfer.MODES]
    assert frame["accuracy"].between(0, 100).all() and (frame["seconds"] > 0).all()
    # two epochs on 50 images may leave scratch at chance: the engine then says "not_learned"
    assert history[-1]["kind"] == "end" and history[-1]["reason"] != "diverged"


# --- the recipe ----------------------------------------------------------------------------------

def test_recipe_runs_offline_and_matches_core(one_thread):
    """Same images, same start weights, same batch order: each model's test accuracy within
    2 points of core's (fused vs plain Adam kernels round differently)."""
    values = {"PER_CLASS": 20, "EPOCHS": 3}
    settings = transfer.TransferSettings(per_class=20, epochs=3)
    g = run_recipe("transfer", optimizer=settings.train_config(), **values)
    assert len(g["x_train"]) == 100 and len(g["x_test"]) == 1000
    ours = transfer.target_data(settings)
    assert torch.equal(g["y_train"], ours["y_train"]) and torch.allclose(g["x_train"], ours["x_train"])
    assert g["counts"](nn.Sequential(g["backbone"], g["head"])) == (325, 77_392)
    history = list(transfer.compare(settings, transfer.build_models(settings), ours, CPU))
    table = transfer.summary(history).set_index("model")
    for mode in transfer.MODES:
        assert g["results"][mode] == pytest.approx(table.loc[mode, "accuracy"], abs=2.0), mode


# --- the page ------------------------------------------------------------------------------------

def say_in(lang: str, said) -> str:
    """core.words.Words as the page says them in `lang` (core.words.english, any language)."""
    page, _, name = said.key.partition(".")
    values = {k: say_in(lang, v) if isinstance(v, Words) else v for k, v in said.values.items()}
    return sections(lang, page)[name].format(**values)


def _run_section(lang: str, monkeypatch):
    monkeypatch.setattr(transfer, "SWEEP_SIZES", (10, 20))  # two small sizes keep the test quick
    at = open_page("views/resnet/resnet.py", timeout=240, query={"lang": lang})
    assert not at.exception, at.exception
    at.select_slider(key="transfer_per_class").set_value(10)
    at.slider(key="transfer_epochs").set_value(2)
    at.run()
    at.button(key="transfer_train").click().run()
    assert not at.exception, at.exception
    at.button(key="transfer_sweep").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_page_compares_the_three_and_sweeps(lang, monkeypatch):
    words = sections(lang, "transfer")
    at = _run_section(lang, monkeypatch)
    [run] = at.session_state["transfer_runs"]["runs"]
    assert run.settings.per_class == 10
    # two epochs on 50 images may leave a model at chance: the engine says so, and the page too
    failed = [e for e in run.history if e["kind"] == "model_end" and e["reason"] != "completed"]
    assert {e["reason"] for e in failed} <= {"not_learned"}
    assert [w.value for w in at.warning if w.value.startswith(tuple(words[f"model_{m}"] for m in transfer.MODES))] == [
        words["failed"].format(model=words[f"model_{e['model']}"], message=say_in(lang, e["words"])) for e in failed]
    table = run.results["table"]
    shown = next(tb.value for tb in at.table if words["col_accuracy"] in tb.value.columns)
    assert list(shown.index) == [words[f"model_{m}"] for m in transfer.MODES]
    assert list(shown[words["col_accuracy"]]) == [f"{a:.1f} %" for a in table["accuracy"]]
    counts = next(df.value for df in at.dataframe if words["col_frozen"] in df.value.columns)
    assert list(counts[words["col_frozen"]]) == ["0", "77,392", "0"]
    found = transfer.verdict(table)
    key = "verdict_gain" if found["gain"] >= 2 else "verdict_loss" if found["gain"] <= -2 else "verdict_even"
    said = words[key].format(n=10, best=words[f"model_{found['best']}"], accuracy=found["accuracy"],
                             scratch=found["scratch"], gain=abs(found["gain"]))
    assert said in [m.value for m in at.markdown]
    assert any("requires_grad = False" in c.value for c in at.code)
    [sweep] = at.session_state["transfer_sweeps"]["runs"]
    reopen_workspace(at, "views/resnet/resnet.py", ["transfer_runs", "transfer_sweeps"])
    frame = sweep.results["frame"]
    assert frame["size"].tolist() == [10] * 3 + [20] * 3
    gains = [transfer.verdict(frame[frame["size"] == n]) for n in (10, 20)]
    assert words["sweep_gains"].format(gains=", ".join(
        words["sweep_gain"].format(n=n, gain=g["gain"], best=words[f"model_{g['best']}"])
        for n, g in zip((10, 20), gains))) in [m.value for m in at.markdown]
    settings = transfer.TransferSettings(per_class=10, epochs=2)
    assert words["estimate"].format(n=50, epochs=2, device="cpu", estimate=format_seconds(
        transfer.estimate_seconds(settings, torch.device("cpu")))) in [c.value for c in at.caption]
    if lang == "ko":
        english = {t[:60]: _latin_words(t) for t in _texts(at.main) if not HANGUL.search(t) and _latin_words(t)}
        assert not english, english


def test_page_without_the_backbone_file_says_how_to_rebuild_it(monkeypatch, tmp_path):
    broken = tmp_path / "cifar5_backbone.pt"
    broken.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(transfer, "BACKBONE_PATH", broken)
    at = open_page("views/resnet/resnet.py", timeout=240, query={"lang": "ko"})
    assert not at.exception, at.exception
    assert sections("ko", "transfer")["missing"].format(path=broken) in [
        w.value for w in at.warning]
    assert not [b for b in at.button if b.key in ("transfer_train", "transfer_sweep")]
