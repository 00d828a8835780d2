"""📦 Take your model: every exportable run store's model, rebuilt from its settings, out as .pt
(read back with weights_only=True into a fresh model: the same outputs) and as ONNX (run with
onnxruntime: the same outputs as PyTorch within 1e-4); the box on the pages, in both languages."""
import dataclasses
import io
import json

import numpy as np
import onnxruntime
import pytest
import torch

from conftest import open_page
from core import augment, cnn, export, photos, regression, resnet, rnn, stocks
from core.words import sections

# A few stores get settings other than their defaults, where the default would leave a layer
# kind untested (BatchNorm in the conv twins, stacked recurrent layers) or is slow to build.
SETTINGS = {
    "ann_reg_runs": regression.RegressionSettings(data="mine.csv", features=("height", "age", "steps"), hidden=(8,)),
    "cnn_runs": cnn.CNNSettings(dataset="cifar", augment=augment.Augment(flip=True, degrees=5.0)),
    "resnet_runs": resnet.ExperimentSettings(kind="conv", batchnorm=True, depth=6, width=8, dataset="cifar10"),
    "resnet_tl_runs": resnet.TransferConfig(image_size=32),
    "rnn_runs": rnn.SineSettings(hidden_size=8, num_layers=2, seq_len=12),
    "stocks_runs": stocks.StockSettings(hidden=6, layers=2, window=10, features=("Open", "Close")),
    "resnet_photo_runs": photos.PhotoSettings(classes=("mug", "plant", "cat"), counts=(6, 7, 5)),
}
CASES = [(store, model) for store, found in export.REGISTRY.items() for model in found.models]


def _settings(store: str):
    return SETTINGS.get(store) or export.entry(store).settings()


def _randomised(model: torch.nn.Module, seed: int) -> dict:
    """The model's weights moved away from its seeded start (BatchNorm's statistics too, its
    variances kept positive), so that a fresh model cannot match them by chance. Each tensor is
    scaled by 1 ± 20 % element by element and shifted a little: the outputs keep the size a
    trained model gives (an added N(0, 0.1) blows ResNet-18's up to 10⁶, past float32's 1e-4)."""
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for name, tensor in model.state_dict().items():
        if not tensor.is_floating_point():
            weights[name] = tensor.clone()
        elif name.endswith("running_var"):
            weights[name] = tensor * (0.5 + torch.rand(tensor.shape, generator=gen))
        else:
            noise = torch.randn(tensor.shape, generator=gen)
            weights[name] = tensor * (1 + 0.2 * noise) + 0.01 * torch.randn(tensor.shape, generator=gen)
    return weights


def _inputs(store: str, settings, model: str) -> list[torch.Tensor]:
    """Three inputs of different batch sizes (and lengths, where the time axis is free)."""
    found = export.entry(store)
    shapes = [(1, *found.shape(settings, model)), (3, *found.shape(settings, model)),
              (5, *found.shape(settings, model))]
    if "time" in found.free:
        shapes = [(1, 4, shapes[0][2]), shapes[1], (5, shapes[2][1] + 7, shapes[2][2])]
    gen = torch.Generator().manual_seed(7)
    return [torch.randn(shape, generator=gen) for shape in shapes]


