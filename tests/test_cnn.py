"""core.cnn and the CNN page: arithmetic by hand vs torch, feature maps vs trace, training, AppTest."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import open_page
from core import cnn, shapes


pytestmark = pytest.mark.usefixtures("one_thread")


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
    with pytest.raises(ValueError, match="half the kernel"):
        cnn.pool_by_hand(cnn.POOL_EXAMPLE, 2, 2, 2)
    with pytest.raises(ValueError, match="number"):
        cnn.pool_by_hand([[1, float("nan")], [3, 4]])


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
    with pytest.raises(ValueError, match="smaller than the image side"):
        cnn.pad_by_hand(img, 4, "reflect")


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
    with pytest.raises(ValueError, match="larger than the padded"):
        cnn.conv_by_hand(np.zeros((2, 2)), np.zeros((3, 3)))


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
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed afterwards
    assert (maps["relu1"] >= 0).all() and np.allclose(maps["relu1"], np.maximum(maps["conv1"], 0))
    # the hooks read the model itself: changing its weights changes the maps
    with torch.no_grad():
        model.conv1.weight.mul_(2.0)
    maps2, _ = cnn.feature_maps(model, images[0], dataset)
    assert not np.allclose(maps2["conv1"], maps["conv1"])


def test_generated_return_nodes_work_with_create_feature_extractor():
    from torchvision.models.feature_extraction import create_feature_extractor

    spec = cnn.DATASETS["cifar"]
    namespace = {"nn": torch.nn}
    exec(shapes.sequential_code(spec["input"], spec["stack"]), namespace)
    extractor = create_feature_extractor(namespace["model"], return_nodes=cnn.feature_return_nodes("cifar"))
    out = extractor(torch.zeros(1, *spec["input"]))
    rows = shapes.trace(spec["input"], spec["stack"])
    assert out["pool2"].shape[1:] == rows[5]["output_shape"] == (64, 8, 8)
    code = cnn.training_code(cnn.DEFAULTS["cifar"])
    compile(code, "cnn_playground.py", "exec")
    assert "CIFAR10" in code and "range(3)" in code and "create_feature_extractor" in code


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


def test_canvas_to_digit_centres_and_rejects_blank():
    blank = np.zeros((200, 200, 4), np.uint8)
    blank[..., 3] = 255
    assert cnn.canvas_to_digit(blank) is None
    drawing = blank.copy()
    drawing[20:120, 20:40, :3] = 255  # a white bar in the top-left corner, on black
    digit = cnn.canvas_to_digit(drawing)
    assert digit.shape == (1, 28, 28) and digit.dtype == torch.uint8
    ys, xs = np.nonzero(digit[0].numpy() > 60)
    assert abs(ys.mean() - 14) < 2 and abs(xs.mean() - 14) < 2  # moved to the centre
    assert ys.max() - ys.min() + 1 in (19, 20, 21)  # scaled to MNIST's 20-pixel box
    simple = cnn._simple_canvas_to_digit(drawing)  # the fallback behaves the same way
    ys, xs = np.nonzero(simple[0].numpy() > 60)
    assert abs(ys.mean() - 14) < 2 and abs(xs.mean() - 14) < 2


def test_render_grid_uses_one_scale():
    tiles = np.stack([np.full((4, 4), 1.0), np.full((4, 4), -2.0)])
    img, vmax = cnn.render_grid(tiles, tile_px=8)
    assert vmax == 2.0
    arr = np.asarray(img)
    first, second = arr[2 + 1, 2 + 1], arr[2 + 1, 2 + 8 + 2 + 1]
    assert first[0] > first[2] and second[2] > second[0]  # red (positive), blue (negative)
    assert first[1] > second[1]  # +1 is paler than −2 on the same ±2 scale


# --- The page ---------------------------------------------------------------------------------

def test_page_renders_checks_torch_and_explains_an_invalid_stack():
    at = open_page("pages/cnn.py")
    assert not at.exception
    assert any("matches torch" in s.value for s in at.success)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flatten size"] == "256" and metrics["Total parameters"] == "5,142"

    at.number_input(key="cnn_in_h").set_value(4).run()  # 4×28 input: the 5×5 conv cannot fit
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "layer 1" in message and "Suggested fix" in message and "padding ≥ 1" in message
    assert any("torch refuses it too" in c.value for c in at.caption)

    at.selectbox(key="cnn_preset").set_value(
        next(n for n in shapes.PRESETS if "view(-1" in n)).run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flatten size"] == "400"  # not the 576 the notes' code assumes
    assert any("32×32" in i.value for i in at.info)


def test_page_trains_a_small_cnn_and_shows_after_training():
    at = open_page("pages/cnn.py")
    at.select_slider(key="cnn_mnist_n_train").set_value(1000)
    at.slider(key="cnn_mnist_epochs").set_value(1)
    at.button(key="cnn_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert "Test accuracy" in metrics and metrics["Test accuracy"].endswith("%")
    assert "cnn_runs" in at.session_state and "mnist" in at.session_state["cnn_runs"]
    at.radio(key="cnn_dataset").set_value("cifar").run()  # untrained CIFAR view + subset note
    assert not at.exception
    assert any("72.47%" in i.value for i in at.info)


def test_full_cifar_offline_says_so_and_keeps_the_subset(monkeypatch):
    from core import data

    monkeypatch.setattr(data, "internet_available", lambda *a, **k: False)
    monkeypatch.setattr(data, "CACHE_DIR", data.CACHE_DIR / "no-full-cifar-here")
    data.load_cifar10_full.cache_clear()
    at = open_page("pages/cnn.py")
    at.radio(key="cnn_dataset").set_value("cifar").run()
    at.checkbox(key="cnn_full_cifar").check().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("needs the internet" in w.value for w in at.warning)
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
