"""Drawn digits read right: the CNN reader on MNIST and on drawings, the MLP beside it, the shift
lesson, the drawn-digit set, the one image loader and every kind of upload on the ANN and CNN pages."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import open_page
from core import digits, drawn_digits
from core.data import DataError
from core.words import english

SMALL_SHIFTS = [(dx, dy) for dx in (-2, 0, 2) for dy in (-2, 0, 2) if (dx, dy) != (0, 0)]


@pytest.fixture(scope="module")
def drawn():
    return drawn_digits.drawn_set()  # the shared set: N_PER_CLASS drawings of each digit


@pytest.fixture(scope="module")
def readers():
    return {kind: (digits.digit_model(kind), digits.digit_model_info(kind)) for kind in ("cnn", "mlp")}


# --- The readers' figures ---

def test_default_reader_is_the_shipped_cnn(readers):
    model, info = readers["cnn"]
    assert type(digits.default_digit_model()) is type(model) and isinstance(model[0], torch.nn.Conv2d)
    assert digits.DEFAULT_WEIGHTS == digits.CNN_WEIGHTS and 100_000 < digits.CNN_WEIGHTS.stat().st_size < 1_000_000
    assert not model.training and (info["mean"], info["std"]) == (0.5, 0.5)  # canvas_to_mnist's normalization
    assert sum(p.numel() for p in digits.digit_model("mlp").parameters()) == 109_386  # the course's SimpleANN


def test_cnn_reads_mnist_and_drawings_and_the_mlp_is_reported(readers, drawn):
    """The goal of the issue: >= 95% on MNIST's test set, >= 90% on drawn digits, for the CNN."""
    pictures, labels, styles = drawn
    figures = {}
    for kind, (model, info) in readers.items():
        figures[kind] = (digits.mnist_test_accuracy(model, info["mean"], info["std"]),
                         float(100 * (drawn_digits.predictions(model, pictures, info["mean"], info["std"])
                                      == labels).mean()))
        # The figures the page shows; another CPU may round one image differently.
        assert figures[kind][0] == pytest.approx(info["test_accuracy"], abs=0.05)
        assert figures[kind][1] == pytest.approx(info["drawn_accuracy"], abs=0.7)
    print(f"\nMNIST test / drawn: CNN {figures['cnn'][0]:.2f}% / {figures['cnn'][1]:.2f}%, "
          f"MLP {figures['mlp'][0]:.2f}% / {figures['mlp'][1]:.2f}%")
    assert figures["cnn"][0] >= 95.0 and figures["cnn"][1] >= 90.0
    assert figures["mlp"][0] >= 96.0  # the MLP is good on MNIST: MNIST accuracy is not drawing accuracy
    cnn_pred = drawn_digits.predictions(readers["cnn"][0], pictures, 0.5, 0.5)
    for style in drawn_digits.STYLES:  # every ink style read, not just on average
        mine = np.asarray(styles) == style
        assert (cnn_pred[mine] == labels[mine]).mean() >= 0.85, style


def test_small_shifts_keep_the_cnns_answer_and_break_the_mlps(readers, drawn):
    """The shift control's lesson on the drawn set: 2 pixels in any direction."""
    pictures = drawn[0]
    held = {kind: np.mean([drawn_digits.shift_holds(model, pictures, 0.5, 0.5, dx, dy) for dx, dy in SMALL_SHIFTS])
            for kind, (model, _) in readers.items()}
    print(f"\nanswer kept under 2-pixel shifts: CNN {held['cnn']:.1f}%, MLP {held['mlp']:.1f}%")
    assert held["cnn"] >= 90.0
    assert held["mlp"] < held["cnn"] - 10


def test_shift_pixels_moves_and_drops_ink():
    picture = np.zeros((28, 28), np.float32)
    picture[10:14, 12] = 1.0
    moved = digits.shift_pixels(picture, 3, -2)
    assert moved[8:12, 15].sum() == 4 and moved.sum() == 4
    assert digits.shift_pixels(picture, 0, 0).tolist() == picture.tolist()
    assert digits.shift_pixels(picture, 20, 0).sum() == 0  # pushed out of the field


# --- The drawn-digit set ---

def test_drawn_set_is_balanced_deterministic_and_in_three_ink_styles(drawn):
    pictures, labels, styles = drawn
    assert np.bincount(labels, minlength=10).tolist() == [drawn_digits.N_PER_CLASS] * 10
    for digit in range(10):
        mine = [s for s, d in zip(styles, labels) if d == digit]
        assert set(mine) == set(drawn_digits.STYLES)
    assert (pictures.max(axis=(1, 2)) > 0.5).all()  # every drawing found by the preprocessing
    first = [rgba for rgba, _, _ in drawn_digits.drawings(1, seed=7)]
    again = [rgba for rgba, _, _ in drawn_digits.drawings(1, seed=7)]
    other = [rgba for rgba, _, _ in drawn_digits.drawings(1, seed=8)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, other))
    seen = {digits.preprocess_digit(rgba).ink_style for rgba, _, _ in drawn_digits.drawings(1, seed=7)}
    assert seen == {"transparent background", "light ink on dark", "dark ink on light"}


