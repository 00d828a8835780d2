"""core.cnn and the CNN page: arithmetic by hand vs torch, feature maps vs trace, training,
the "Show the code" recipe vs the engine, AppTest."""
import inspect
import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import open_page, reopen_workspace, run_recipe
from core import cnn, recipes, shapes
from core.data import DataError
from core.digits import canvas_to_mnist
from core.engine import run_to_end
from core.words import sections
from views.cnn import charts

pytestmark = pytest.mark.usefixtures("one_thread")


def _said(error: DataError) -> str:
    """What the page writes for a refused setting: its content section, filled in."""
    page, _, name = error.words.key.partition(".")
    return sections("en", page)[name].format(**error.words.values)


# --- Arithmetic by hand -----------------------------------------------------------------------

def test_notes_pooling_example_exact():
    max_out, cells = cnn.pool_by_hand(cnn.POOL_EXAMPLE, 2, 2, 0, "max")
    avg_out, avg_cells = cnn.pool_by_hand(cnn.POOL_EXAMPLE, 2, 2, 0, "avg")
    assert max_out.tolist() == [[9, 7], [8, 6]]
    assert avg_out.tolist() == [[4.25, 4.25], [4.25, 3.5]]
    assert cells[0]["text"] == "max(2, 2, 9, 4) = 9"
    assert avg_cells[3]["text"] == "(2 + 4 + 2 + 6) / 4 = 3.5"


def test_pooling_by_hand_matches_torch_with_padding_and_strides():
    rng = np.random.default_rng(0)
    for _ in range(40):
        grid = rng.integers(-9, 10, size=(rng.integers(3, 7), rng.integers(3, 7))).astype(float)
        k = int(rng.integers(1, 4))
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, k // 2 + 1))
        x = torch.tensor(grid)[None, None]
        for mode, fn in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
            ours, _ = cnn.pool_by_hand(grid, k, s, p, mode)
            assert np.allclose(ours, fn(x, k, s, p)[0, 0].numpy()), (grid, k, s, p, mode)
    with pytest.raises(DataError) as info:
        cnn.pool_by_hand(cnn.POOL_EXAMPLE, 2, 2, 2)
    assert "half the kernel (2//2 = 1)" in _said(info.value)
    with pytest.raises(DataError) as info:
        cnn.pool_by_hand([[1, float("nan")], [3, 4]])
    assert "number" in _said(info.value)
    both = cnn.pool_both(cnn.POOL_EXAMPLE, 3, 1, 1)  # the page's check against torch
    assert both["matches_torch"] and both["max"].shape == (4, 4) and len(both["avg_cells"]) == 16


def test_padding_modes_match_torch():
    img = np.arange(1, 17, dtype=float).reshape(4, 4)
    x = torch.tensor(img)[None, None]
    for p in (1, 2, 3):
        assert np.array_equal(cnn.pad_by_hand(img, p, "zero"), F.pad(x, (p,) * 4)[0, 0].numpy())
        assert np.array_equal(cnn.pad_by_hand(img, p, "replicate"),
                              F.pad(x, (p,) * 4, mode="replicate")[0, 0].numpy())
        assert np.array_equal(cnn.pad_by_hand(img, p, "reflect"),
                              F.pad(x, (p,) * 4, mode="reflect")[0, 0].numpy())
    assert cnn.pad_by_hand(img, 1, "reflect")[0].tolist() == [6, 5, 6, 7, 8, 7]
    with pytest.raises(DataError) as info:
        cnn.pad_by_hand(img, 4, "reflect")
    assert "smaller than the image side (4)" in _said(info.value)


