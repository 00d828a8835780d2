"""Issue 30: the learner's own photos on the ResNet page. core.photos against hand-made files
(rotated, huge, foreign, broken), a generated circles-vs-squares set that both models learn above
chance on the held-out split, and the page under AppTest through app.py in both languages: every
bad input gets its message and nothing breaks, then training, the results and a new photo read."""
import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from conftest import open_page, reopen_workspace
from core import photos
from core.words import LearnerError, english, fill, sections

CPU = torch.device("cpu")


def shape_png(kind: str, rng: np.random.Generator, size: int = 64) -> bytes:
    """A `kind` ("circle" or "square") of a random bright colour on a random dark background, at a
    random place and size: what tells the classes apart is the shape alone."""
    img = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 100, 3)))
    r = int(rng.integers(size * 14 // 64, size * 24 // 64))
    cx, cy = (int(v) for v in rng.integers(r + 2, size - 2 - r, 2))
    draw = ImageDraw.Draw(img)
    (draw.ellipse if kind == "circle" else draw.rectangle)([cx - r, cy - r, cx + r, cy + r],
                                                           fill=tuple(int(v) for v in rng.integers(156, 256, 3)))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def shapes(n: int, seed: int = 0) -> dict[str, list[bytes]]:
    rng = np.random.default_rng(seed)
    return {kind: [shape_png(kind, rng) for _ in range(n)] for kind in ("circle", "square")}


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels (a decompression bomb's header)."""
    raw = bytearray(_encoded(Image.new("L", (8, 8)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(raw[24:29])
    raw[16:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(raw)


def _encoded(img: Image.Image, fmt: str, **kwargs) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200)  # an iPhone photo's first bytes


# --- core ----------------------------------------------------------------------------------

def test_a_photo_is_decoded_upright_cropped_to_its_centre_and_shrunk():
    img = Image.new("RGB", (60, 40), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 30, 40))  # left half red as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # a phone held upright: shown turned 90° clockwise, the red half on top
    photo = photos.decode(_encoded(img, "JPEG", exif=exif, quality=95), "phone.jpg")
    assert photo.pixels.shape == (photos.SIZE, photos.SIZE, 3) and photo.pixels.dtype == np.uint8
    assert photo.thumb.shape == (photos.THUMB, photos.THUMB, 3)
    top, bottom = photo.pixels[1].astype(int), photo.pixels[-2].astype(int)
    assert (top[:, 0] > 200).all() and (top[:, 2] < 60).all(), "the top row is red: the EXIF turn was applied"
    assert (bottom[:, 2] > 200).all() and (bottom[:, 0] < 60).all()
    same = photos.decode(_encoded(img, "JPEG", exif=exif, quality=95))
    assert same.digest == photo.digest and photos.decode(_encoded(img, "PNG")).digest != photo.digest
    gray = photos.decode(_encoded(Image.new("L", (10, 30), 128), "PNG"))  # any mode becomes RGB
    assert gray.pixels.shape == (32, 32, 3) and abs(int(gray.pixels.mean()) - 128) <= 1


@pytest.mark.parametrize("raw, key", [
    (bytes(50 * 2**20), "photos.too_large"),             # a 50 MB file
    (b"", "photos.empty"),
    (_png_claiming(100_000, 100_000), "photos.bomb"),  # ten billion pixels in 70 bytes: Pillow's own guard
    (_png_claiming(7_000, 6_000), "photos.too_many_pixels"),      # 42 megapixels: past MAX_PIXELS
    (HEIC, "photos.unreadable"),
    (b"<html>not a photo</html>", "photos.unreadable"),
    (_encoded(Image.new("RGB", (40, 40), (9, 9, 9)), "PNG")[:60], "photos.unreadable"),  # cut short
], ids=["50MB", "empty", "bomb", "42-megapixels", "heic", "html", "truncated"])
def test_a_file_that_cannot_be_a_photo_says_why_in_the_learners_words(raw, key):
    with pytest.raises(LearnerError) as caught:
        photos.decode(raw, "IMG_0001.HEIC")
    assert caught.value.words.key == key
    said = english(caught.value.words)
    assert said.startswith("IMG_0001.HEIC:") and "PIL" not in said and "Traceback" not in said


def test_class_names_are_cleaned_and_cut():
    assert photos.clean_name("  my   cat \n") == "my cat"
    assert photos.clean_name("x" * 2000) == "x" * photos.MAX_NAME
    assert photos.clean_name("<script>alert(1)</script>") == "<script>alert(1)</script>"[:photos.MAX_NAME]


@pytest.mark.parametrize("names, counts, keys", [
    (["cat"], [10], ["photos.too_few_classes"]),
    (["a", "b", "c", "d", "e", "f"], [5] * 6, ["photos.too_many_classes"]),
    (["cat", "dog"], [1, 1], ["photos.too_few_photos", "photos.too_few_photos"]),
    (["cat", ""], [10, 10], ["photos.no_name"]),
    (["Cat", "cat"], [10, 10], ["photos.same_name"]),
    (["", ""], [0, 7], ["photos.no_name", "photos.too_few_photos", "photos.no_name"]),  # empty names never clash
    (["cat", "dog"], [5, 100], []),
])
def test_what_stops_training_is_named(names, counts, keys):
    found = photos.check(names, counts)
    assert [w.key for w in found] == keys
    for said in found:
        english(said)  # every message fills


def test_the_held_out_split_is_stratified_and_named_by_digest():
    made = shapes(9, seed=1)
    group = [[photos.decode(raw) for raw in made["circle"]], [photos.decode(raw) for raw in made["square"][:5]]]
    settings = photos.PhotoSettings(classes=("circle", "square"), counts=(9, 5))
    task = photos.prepare(settings, group)
    assert len(task["y_test"]) == settings.n_test == 4 and len(task["y_train"]) == settings.n_train == 10
    assert set(task["y_test"].tolist()) == {0, 1} and set(task["y_train"].tolist()) == {0, 1}
    digests = {p.digest: c for c, photos_of in enumerate(group) for p in photos_of}
    assert [digests[d] for d in task["test_digests"]] == task["y_test"].tolist()
    assert task["x_train"].shape == (10, 3, 32, 32) and abs(float(task["x_train"].mean())) < 1.5
    with pytest.raises(ValueError):
        photos.prepare(photos.PhotoSettings(classes=("circle", "square"), counts=(9, 4)), group)


@pytest.mark.parametrize("counts", [(5, 5), (5, 100), (100, 5, 5, 5, 5), (5, 100, 100, 100, 100), (7, 9, 13)])
def test_every_class_keeps_photos_on_both_sides_of_the_split(counts):
    blank = np.zeros((photos.SIZE, photos.SIZE, 3), np.uint8)
    group = [[photos.Photo(blank, blank, "", f"{c}-{i}") for i in range(n)] for c, n in enumerate(counts)]
    settings = photos.PhotoSettings(classes=tuple(map(str, range(len(counts)))), counts=counts)
    task = photos.prepare(settings, group)
    classes = set(range(len(counts)))
    assert set(task["y_test"].tolist()) == classes and set(task["y_train"].tolist()) == classes
    assert len(task["y_test"]) == settings.n_test and len(task["y_train"]) == settings.n_train


@pytest.fixture(scope="module")
def learned(one_thread):
    """40 generated circles and 40 squares, both models trained with the page's default settings."""
    made = shapes(40)
    group = [[photos.decode(raw, f"{kind}{i}.png") for i, raw in enumerate(made[kind])] for kind in made]
    settings = photos.PhotoSettings(classes=("circle", "square"), counts=(40, 40))
    task = photos.prepare(settings, group)
    models = photos.build_models(settings)
    events = list(photos.train_events(settings, models, task, CPU))
    return settings, task, models, events, photos.results(settings, models, task), group


def test_own_photos_are_learned_above_chance_on_the_held_out_split(learned):
    settings, task, _, events, found, _ = learned
    assert events[-1]["kind"] == "end" and events[-1]["reason"] == "completed", events[-1]["message"]
    assert found["n_test"] == 20 and found["chance"] == 50.0
    accuracy = {mode: found["models"][mode]["accuracy"] for mode in photos.MODES}
    print(f"own-photo held-out accuracy (20 photos, chance 50%): {accuracy}")
    assert accuracy["frozen"] > found["chance"] and accuracy["finetune"] >= 80, accuracy
    for mode in photos.MODES:
        got = found["models"][mode]
        matrix = np.array(got["confusion"])
        assert matrix.sum() == 20 and matrix.sum(axis=1).tolist() == [10, 10]
        assert got["accuracy"] == pytest.approx(100 * np.trace(matrix) / 20)
        assert got["per_class"] == pytest.approx([100 * matrix[c, c] / 10 for c in range(2)])
        assert len(got["wrong"]) == 20 - np.trace(matrix)
        assert all(w["truth"] != w["answer"] and w["truth"] == found["truth"][w["position"]] for w in got["wrong"])
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert {e["model"] for e in epochs} == set(photos.MODES) and len(epochs) == 2 * settings.epochs


def test_a_kept_model_reads_a_new_photo_and_shows_its_feature_maps(learned):
    settings, task, models, _, _, group = learned
    kept = photos.restore({k: v.clone() for k, v in models["finetune"].state_dict().items()}, 2, "finetune")
    new = photos.decode(shape_png("square", np.random.default_rng(99)))
    probs = photos.probabilities(kept, new)
    assert probs.shape == (2,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert probs == pytest.approx(photos.probabilities(models["finetune"], new), abs=1e-6)
    maps = photos.feature_maps(kept, group[0][0])
    assert [name for name, _ in maps] == ["stem", "stage1", "stage2", "stage3"]
    for _, found in maps:
        assert found.shape == (8, 48, 48) and found.min() >= 0 and found.max() <= 1
    assert len(np.unique(maps[-1][1][0])) <= 16  # a 4x4 map enlarged without smoothing


def test_the_estimate_is_positive_and_grows_with_the_photos_and_epochs():
    small = photos.PhotoSettings(classes=("a", "b"), counts=(5, 5), epochs=5)
    large = photos.PhotoSettings(classes=("a", "b", "c", "d", "e"), counts=(100,) * 5, epochs=60)
    assert 0 < photos.estimate_seconds(small, CPU) < photos.estimate_seconds(large, CPU)
    assert set(photos.work(large, CPU)) == set(photos.MODES)


# --- the page ------------------------------------------------------------------------------

def _files(items: list[bytes], stem: str = "photo") -> list[tuple[str, bytes, str]]:
    return [(f"{stem}{i}.png", raw, "image/png") for i, raw in enumerate(items)]


def _said(at) -> str:
    return "\n".join(e.value for e in [*at.warning, *at.info, *at.error, *at.caption, *at.markdown])


def _fine(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_page_handles_every_bad_input_then_trains_and_reads_a_new_photo(lang):
    words = sections(lang, "photos")
    at = open_page("views/resnet/resnet.py", timeout=300, query={"lang": lang})
    _fine(at)
    assert words["privacy"] in _said(at)
    made = shapes(12, seed=3)

    def upload(number: int, files):
        at.file_uploader(key=f"photos_files_{number}").set_value(files)

    def button():
        return at.button(key="photos_train")

    # One class: names and photos for class 1 only.
    at.text_input(key="photos_name_1").set_value("circle")
    upload(1, _files(made["circle"][:6]))
    at.run()
    _fine(at)
    assert words["too_few_classes"].split("{")[0] in _said(at) and button().disabled

    # One photo per class.
    at.text_input(key="photos_name_2").set_value("square")
    upload(1, _files(made["circle"][:1]))
    upload(2, _files(made["square"][:1]))
    at.run()
    _fine(at)
    assert _said(at).count(words["too_few_photos"].split("(")[0].replace("{number}", "1")) >= 1 and button().disabled

    # A 50 MB photo, a HEIC photo and a broken one beside good ones: left out, each named.
    upload(1, _files(made["circle"][:6]) + [("huge.png", bytes(50 * 2**20), "image/png"),
                                            ("IMG_0001.HEIC", HEIC, "image/heic"),
                                            ("broken.png", made["circle"][0][:50], "image/png")])
    upload(2, _files(made["square"][:6]))
    at.run()
    _fine(at)
    said = _said(at)
    assert "huge\\.png" in said and "IMG\\_0001\\.HEIC" in said and "broken\\.png" in said
    assert "50.0 MB" in said and "HEIC" in said and not button().disabled  # six good photos each: it may train

    # A name of markup (shown in a message, as typed) and one of 2,000 characters (cut).
    at.text_input(key="photos_name_1").set_value("<script>alert(1)</script>")
    at.text_input(key="photos_name_2").set_value("x" * 2000)
    upload(1, _files(made["circle"][:2]))
    at.run()
    _fine(at)
    said = _said(at)
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in said and "<script>" not in said
    assert at.text_input(key="photos_name_2").value == "x" * photos.MAX_NAME and button().disabled

    # More than 100 photos in a class: the first 100 are used, and the page says so.
    many = [shape_png("square", np.random.default_rng(100 + i), size=16) for i in range(photos.MAX_PER_CLASS + 3)]
    upload(2, _files(many, "many"))
    at.run()
    _fine(at)
    assert fill(words["kept_first"], {"number": 2, "found": 103, "most": 100}) in _said(at)
    assert fill(words["count"], {"count": 100}) in _said(at)

    # The same name twice (letter case aside), and a class with photos but no name.
    at.text_input(key="photos_name_1").set_value("Shape")
    at.text_input(key="photos_name_2").set_value("shape")
    upload(2, _files(made["square"][:6]))
    at.run()
    _fine(at)
    assert fill(words["same_name"], {"first": 1, "number": 2, "name": "Shape"}) in _said(at) and button().disabled
    at.text_input(key="photos_name_2").set_value("")
    at.run()
    _fine(at)
    assert fill(words["no_name"], {"number": 2}) in _said(at) and button().disabled

    # Good classes: train, see the results, read a new photo.
    at.text_input(key="photos_name_1").set_value("circle")
    at.text_input(key="photos_name_2").set_value("square")
    upload(1, _files(made["circle"]))
    upload(2, _files(made["square"]))
    at.run()
    _fine(at)
    assert not button().disabled
    button().click().run()
    _fine(at)
    metrics = {m.label: m.value for m in at.metric}
    names = {m: sections(lang, "transfer")[f"model_{m}"] for m in photos.MODES}
    assert all(metrics.get(names[m], "").endswith("%") for m in photos.MODES), metrics
    said = _said(at)
    assert words["confusion_caption"] in said and words["maps_text"] in said
    tables = [tb.value for tb in at.table]
    assert any(list(tb.columns) == ["circle", "square"] for tb in tables), tables
    at.file_uploader(key="photos_new").set_value(("new.png", shape_png("square", np.random.default_rng(7)),
                                                  "image/png"))
    at.run()
    _fine(at)
    assert any(names["finetune"] in m.value and "%" in m.value for m in at.markdown)
    [shown] = [d.value for d in at.dataframe if words["chart_probability"] in d.value.columns]
    assert list(shown[words["chart_class"]]) == ["circle", "square"]
    assert shown[words["chart_probability"]].sum() == pytest.approx(1.0, abs=1e-5)
    at.file_uploader(key="photos_new").set_value(("new.heic", HEIC, "image/heic"))
    at.run()
    _fine(at)
    assert "new\\.heic" in _said(at)

    # The camera: a shot joins class 1, the next one is read.
    def shot(kind: str, seed: int) -> tuple[str, bytes, str]:
        img = Image.open(io.BytesIO(shape_png(kind, np.random.default_rng(seed)))).convert("RGB")
        return (f"{kind}.jpg", _encoded(img, "JPEG"), "image/jpeg")

    at.file_uploader(key="photos_new").set_value(None)
    at.toggle(key="photos_camera_on").set_value(True).run()
    _fine(at)
    at.radio(key="photos_camera_target").set_value(1)
    at.camera_input(key="photos_camera_shot").set_value(shot("circle", 11))
    at.run()
    _fine(at)
    assert fill(words["count"], {"count": 13}) in _said(at)  # class 1: twelve uploads and the shot
    assert fill(words["other_settings"], {"classes": "circle, square", "photos": 24}) in _said(at)
    at.radio(key="photos_camera_target").set_value("new")
    at.camera_input(key="photos_camera_shot").set_value(shot("square", 12))
    at.run()
    _fine(at)
    assert fill(words["count"], {"count": 13}) in _said(at)  # the photo to read joins no class
    assert any(names["finetune"] in m.value and "%" in m.value for m in at.markdown)
    [run] = at.session_state["resnet_photo_runs"]["runs"]
    assert run.settings.classes == ("circle", "square") and run.settings.counts == (12, 12)
    assert set(run.state_dict) == set(photos.MODES) and "photos" not in str(run.results.keys())

    # The run comes back in a new session of the workspace; its photos do not (they were never kept).
    again = reopen_workspace(at, "views/resnet/resnet.py", ["resnet_photo_runs"])
    lang_again = again.session_state["lang"]  # the personal link names no language
    assert {m.label for m in again.metric} >= {sections(lang_again, "transfer")[f"model_{m}"] for m in photos.MODES}
    assert sections(lang_again, "photos")["gone"] in _said(again) and not again.exception