@pytest.mark.parametrize("store,model", CASES, ids=[f"{s}-{m or 'model'}" for s, m in CASES])
def test_pt_and_onnx_give_the_models_outputs(store, model):
    settings = _settings(store)
    weights = _randomised(export.build(store, settings, model), seed=len(store) + len(model))
    net = export.loaded(store, settings, weights, model)

    # .pt: plain data only (weights_only=True), the format's keys, settings as JSON values
    data = export.pt_bytes(store, settings, weights, model)
    saved = torch.load(io.BytesIO(data), weights_only=True)
    assert set(saved) == {"format", "page", "recipe", "model", "settings", "state_dict"}
    assert (saved["format"], saved["page"], saved["recipe"], saved["model"]) == (
        export.FORMAT, store, export.entry(store).recipe, model)
    assert json.loads(json.dumps(saved["settings"])) == saved["settings"]
    assert saved["state_dict"].keys() == weights.keys()
    rebuilt, read_settings = export.load_pt(data)
    assert read_settings == settings
    fresh = export.build(store, settings, model)
    inputs = _inputs(store, settings, model)
    with torch.no_grad():
        assert not torch.equal(fresh(inputs[1]), net(inputs[1])), "the weights did not move from the seeded start"
        for x in inputs:
            assert torch.equal(rebuilt(x), net(x))

    # .onnx: onnxruntime's outputs are PyTorch's, for every batch size (and length) tried
    session = onnxruntime.InferenceSession(export.run_onnx_bytes(store, settings, weights, model),
                                           providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [export.INPUT]
    for x in inputs:
        with torch.no_grad():
            expected = net(x).numpy()
        (got,) = session.run(None, {export.INPUT: x.numpy()})
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-4, (x.shape, np.abs(got - expected).max())


def test_settings_come_back_as_they_were():
    """Tuples and nested dataclasses survive the trip through JSON values; a field the file
    lacks takes its default, one the class no longer has is dropped."""
    for settings in SETTINGS.values():
        values = export.settings_dict(settings)
        assert json.loads(json.dumps(values)) == values
        assert export.settings_from(type(settings), values) == settings
    values = export.settings_dict(SETTINGS["stocks_runs"])
    values.pop("hidden")
    values["gone"] = 1
    assert export.settings_from(stocks.StockSettings, values) == dataclasses.replace(
        SETTINGS["stocks_runs"], hidden=stocks.StockSettings().hidden)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="not a dl-playground-model/1 file"):
        buffer = io.BytesIO()
        torch.save({"weight": torch.zeros(2)}, buffer)
        export.read_pt(buffer.getvalue())
    with pytest.raises(ValueError, match="resnet_runs has the models"):
        export.pt_bytes("resnet_runs", resnet.ExperimentSettings(), {}, "")
    with pytest.raises(KeyError, match="no export for the run store 'nowhere'"):
        export.entry("nowhere")
    with pytest.raises(TypeError, match="dataclass instance"):
        export.settings_dict({"lr": 0.1})
    with pytest.raises(ValueError, match="free axes must be a prefix"):
        export.register("nowhere", export.Entry("", rnn.SineSettings, lambda s, m: None, lambda s, m: (),
                                                free=("time",)))
    assert "nowhere" not in export.REGISTRY


def test_a_run_of_several_models_offers_those_it_kept():
    kept = {"lstm": {"w": torch.zeros(1)}, "gru": {"w": torch.ones(1)}}  # a stopped run: no leaky LSTM
    assert list(export.models_in("stocks_runs", kept)) == ["lstm", "gru"]
    assert export.models_in("ann_runs", {"0.weight": torch.zeros(1)}) == {"": {"0.weight": torch.zeros(1)}}
    assert export.models_in("ann_runs", None) == {}
    assert export.file_name("resnet_runs", 2, "residual", ".onnx") == "resnet-run2-residual.onnx"
    assert export.file_name("ann_runs", 3, "", ".pt") == "mnist_ann-run3.pt"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_store_has_its_words(lang):
    words = sections(lang, "export")
    for store, found in export.REGISTRY.items():
        assert f"input_{store}" in words
        assert all(f"model_{store}_{m}" in words for m in found.models if m)
        assert found.recipe or all(f"build_{store}_{m}" in words for m in found.models)


# --- The box on the pages -----------------------------------------------------------------------