def test_conv_by_hand_and_the_highlighted_cell_match_torch():
    rng = np.random.default_rng(1)
    for _ in range(30):
        img = rng.integers(0, 4, size=(5, 5)).astype(float)
        kernel = rng.integers(-2, 3, size=(3, 3)).astype(float)
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        ours = cnn.conv_by_hand(img, kernel, s, p)
        ref = F.conv2d(torch.tensor(img)[None, None], torch.tensor(kernel)[None, None], stride=s, padding=p)
        assert np.allclose(ours, ref[0, 0].numpy())
        i, j = ours.shape[0] - 1, ours.shape[1] - 1
        cell = cnn.conv_cell(img, kernel, s, p, i, j)
        assert cell["value"] == pytest.approx(ours[i, j]) and len(cell["terms"]) == 9
        assert cell["text"].endswith(f"= {ours[i, j]:g}")
    with pytest.raises(DataError) as info:
        cnn.conv_by_hand(np.zeros((2, 2)), np.zeros((3, 3)))
    assert "3×3 kernel is larger than the padded 2×2 input" in _said(info.value)
    for kernel in cnn.KERNELS.values():  # the page's examples, checked against torch
        both = cnn.conv_both(cnn.CONV_EXAMPLE, kernel, 2, 0)
        assert both["matches_torch"] and both["out"].shape == (2, 2) and not both["floored"]
    assert cnn.conv_both(cnn.CONV_EXAMPLE, cnn.KERNELS["blur"], 3, 1)["floored"]  # (5 + 2 - 3) / 3


def test_highlight_works_on_one_column_grids():
    """The pooling/stride highlighter: a one-column output grid must style too (pandas 3)."""
    for values in (np.array([[1.0], [2.0]]), np.array([[1.0, 2.0]]), np.ones((3, 3))):
        html = charts.highlight(charts.grid_frame(values), (0, 1), (0, 1)).to_html()
        assert html.count("background-color: #ffe08a") == 1
    pooled = cnn.pool_both(cnn.POOL_EXAMPLE, 4, 1, 0)  # a 1×1 output
    assert pooled["max"].tolist() == [[9.0]]