# --- One image loader for every page ---

def _digit_ink(size=(200, 260)) -> np.ndarray:
    """A drawn 4 as a 0..1 ink mask (not MNIST)."""
    rgba = drawn_digits.render(4, "transparent", np.random.default_rng(4))
    return np.asarray(Image.fromarray(rgba[..., 3]).resize(size), np.float32) / 255.0


def _png16(ink) -> bytes:
    """Dark ink on light paper as a 16-bit grayscale PNG (values up to 65535)."""
    values = np.round((0.9 - 0.8 * ink) * 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    return buffer.getvalue()


def _paper(ink, mode: str, fmt: str, **save) -> bytes:
    gray = Image.fromarray(np.round((0.9 - 0.8 * ink) * 255).astype(np.uint8), "L")
    picture = gray.convert("RGB").convert(mode) if mode != "P" else gray.convert("RGB").quantize(16)
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **save)
    return buffer.getvalue()


def _exif_rotated(ink) -> bytes:
    """The digit stored lying on its side, with EXIF saying: turn 90° clockwise to view."""
    sideways = Image.fromarray(np.round((0.9 - 0.8 * ink) * 255).astype(np.uint8), "L").transpose(Image.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    sideways.convert("RGB").save(buffer, "JPEG", exif=exif, quality=92)
    return buffer.getvalue()


def _blank_photo() -> bytes:
    rng = np.random.default_rng(0)
    paper = 0.85 + 0.05 * np.linspace(0, 1, 320)[None, :] + rng.normal(0, 0.015, (240, 320))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.round(paper * 255), 0, 255).astype(np.uint8)).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


def _one_pixel() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (255, 255, 255)).save(buffer, "PNG")
    return buffer.getvalue()


INK = _digit_ink()
READABLE = {  # name -> (file name, bytes): each holds the drawn 4
    "png16": ("digit16.png", _png16(INK)),
    "palette": ("palette.png", _paper(INK, "P", "PNG")),
    "cmyk": ("cmyk.jpg", _paper(INK, "CMYK", "JPEG", quality=92)),
    "exif": ("phone.jpg", _exif_rotated(INK)),
}
UNREADABLE = {"not_an_image": ("digit.png", b"%PDF-1.4 this is not a picture" * 20), "empty": ("empty.png", b"")}
NO_DIGIT = {"one_pixel": ("dot.png", _one_pixel()), "blank_photo": ("paper.jpg", _blank_photo())}


@pytest.mark.parametrize("name", list(READABLE))
def test_load_image_brings_every_mode_to_8_bit_rgba_and_the_4_reads_as_4(name):
    rgba = digits.load_image(io.BytesIO(READABLE[name][1]))
    assert rgba.dtype == np.uint8 and rgba.ndim == 3 and rgba.shape[2] == 4
    assert rgba.shape[:2] == INK.shape  # upright: the EXIF turn applied
    tensor = digits.canvas_to_mnist(rgba)
    assert tensor is not None, name
    assert int(np.argmax(digits.digit_probabilities(digits.default_digit_model(), tensor))) == 4


def test_sixteen_bit_png_is_scaled_not_clipped():
    """Pillow's convert("RGBA") clips 16-bit values to 255 (the whole picture white, read as blank)."""
    clipped = np.asarray(Image.open(io.BytesIO(READABLE["png16"][1])).convert("RGBA"))
    assert digits.canvas_to_mnist(clipped) is None  # the bug
    eight_bit = np.asarray(Image.open(io.BytesIO(READABLE["palette"][1])).convert("L"), np.float32)
    # palette: 16 grays
    assert np.abs(digits.load_image(io.BytesIO(READABLE["png16"][1]))[..., 0] - eight_bit).max() <= 24


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_unreadable_files_raise_a_learner_message(name):
    with pytest.raises(DataError) as caught:
        digits.load_image(io.BytesIO(UNREADABLE[name][1]))
    assert "PNG or JPEG" in english(caught.value.words)


@pytest.mark.parametrize("name", list(NO_DIGIT))
def test_pictures_without_a_digit_load_and_preprocess_to_none(name):
    assert digits.canvas_to_mnist(digits.load_image(io.BytesIO(NO_DIGIT[name][1]))) is None


# --- The pages ---

INTERNALS = ("UploadedFile", "file_id", "upload_url", "cannot identify", "Traceback", "PIL")


def _said(at) -> str:
    return " ".join(e.value for e in [*at.error, *at.warning, *at.info])