def _downloads(at) -> list:
    return [e.proto for e in at.get("download_button")]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_ann_page_offers_the_kept_runs_model(lang):
    at = open_page("views/ann/ann.py", query={"lang": lang}, timeout=240)
    box = next(e for e in at.expander if e.label == ("Take your model" if lang == "en" else "내 모델 가져가기"))
    assert any(c.value.startswith(("Train a run", "실행을 학습하면")) for c in box.caption)
    at.slider(key="ann_n_train").set_value(1000).run()
    at.slider(key="ann_epochs").set_value(1).run()
    at.button(key="ann_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="export_ann_runs_run").value == "#1"
    labels = [d.label for d in _downloads(at) if d.id and "export_ann_runs" in d.id]
    assert labels == ["#1 · .pt (weights + settings)", "#1 · .onnx (for any runtime)"] if lang == "en" else \
        labels == ["#1 · .pt (가중치 + 설정)", "#1 · .onnx (어느 런타임에서나)"], labels
    snippet = next(c.value for c in at.code if "onnxruntime" in c.value)
    assert 'torch.load("mnist_ann-run1.pt", weights_only=True)' in snippet
    assert 'ort.InferenceSession("mnist_ann-run1.onnx")' in snippet and "np.random.rand(1, 1, 28, 28)" in snippet
    assert ("이 실행의 설정" in snippet) == (lang == "ko")


def test_rnn_page_offers_one_download_pair_per_cell():
    at = open_page("views/rnn/rnn.py", query={"lang": "ko"}, timeout=240)
    at.slider(key="rnn_samples").set_value(100).run()
    at.slider(key="rnn_epochs").set_value(1).run()
    at.button(key="rnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    labels = [d.label for d in _downloads(at) if d.id and "export_rnn_runs" in d.id]
    assert labels == [f"{cell} · {kind}" for cell in ("RNN", "LSTM", "GRU")
                      for kind in (".pt (가중치 + 설정)", ".onnx (어느 런타임에서나)")], labels
    snippet = next(c.value for c in at.code if "onnxruntime" in c.value)
    assert "rnn_sine-run1-rnn.onnx" in snippet and "'코드 보기'(rnn_sine.py)" in snippet



def test_resnet_page_offers_both_photo_models():
    """Your photos: two classes of shapes, a short run, then one pair of downloads per transfer mode."""
    from test_photos import shapes

    at = open_page("views/resnet/resnet.py", timeout=300)
    made = shapes(6, seed=5)
    for number, kind in ((1, "circle"), (2, "square")):
        at.text_input(key=f"photos_name_{number}").set_value(kind)
        at.file_uploader(key=f"photos_files_{number}").set_value(
            [(f"{kind}{i}.png", raw, "image/png") for i, raw in enumerate(made[kind])])
    at.slider(key="photos_epochs").set_value(5).run()
    at.button(key="photos_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    labels = [d.proto.label for d in at.get("download_button") if "export_resnet_photo_runs" in d.proto.id]
    assert labels == [f"{model} · {kind}" for model in ("Frozen backbone + new head", "Full fine-tuning")
                      for kind in (".pt (weights + settings)", ".onnx (for any runtime)")], labels
    snippet = next(c.value for c in at.code if "my_photos-run" in c.value)
    assert "np.random.rand(1, 3, 32, 32)" in snippet and 'saved["settings"]["classes"]' in snippet

def _box_script():
    """export_box alone, on a store holding one run whose LSTM blew up (NaN weights)."""
    import math

    import streamlit as st

    from core import export, rnn
    from ui.export import export_box
    from ui.runs import Run, RunStore

    st.session_state.setdefault("lang", "en")
    settings = rnn.SineSettings(hidden_size=4)
    weights = {cell: export.build("rnn_runs", settings, cell).state_dict() for cell in ("rnn", "lstm")}
    weights["lstm"]["head.bias"].fill_(math.nan)
    store = RunStore("rnn_runs")
    if not store.runs:
        store.runs.append(Run(1, settings, [], None, {}, weights))
    export_box(store)


def test_a_model_that_blew_up_is_named():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_box_script).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [w.value for w in at.warning] == [
        "LSTM: the weights hold NaN or infinite values (the training blew up), so this model computes nothing useful."]
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["RNN · .pt (weights + settings)", "RNN · .onnx (for any runtime)",
                      "LSTM · .pt (weights + settings)", "LSTM · .onnx (for any runtime)"]
    assert at.session_state["export_rnn_runs_finite"] == {(1, "rnn"): True, (1, "lstm"): False}



def test_every_page_that_keeps_weights_offers_them():
    """A view that hands run_training weights also draws the 📦 box, and every store the registry
    knows is a page's store (no entry for runs nobody keeps)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    views = {path: path.read_text(encoding="utf-8") for path in sorted((root / "views").rglob("*.py"))}
    for path, text in views.items():
        if "run_training(" in text and re.search(r"\bweights=", text):
            assert "export_box(" in text, f"{path.relative_to(root)} keeps weights but offers no download"
    stores = {key for text in views.values() for key in re.findall(r'RunStore\("(\w+)"', text)}
    assert set(export.REGISTRY) <= stores, set(export.REGISTRY) - stores