# --- Models and feature maps ------------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["mnist", "cifar"])
def test_feature_maps_have_the_shapes_trace_predicts(dataset):
    spec = cnn.DATASETS[dataset]
    model = cnn.build_cnn(dataset)
    rows = shapes.trace(spec["input"], spec["stack"])
    predicted = dict(zip([n for n, _ in model.named_children()], [r["output_shape"] for r in rows]))
    images, _ = cnn.load_split(dataset, False, 3, seed=1)
    maps, probs = cnn.feature_maps(model, images[0], dataset)
    assert list(maps) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
    for name, value in maps.items():
        assert value.shape == predicted[name], name
    assert probs.shape == (10,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert cnn.stage_shapes(dataset) == {name: predicted[name] for name in maps}
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed afterwards
    assert (maps["relu1"] >= 0).all() and np.allclose(maps["relu1"], np.maximum(maps["conv1"], 0))
    # the hooks read the model itself: changing its weights changes the maps
    with torch.no_grad():
        model.conv1.weight.mul_(2.0)
    maps2, _ = cnn.feature_maps(model, images[0], dataset)
    assert not np.allclose(maps2["conv1"], maps["conv1"])


def _recipe_vs_engine(dataset: str, n_train: int, n_test: int, **values) -> tuple[dict, float]:
    """The recipe's globals after 1 epoch, and the engine's test accuracy for the same settings."""
    settings = cnn.CNNSettings(dataset=dataset, n_train=n_train, n_test=n_test, epochs=1)
    script = run_recipe("cnn", optimizer=settings.train_config(), DATASET=dataset, N_TRAIN=n_train,
                        N_TEST=n_test, EPOCHS=1, **values)
    model = cnn.build_cnn(dataset, settings.seed)
    epochs, end = run_to_end(cnn.train_events(model, settings, torch.device("cpu")))
    assert end["reason"] == "completed"
    return script, epochs[-1]["val_acc"]


def test_recipe_trains_the_same_cnn_as_the_engine_on_mnist():
    """The recipe (torchvision MNIST + DataLoader) and the engine train the same SimpleCNN from
    the same initial weights on the same seeded subsets (6,000 train / 1,000 test, 1 epoch of
    Adam 0.001); only the batch order differs. Tolerance: test accuracies within 5 points
    (they land about 1.5 apart; on fewer images the batch order alone moves them more)."""
    script, engine_acc = _recipe_vs_engine("mnist", 6000, 1000)
    assert len(script["train_set"]) == 6000 and len(script["test_set"]) == 1000
    assert script["test_acc"] > 75.0  # it learned (chance is 10%)
    assert abs(script["test_acc"] - engine_acc) <= 5.0, (script["test_acc"], engine_acc)
    spec = cnn.DATASETS["mnist"]
    untrained = run_recipe("cnn", EPOCHS=0, N_TRAIN=10, N_TEST=10)["model"].state_dict()
    init = cnn.build_cnn("mnist", 0).state_dict()  # the same named layers, the same initial weights
    assert list(untrained) == list(init) and all(torch.equal(untrained[k], init[k]) for k in init)
    predicted = cnn.stage_shapes("mnist")
    assert {name: tuple(v.shape[1:]) for name, v in script["maps"].items()} == predicted
    rows = shapes.trace(spec["input"], shapes.preset("worked_example")[1])  # the file's default stack
    assert tuple(script["x"].shape[1:]) == rows[-1]["output_shape"]


def test_recipe_reads_the_embedded_cifar_subset_and_takes_the_calculator_stack():
    """CIFAR-10 from the embedded JPEG zips through ImageFolder: 1,000 train / 500 test images,
    1 epoch. Tolerance: test accuracies within 5 points of the engine's."""
    layers = [r["spec"] for r in shapes.trace(*shapes.preset("resnet_stem"))]
    script, engine_acc = _recipe_vs_engine("cifar", 1000, 500, CALCULATOR_INPUT=(3, 224, 224),
                                           CALCULATOR_LAYERS=layers)
    assert abs(script["test_acc"] - engine_acc) <= 5.0, (script["test_acc"], engine_acc)
    spec = cnn.DATASETS["cifar"]
    rows = shapes.trace(spec["input"], spec["stack"])
    assert tuple(script["maps"]["pool2"].shape[1:]) == rows[5]["output_shape"] == (64, 8, 8)
    assert tuple(script["x"].shape) == (1, 64, 56, 56)  # the ResNet stem: 224 -> 112 -> 56
    code = recipes.render("cnn", optimizer=cnn.DEFAULTS["cifar"].train_config(), DATASET="cifar",
                          EPOCHS=cnn.DEFAULTS["cifar"].epochs)
    assert "CIFAR10" in code and "\nEPOCHS = 3" in code and "create_feature_extractor" in code
    assert "torch.optim.Adam(model.parameters(), lr=LR)  # @optimizer" in code


def test_settings_give_the_engine_config():
    config = cnn.CNNSettings(n_train=10_000, batch_size=64, optimizer="sgd_momentum", lr=0.01).train_config()
    assert (config.epochs, config.batch_size, config.lr, config.optimizer, config.seed) == (2, 64, 0.01,
                                                                                          "sgd_momentum", 0)
    assert config.log_every == 15  # about ten batch points per epoch: ceil(10000 / 64) // 10


def test_build_cnn_is_seeded_and_the_notes_sizes():
    a, b = cnn.build_cnn("mnist", seed=3), cnn.build_cnn("mnist", seed=3)
    assert torch.equal(a.conv1.weight, b.conv1.weight)
    assert a.fc1.in_features == 16 * 5 * 5
    assert cnn.build_cnn("cifar").fc1.in_features == 64 * 8 * 8


def test_short_mnist_training_learns_and_changes_filters():
    settings = cnn.CNNSettings(n_train=4000, n_test=1000, epochs=1)
    model = cnn.build_cnn("mnist", settings.seed)
    before = cnn.conv_filters(model).copy()
    events = list(cnn.train_events(model, settings, torch.device("cpu")))
    end = events[-1]
    epoch = [e for e in events if e["kind"] == "epoch"][-1]
    assert end["reason"] == "completed"
    assert epoch["val_acc"] > 80.0, epoch  # 1 epoch on 4k images; chance is 10%
    assert not np.allclose(before, cnn.conv_filters(model))


def test_load_split_mixes_classes():
    _, labels = cnn.load_split("cifar", True, 500)
    assert len(set(labels.tolist())) == 10  # the file is sorted by class; the subset is not


def test_drawn_digits_are_centred_and_blank_canvases_rejected():
    """The page's drawing path: core.digits.canvas_to_mnist, back to uint8 pixels for the CNN."""
    blank = np.zeros((200, 200, 4), np.uint8)
    blank[..., 3] = 255
    assert cnn.mnist_pixels(canvas_to_mnist(blank)) is None
    drawing = blank.copy()
    drawing[20:120, 20:40, :3] = 255  # a white bar in the top-left corner, on black
    tensor = canvas_to_mnist(drawing)
    digit = cnn.mnist_pixels(tensor)
    assert digit.shape == (1, 28, 28) and digit.dtype == torch.uint8
    assert torch.equal(cnn.input_transform("mnist")(digit.unsqueeze(0)), tensor)  # exactly the same input
    ys, xs = np.nonzero(digit[0].numpy() > 60)
    assert abs(ys.mean() - 14) < 2 and abs(xs.mean() - 14) < 2  # moved to the centre
    assert ys.max() - ys.min() + 1 in (19, 20, 21)  # scaled to MNIST's 20-pixel box


def test_render_grid_uses_one_scale():
    tiles = np.stack([np.full((4, 4), 1.0), np.full((4, 4), -2.0)])
    img, vmax = cnn.render_grid(tiles, tile_px=8)
    assert vmax == 2.0
    arr = np.asarray(img)
    first, second = arr[2 + 1, 2 + 1], arr[2 + 1, 2 + 8 + 2 + 1]
    assert first[0] > first[2] and second[2] > second[0]  # red (positive), blue (negative)
    assert first[1] > second[1]  # +1 is paler than −2 on the same ±2 scale


# --- The page ---------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_preset_has_its_words(language):
    words = sections(language, "cnn")
    for name in shapes.PRESETS:
        assert f"preset_{name}" in words and f"preset_{name}_note" in words
    names = ([f"dataset_{d}" for d in cnn.DATASETS] + [f"model_{d}" for d in cnn.DATASETS]
             + [f"kernel_{k}" for k in cnn.KERNELS] + [f"pad_{m}" for m in cnn.PAD_MODES]
             + [f"pad_title_{m}" for m in cnn.PAD_MODES] + [f"type_{k}" for k in shapes.LAYER_TYPES]
             + [f"class_{c}" for c in cnn.DATASETS["cifar"]["classes"]])
    refusals = re.findall(r'DataError\("cnn\.(\w+)"', inspect.getsource(cnn))  # every refusal by hand
    assert len(refusals) == 10
    names += refusals
    assert all(name in words for name in names), [n for n in names if n not in words]


def test_page_renders_checks_torch_and_explains_an_invalid_stack():
    at = open_page("views/cnn/cnn.py")
    assert not at.exception
    assert any("matches torch" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flatten size"] == "256" and metrics["Total parameters"] == "5,142"

    at.number_input(key="cnn_in_h").set_value(4).run()  # 4×28 input: the 5×5 conv cannot fit
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "layer 1" in message and "Suggested fix" in message and "padding ≥ 1" in message
    assert any("torch refuses it too" in c.value for c in at.caption)

    at.selectbox(key="cnn_preset").set_value("simplecnn_mnist").run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flatten size"] == "400"  # not the 576 the notes' code assumes
    assert any("32×32" in i.value for i in at.info)

    at.number_input(key="cnn_pool_p").set_value(2).run()  # padding 2 on a 2×2 window: torch refuses
    assert not at.exception and any("half the kernel" in e.value for e in at.error)


def test_page_trains_a_small_cnn_and_shows_after_training():
    at = open_page("views/cnn/cnn.py")
    assert any("Not trained yet" in i.value for i in at.info)
    at.select_slider(key="cnn_mnist_n_train").set_value(1000)
    at.slider(key="cnn_mnist_epochs").set_value(1)
    at.button(key="cnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert "Test accuracy" in metrics and metrics["Test accuracy"].endswith("%")
    runs = at.session_state["cnn_runs"]["runs"]  # the page's RunStore
    assert [r.settings.dataset for r in runs] == ["mnist"] and runs[0].state_dict is not None
    assert all(isinstance(v, torch.Tensor) and v.device.type == "cpu" for v in runs[0].state_dict.values())
    assert any("Finished 1 epochs" in s.value for s in at.success)
    assert not any("Not trained yet" in i.value for i in at.info)
    assert any("after training" in c.value for c in at.caption)

    at.select_slider(key="cnn_mnist_lr").set_value(0.003)
    at.button(key="cnn_train").click().run()  # a second run: a picker, the newest shown
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.session_state["cnn_runs"]["runs"]) == 2
    picker = next(s for s in at.selectbox if s.label == "Run")
    assert picker.value == "#2" and len(picker.options) == 2 and picker.options[0].startswith("#2: 1 epoch(s)")
    reopen_workspace(at, "views/cnn/cnn.py", ["cnn_runs"])
    runs = at.session_state["cnn_runs"]["runs"]
    runs[1].end = None  # as if Stop had cut it short after its first epoch
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("was stopped after 1 epoch" in i.value for i in at.info)
    assert any(m.label == "Test accuracy" for m in at.metric)

    at.radio(key="cnn_dataset").set_value("cifar").run()  # untrained CIFAR view + subset note
    assert not at.exception
    assert any("72.47%" in i.value for i in at.info)


@pytest.mark.parametrize("language, says", [("en", "needs the internet"), ("ko", "인터넷이 필요한데")])
def test_full_cifar_offline_says_so_and_keeps_the_subset(monkeypatch, language, says):
    from core import data

    monkeypatch.setattr(data, "internet_available", lambda *a, **k: False)
    monkeypatch.setattr(data, "CACHE_DIR", data.CACHE_DIR / "no-full-cifar-here")
    data.load_cifar10_full.cache_clear()
    at = open_page("views/cnn/cnn.py", query={"lang": language})
    at.radio(key="cnn_dataset").set_value("cifar").run()
    at.checkbox(key="cnn_full_cifar").check().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(says in w.value for w in at.warning)
    assert at.select_slider(key="cnn_cifar_n_train").options[-1] == "10000"


def test_uploads_become_model_inputs():
    from PIL import Image

    paper = np.full((300, 200, 3), 235, np.uint8)
    paper[60:240, 90:110] = 20  # a dark stroke on light paper: a photographed "1"
    digit = cnn.upload_to_image(Image.fromarray(paper), "mnist")
    assert digit.shape == (1, 28, 28) and digit.max() > 200 and digit[0, 0, 0] == 0  # ink is light
    assert cnn.upload_to_image(Image.fromarray(np.full((50, 50, 3), 235, np.uint8)), "mnist") is None
    photo = cnn.upload_to_image(Image.fromarray(np.zeros((480, 640, 3), np.uint8)), "cifar")
    assert photo.shape == (3, 32, 32) and photo.dtype == torch.uint8


def test_page_in_korean_explains_trains_and_names_classes_in_korean():
    """?lang=ko: the calculator's refusal and torch check, the trace table, a short training's
    results (end message, metrics, captions) and the CIFAR-10 classes are Korean."""
    hangul = re.compile(r"[\uac00-\ud7a3]")
    at = open_page("views/cnn/cnn.py", query={"lang": "ko"})
    assert list(at.table[0].value.columns)[1:] == ["층", "입력", "출력", "파라미터", "수용 영역", "계산식", "참고"]
    at.number_input(key="cnn_in_h").set_value(4).run()  # the 5×5 conv cannot fit
    assert not at.exception, [e.message for e in at.exception]
    assert at.error and all(hangul.search(e.value) for e in at.error)
    assert "1번 층" in at.error[0].value and "`padding` ≥ 1" in at.error[0].value
    assert any("torch도 이 스택을 거부합니다" in c.value for c in at.caption)

    at.number_input(key="cnn_in_h").set_value(28)
    at.select_slider(key="cnn_mnist_n_train").set_value(1000)
    at.slider(key="cnn_mnist_epochs").set_value(1)
    at.button(key="cnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["테스트 정확도"].endswith("%") and "학습 시간" in metrics
    results = [s.value for s in at.success] + [c.value for c in at.caption] + list(metrics)
    assert len(at.success) == 2 and all(hangul.search(text) for text in results), results
    assert any("학습 후" in c.value for c in at.caption)

    at.button(key="cnn_train").click().run()  # a second run: the picker's labels are Korean too
    assert not at.exception, [e.message for e in at.exception]
    picker = next(s for s in at.selectbox if s.label == "실행 기록")
    assert picker.value == "#2" and all("에포크" in o for o in picker.options)
    at.radio(key="cnn_dataset").set_value("cifar").run()
    assert not at.exception, [e.message for e in at.exception]
    chart = json.dumps(json.loads(at.get("vega_lite_chart")[0].proto.spec), ensure_ascii=False)  # probabilities
    assert "비행기" in chart and "airplane" not in chart and "확률" in chart
