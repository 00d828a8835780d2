"""core.augment (batched augmentation against torch/torchvision), the CNN page's padding modes
against F.pad / Conv2d(padding_mode=...), the with/without comparison, the recipe with
augmentation, and both sections under AppTest in English and Korean."""
import math
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

from conftest import open_page, reopen_workspace, run_recipe
from core import augment, cnn
from core.data import DataError
from core.engine import run_to_end
from core.words import english

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture(scope="module")
def cifar_batch():
    return cnn.load_split("cifar", True, 16, seed=0)


def _shift_of(out: torch.Tensor, image: torch.Tensor, padding: int) -> tuple[int, int] | None:
    """The (dy, dx) offset at which `out` is the window of the zero-padded `image`, or None."""
    padded = F.pad(image, (padding,) * 4)
    h, w = image.shape[-2:]
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            if torch.equal(padded[:, dy:dy + h, dx:dx + w], out):
                return dy, dx
    return None


# --- core.augment -----------------------------------------------------------------------------

def test_every_image_gets_its_own_crop_of_itself(cifar_batch):
    """Each output is a window of its own padded image (so its label still holds), and the
    windows differ from image to image: the same picture repeated gets different crops."""
    images, labels = cifar_batch
    out = augment.augment_batch(images, augment.Augment(crop_padding=4), augment.generator(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    shifts = [_shift_of(out[i], images[i], 4) for i in range(len(images))]
    assert None not in shifts and len(set(shifts)) > 4, shifts
    same = images[:1].repeat(8, 1, 1, 1)
    copies = augment.augment_batch(same, augment.Augment(crop_padding=4), augment.generator(1))
    assert len({_shift_of(c, same[0], 4) for c in copies}) > 1
    assert not torch.equal(copies[0], copies[1]) or not torch.equal(copies[1], copies[2])
    assert torch.equal(cifar_batch[1], labels)  # the labels tensor is never touched


def test_flip_mirrors_some_images_and_keeps_the_others(cifar_batch):
    images, _ = cifar_batch
    out = augment.augment_batch(images, augment.Augment(flip=True), augment.generator(0))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, images)]
    kept = [torch.equal(o, i) for o, i in zip(out, images)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


def test_color_jitter_equals_torchvision_with_the_same_factors(cifar_batch):
    images = cifar_batch[0][:6].float() / 255
    out = augment.color_jitter(images, 0.2, augment.generator(3))
    factors = 1 + (torch.rand(3, len(images), generator=augment.generator(3)) * 2 - 1) * 0.2
    assert ((factors >= 0.8) & (factors <= 1.2)).all()
    for i, image in enumerate(images):
        ref = TF.adjust_brightness(image, float(factors[0, i]))
        ref = TF.adjust_contrast(ref, float(factors[1, i]))
        ref = TF.adjust_saturation(ref, float(factors[2, i]))
        assert torch.allclose(out[i], ref, atol=1e-5), i
    gray = cnn.load_split("mnist", True, 4)[0].float() / 255  # one channel: brightness and contrast only
    assert augment.color_jitter(gray, 0.2, augment.generator(0)).shape == gray.shape


def test_rotation_by_a_quarter_turn_is_rot90_and_angles_stay_in_range():
    x = torch.arange(2 * 16, dtype=torch.float32).view(2, 1, 4, 4)
    quarter = augment.rotate(x, torch.tensor([math.pi / 2, 0.0]))
    assert torch.allclose(quarter[0], torch.rot90(x[0], 1, (1, 2)), atol=1e-4)
    assert torch.allclose(quarter[1], x[1], atol=1e-5)
    digits = cnn.load_split("mnist", True, 8)[0]
    out = augment.augment_batch(digits, augment.Augment(degrees=15), augment.generator(0))
    assert out.shape == digits.shape and out.dtype == torch.uint8
    assert all(not torch.equal(o, d) for o, d in zip(out, digits))
    # small angles keep most of the ink: the digit is slanted, not lost
    assert (out.float().sum((1, 2, 3)) / digits.float().sum((1, 2, 3))).min() > 0.8


def test_same_seed_same_draws_other_seed_other_draws(cifar_batch):
    images, _ = cifar_batch
    every = augment.from_toggles("cifar", augment.OPTIONS["cifar"])
    assert every == augment.Augment(crop_padding=4, flip=True, jitter=0.2)
    a = augment.augment_batch(images, every, augment.generator(7))
    b = augment.augment_batch(images, every, augment.generator(7))
    c = augment.augment_batch(images, every, augment.generator(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(augment.augment_batch(images, augment.Augment(), augment.generator(0)), images)
    grid = augment.examples(images[:3], every, 5, seed=0)
    assert grid.shape == (3, 5, 3, 32, 32) and not torch.equal(grid[0, 0], grid[0, 1])


def test_training_batches_are_augmented_test_batches_never(cifar_batch):
    images, _ = cifar_batch
    settings = replace(cnn.DEFAULTS["cifar"], augment=augment.Augment(crop_padding=4, flip=True))
    model = cnn.build_cnn("cifar")
    transform = cnn.train_transform(model, settings)
    clean = cnn.input_transform("cifar")(images)
    assert not torch.equal(transform(images), clean)  # training mode: augmented
    model.eval()  # what engine.evaluate does before it transforms the test images
    assert torch.equal(transform(images), clean)
    assert cnn.train_transform(model.train(), cnn.DEFAULTS["cifar"])(images).equal(clean)  # nothing on


def test_estimates_grow_with_the_work():
    base = replace(cnn.DEFAULTS["cifar"], n_train=2000, epochs=1)
    more = cnn.estimate_seconds(replace(base, n_train=4000, n_test=2 * base.n_test, epochs=2), CPU)
    assert more == pytest.approx(4 * cnn.estimate_seconds(base, CPU), rel=0.1)  # same measured costs, 4× the work
    aug = replace(base, augment=augment.from_toggles("cifar", ["crop", "flip"]))
    # batched: augmenting costs little
    assert 0.5 < cnn.estimate_seconds(aug, CPU) / cnn.estimate_seconds(base, CPU) < 2
    assert cnn.compare_estimate(aug, CPU) > cnn.estimate_seconds(aug, CPU) + cnn.estimate_seconds(base, CPU)
    assert cnn.estimate_seconds(cnn.DEFAULTS["mnist"], CPU) < cnn.estimate_seconds(cnn.DEFAULTS["cifar"], CPU)


def test_with_and_without_start_from_the_same_seed_and_report_the_gap():
    """MNIST, 2,000 training images, 2 epochs: the plain arm is exactly the page's ordinary training
    for these settings; both arms start from the same weights; the figures and verdict follow."""
    settings = replace(cnn.DEFAULTS["mnist"], n_train=2000, n_test=500, epochs=2,
                       augment=augment.from_toggles("mnist", ["crop", "rotate"]))
    models = {arm: cnn.build_cnn("mnist", settings.seed) for arm in cnn.ARMS}
    assert all(torch.equal(a, b) for a, b in zip(models["plain"].state_dict().values(),
                                                 models["augmented"].state_dict().values()))
    history = list(cnn.compare_events(models, settings, CPU))
    assert history[-1]["kind"] == "end" and history[-1]["reason"] == "completed"
    figures = cnn.comparison(history)
    assert figures["plain"]["epochs"] == figures["augmented"]["epochs"] == 2
    for arm in cnn.ARMS:
        assert math.isclose(figures[arm]["gap"], figures[arm]["train"] - figures[arm]["test"])
    alone, _ = run_to_end(cnn.train_events(cnn.build_cnn("mnist"), replace(settings, augment=augment.Augment()), CPU))
    assert alone[-1]["val_acc"] == figures["plain"]["test"]  # same seed, same data, same batches
    assert figures["augmented"]["test"] != figures["plain"]["test"]
    said = english(cnn.comparison_verdict(figures))
    assert said.startswith("**On this run**") and f"{figures['plain']['test']:.1f}%" in said
    assert cnn.comparison_verdict({"plain": figures["plain"], "augmented": None}) is None


@pytest.mark.parametrize("plain, augmented, key, says", [
    # the measured default CIFAR-10 runs (10,000 images, seed 0, crop + flip): 3 and 10 epochs
    ((69.3, 58.6), (54.15, 51.55), "narrowed_worse", "cost 7.1 points"),
    ((98.7, 61.2), (67.4, 61.55), "narrowed_same", "about the same test accuracy"),
    ((93.5, 93.45), (93.75, 93.85), "no_overfitting", "hardly overfits"),
    ((80.0, 60.0), (70.0, 63.0), "narrowed_better", "raised the test accuracy by 3.0 points"),
    ((70.0, 60.0), (75.0, 62.0), "not_narrowed", "did not narrow"),
])
def test_the_verdict_says_what_happened(plain, augmented, key, says):
    figures = {arm: {"train": train, "test": test, "gap": train - test, "epochs": 3}
               for arm, (train, test) in zip(cnn.ARMS, (plain, augmented))}
    verdict = cnn.comparison_verdict(figures)
    assert verdict.key == f"augment.verdict_{key}" and says in english(verdict)


# --- Padding modes ----------------------------------------------------------------------------

@pytest.mark.parametrize("padding", [1, 2, 3])
def test_padding_modes_equal_f_pad_and_conv2d_padding_mode(padding):
    image = cnn.PAD_EXAMPLE.astype(float)
    x = torch.tensor(image)[None, None]
    for name, kernel in cnn.KERNELS.items():
        results = cnn.padding_modes(image, padding, kernel)
        assert list(results) == ["zero", "reflect", "replicate", "circular"]
        for mode, (pad_mode, conv_mode) in {"zero": ("constant", "zeros"), "reflect": ("reflect", "reflect"),
                                            "replicate": ("replicate", "replicate"),
                                            "circular": ("circular", "circular")}.items():
            found = results[mode]
            assert np.array_equal(found["padded"], F.pad(x, (padding,) * 4, mode=pad_mode)[0, 0].numpy())
            conv = torch.nn.Conv2d(1, 1, 3, padding=padding, padding_mode=conv_mode, bias=False, dtype=torch.float64)
            with torch.no_grad():
                conv.weight.copy_(torch.tensor(kernel, dtype=torch.float64)[None, None])
                assert np.allclose(found["out"], conv(x)[0, 0].numpy()), (name, mode)
            assert found["matches_torch"] and found["out"].shape == (2 + 2 * padding,) * 2
        # only the output cells whose window reaches into the padding differ between modes
        touched = results["zero"]["touched"]
        for mode in ("reflect", "replicate", "circular"):
            assert np.array_equal(results[mode]["out"][~touched], results["zero"]["out"][~touched])
        assert (~touched).sum() == (4 - 3 + 1) ** 2  # the 2×2 windows that sit inside the 4×4 image
    assert cnn.pad_by_hand(image, 1, "circular")[0].tolist() == [16, 13, 14, 15, 16, 13]


def test_padding_torch_refuses_is_refused_with_a_reason():
    image = cnn.PAD_EXAMPLE
    assert "error" not in cnn.padding_modes(image, 4, cnn.KERNELS["blur"])["circular"]  # = the side: allowed
    with pytest.raises(DataError) as info:
        cnn.pad_by_hand(image, 5, "circular")
    assert english(info.value.words).startswith("Circular padding can be at most the image side (4)")
    assert cnn.padding_modes(image, 4, cnn.KERNELS["blur"])["reflect"]["error"].key == "cnn.hand_reflect"


# --- The recipe with augmentation -------------------------------------------------------------

def test_recipe_augments_each_batch_like_the_engine_on_cifar():
    """CIFAR-10 1,000 train / 500 test images, 1 epoch, crop + flip + jitter in both the recipe
    and the engine (their own random draws and batch orders). Tolerance: test accuracies within
    6 points (one epoch on 1,000 images is noisy; the plain recipe test allows 5). The recipe's
    augment() crops every image of a batch at its own place."""
    settings = replace(cnn.DEFAULTS["cifar"], n_train=1000, n_test=500, epochs=1,
                       augment=augment.from_toggles("cifar", ["crop", "flip", "jitter"]))
    script = run_recipe("cnn", optimizer=settings.train_config(), DATASET="cifar", N_TRAIN=1000, N_TEST=500,
                        EPOCHS=1, CROP_PADDING=4, FLIP=True, JITTER=0.2)
    epochs, end = run_to_end(cnn.train_events(cnn.build_cnn("cifar"), settings, CPU))
    assert end["reason"] == "completed"
    assert abs(script["test_acc"] - epochs[-1]["val_acc"]) <= 6.0, (script["test_acc"], epochs[-1]["val_acc"])
    assert script["test_acc"] > 15.0  # it learned (chance is 10%)
    images = cnn.load_split("cifar", True, 8)[0]
    normalized = cnn.input_transform("cifar")(images)
    script["CROP_PADDING"], script["FLIP"], script["JITTER"] = 4, False, 0.0
    cropped = ((script["augment"](normalized) * 0.5 + 0.5) * 255).round().to(torch.uint8)
    shifts = [_shift_of(c, i, 4) for c, i in zip(cropped, images)]
    assert None not in shifts and len(set(shifts)) > 1


# --- The page ---------------------------------------------------------------------------------

@pytest.mark.parametrize("language, says", [
    ("en", {"header": "4 · Data augmentation", "verdict": "**On this run**",
            "same": "✓ same as `F.pad(mode=...)` and `nn.Conv2d(padding_mode=",
            "test": "Test accuracy"}),
    ("ko", {"header": "4 · 데이터 증강", "verdict": "**이번 실행에서는**",
            "same": "✓ `F.pad(mode=...)`, `nn.Conv2d(padding_mode=",
            "test": "테스트 정확도"})])
def test_page_pads_four_ways_shows_augmented_images_and_compares(language, says):
    at = open_page("views/cnn/cnn.py", query={"lang": language})
    assert not at.exception, [e.message for e in at.exception]
    checks = [c.value for c in at.caption if says["same"] in c.value]  # one per mode
    assert len(checks) == 4, checks  # zero, reflect, replicate, circular: each agrees with torch
    at.slider(key="cnn_pad_p").set_value(3).run()
    at.selectbox(key="cnn_pad_kernel").set_value("vertical").run()
    assert not at.exception and len([c for c in at.caption if says["same"] in c.value]) == 4

    assert any(h.value == says["header"] for h in at.header)
    assert [tg.key for tg in at.toggle if tg.key.startswith("cnn_aug")] == ["cnn_aug_mnist_crop",
                                                                            "cnn_aug_mnist_rotate"]
    grids = len(at.get("imgs"))
    at.button(key="cnn_aug_redraw").click().run()
    assert not at.exception and len(at.get("imgs")) == grids
    at.select_slider(key="cnn_mnist_n_train").set_value(1000)
    at.slider(key="cnn_mnist_epochs").set_value(1)
    at.run()
    assert any(re.search(r"\d+\.\d s", c.value) for c in at.caption if "CPU" in c.value)  # the estimate
    at.button(key="cnn_aug_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    runs = at.session_state["cnn_augment_runs"]["runs"]
    assert len(runs) == 1 and runs[0].results["augmented"]["epochs"] == 1
    verdict = [m.value for m in at.markdown if m.value.startswith(says["verdict"])]
    assert len(verdict) == 1 and f"{runs[0].results['plain']['test']:.1f}%" in verdict[0]
    tests = [m.value for m in at.metric if m.label == says["test"]]
    assert f"{runs[0].results['augmented']['test']:.2f}%" in tests
    reopen_workspace(at, "views/cnn/cnn.py", ["cnn_augment_runs"])
    if language == "ko":
        assert HANGUL.search(verdict[0]) and all(HANGUL.search(m.label) for m in at.metric)
    for tg in ("cnn_aug_mnist_crop", "cnn_aug_mnist_rotate"):
        at.toggle(key=tg).set_value(False)
    at.session_state["cnn_code_show_code"] = True  # "Show the code" opened (a closed one is not drawn)
    at.run()  # nothing on: no comparison to run, a hint instead; the code shows no augmentation
    assert not at.exception and at.button(key="cnn_aug_train").disabled
    code = next(c.value for c in at.code if "CROP_PADDING" in c.value)
    assert "CROP_PADDING = 0" in code and "DEGREES = 0.0" in code