def _answers(at) -> dict:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_ann_page_uploads_every_case_and_shows_both_readers(lang):
    from core.words import sections

    words = sections(lang, "digits")
    at = open_page("views/ann/ann.py", query={"lang": lang})
    at.radio(key="ann_draw_input").set_value("photo").run()
    assert words["nothing_drawn"] in _said(at)
    for name, (filename, data) in READABLE.items():
        at.file_uploader(key="ann_photo").set_value((filename, data, "image/png")).run()
        assert not at.exception, (name, [e.message for e in at.exception])
        answers = _answers(at)
        assert answers[words["reader_cnn"]] == "4", (name, answers)
        assert words["reader_mlp"] in answers, name
    if lang == "ko":  # the readers' answers, figures, shift control and lesson: no English left
        from test_content import HANGUL, _latin_words, _texts

        english_left = {text[:80]: _latin_words(text)[:6] for text in _texts(at.main)
                        if not HANGUL.search(text) and _latin_words(text)}
        assert not english_left, english_left
    for name, (filename, data) in {**UNREADABLE, **NO_DIGIT}.items():
        at.file_uploader(key="ann_photo").set_value((filename, data, "image/png")).run()
        assert not at.exception, (name, [e.message for e in at.exception])
        said = _said(at)
        expected = words["photo_unreadable_mnist"] if name in UNREADABLE else words["no_digit_in_photo"]
        assert expected in said and not any(w in said for w in INTERNALS), (name, said)
        assert not _answers(at).get(words["reader_cnn"]), name


def test_ann_page_shift_control_and_my_latest_run():
    """Shifting by 2 pixels keeps the CNN's 4; the shift chart is drawn; my run joins the readers."""
    from core import ann
    from core.engine import run_to_end, train
    from ui.runs import Run, cpu_state_dict

    s = ann.AnnSettings(n_train=1000, epochs=1)
    model = ann.build_model(s)
    history, end = run_to_end(train(model, ann.training_subset(1000), s.train_config(), torch.device("cpu"),
                                    transform=s.transform()))
    results = ann.analyze(model, s, history, end, 9.0, torch.device("cpu"))
    run = Run(1, s, history, end, results, cpu_state_dict(model))
    at = open_page("views/ann/ann.py")
    at.session_state["ann_runs"] = {"runs": [run], "next_id": 2, "notice": None}
    at.run()
    at.radio(key="ann_draw_input").set_value("photo").run()
    at.file_uploader(key="ann_photo").set_value((*READABLE["palette"], "image/png")).run()
    assert at.multiselect(key="ann_draw_readers").options == ["CNN (default)", "Course MLP", "My latest run"]
    at.multiselect(key="ann_draw_readers").set_value(["cnn", "mlp", "latest"]).run()
    assert not at.exception, [e.message for e in at.exception]
    answers = _answers(at)
    assert all(answers[name] in list("0123456789") for name in ("CNN (default)", "Course MLP", "My latest run"))
    assert answers["CNN (default)"] == "4"
    at.slider(key="ann_shift_x").set_value(2).run()
    at.slider(key="ann_shift_y").set_value(-2).run()
    assert not at.exception, [e.message for e in at.exception]
    assert _answers(at)["CNN (default)"] == "4"
    assert any("MLP" in m.value for m in at.markdown)  # the lesson: why the MLP breaks


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_cnn_page_uploads_every_case(lang):
    from core.words import sections

    words, cnn_words = sections(lang, "digits"), sections(lang, "cnn")
    at = open_page("views/cnn/cnn.py", query={"lang": lang})
    at.radio(key="cnn_mnist_source").set_value("upload").run()
    for name, (filename, data) in READABLE.items():
        at.file_uploader(key="cnn_mnist_upload").set_value((filename, data, "image/png")).run()
        assert not at.exception, (name, [e.message for e in at.exception])
        reads = words["default_reads"].split("**")[0]
        assert any(c.value.startswith(reads) and "**4**" in c.value for c in at.caption), name
    for name, (filename, data) in {**UNREADABLE, **NO_DIGIT}.items():
        at.file_uploader(key="cnn_mnist_upload").set_value((filename, data, "image/png")).run()
        assert not at.exception, (name, [e.message for e in at.exception])
        said = _said(at)
        expected = words["photo_unreadable_mnist"] if name in UNREADABLE else cnn_words["upload_blank"]
        assert expected in said and not any(w in said for w in INTERNALS), (name, said)
    at.radio(key="cnn_dataset").set_value("cifar").run()
    at.radio(key="cnn_cifar_source").set_value("upload").run()
    at.file_uploader(key="cnn_cifar_upload").set_value((*UNREADABLE["not_an_image"], "image/png")).run()
    assert not at.exception and words["photo_unreadable_cifar"] in _said(at)
    at.file_uploader(key="cnn_cifar_upload").set_value((*READABLE["png16"], "image/png")).run()
    assert not at.exception and not at.error
