"""The words in both languages: the same sections and placeholders, recipes' comments
translated, and every page in Korean showing Korean (tests/test_app_shell.py checks English)."""
import re
import string

import pytest

from conftest import open_page
from core import recipes
from core.words import CONTENT_DIR, sections

PAGES = ["views/home/home.py", "views/perceptron/perceptron.py", "views/ann/ann.py", "views/cnn/cnn.py",
         "views/resnet/resnet.py", "views/rnn/rnn.py", "views/stocks/stocks.py", "views/glossary/glossary.py"]
FILES = sorted(p.stem for p in (CONTENT_DIR / "en").glob("*.md"))
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Words a Korean page may show in Latin letters: names of libraries, data sets, models, layers,
# optimizers and units, as the course notes write them.
ALLOWED = {
    "PyTorch", "torch", "torchvision", "nn", "Streamlit", "Jupyter", "Colab", "FinanceDataReader",
    "scikit-learn", "MNIST", "CIFAR", "ImageNet", "KRX", "NASDAQ", "XOR", "AND", "OR", "NAND",
    "ANN", "MLP", "CNN", "RNN", "LSTM", "GRU", "ResNet", "VGG", "LeNet", "SimpleANN", "SimpleCNN",
    "ReLU", "LeakyReLU", "Leaky", "ELU", "GELU", "Sigmoid", "sigmoid", "Tanh", "tanh", "Softmax", "softmax",
    "SGD", "Adam", "AdamW", "RMSprop", "momentum", "BatchNorm", "BN", "Dropout", "Linear", "Conv2d",
    "MaxPool", "AvgPool", "Flatten", "MSE", "MAE", "BCE", "CE", "RMSE", "MAPE", "CPU", "GPU", "CUDA",
    "MPS", "ETA", "CSV", "English", "PNG", "JPEG", "URL", "OK", "x", "y", "z", "w", "b", "h", "c", "T", "N", "H",
    "W", "C", "d", "k", "p", "s", "e", "n", "lr", "log", "ln", "sin", "cos", "exp", "max", "min",
}


def _latin_words(text: str) -> list[str]:
    """The Latin-letter words a reader would see, leaving out code, formulas and allowed names."""
    text = re.sub(r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|https?://\S+", " ", text, flags=re.DOTALL)
    text = re.sub(r"\d[\d.,]*e[+-]?\d+", " ", text)  # 4.5e-08 is a number, not a word
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_\-']*", text)
            if w not in ALLOWED and w.strip("-'") not in ALLOWED]


def _texts(node) -> list[str]:
    """Every text a learner reads in an AppTest element tree: values, labels, help, options."""
    found = []
    for attr in ("value", "label", "help", "body"):
        value = getattr(node, attr, None) if attr != "value" or type(node).__name__ in (
            "Markdown", "Caption", "Header", "Subheader", "Title", "Alert", "Info", "Warning", "Error",
            "Success", "Toast") else None
        if isinstance(value, str) and value and not (attr == "body" and value.startswith(("<script>", "<style>"))):
            found.append(value)  # a script or a style in st.html is not text a learner reads
    options = getattr(node, "options", None)
    if type(node).__name__ in ("Radio", "Selectbox", "Multiselect", "SelectSlider", "ButtonGroup") and options:
        found += [str(o) for o in options]
    for child in getattr(node, "children", {}).values():
        found += _texts(child)
    return found


@pytest.mark.parametrize("name", FILES)
def test_both_languages_have_the_same_sections_and_placeholders(name):
    english = sections("en", name)
    korean = sections("ko", name)
    assert sorted(set(english) - set(korean)) == [], "sections missing in content/ko"
    assert sorted(set(korean) - set(english)) == [], "sections only in content/ko"
    for key, text in english.items():
        fields_en = sorted({f for _, f, _, _ in string.Formatter().parse(text) if f})
        fields_ko = sorted({f for _, f, _, _ in string.Formatter().parse(korean[key]) if f})
        assert fields_en == fields_ko, (name, key)


@pytest.mark.parametrize("name", recipes.names())
def test_every_recipe_comment_has_a_korean_translation(name):
    table = recipes.translations(name, "ko")
    comments = recipes.comments(recipes.source(name))
    missing = [c for c in comments if not HANGUL.search(table.get(c, "")) and _latin_words(c)]
    assert not missing, f"content/ko/recipes/{name}.toml lacks: {missing[:5]}"
    stale = sorted(set(table) - set(comments))
    assert not stale, f"content/ko/recipes/{name}.toml translates comments the recipe no longer has: {stale[:5]}"
    code = recipes.render(name, language="ko")
    compile(code, f"{name}.py", "exec")
    assert recipes.settings(name).keys() <= set(re.findall(r"^([A-Z][A-Z0-9_]*) = ", code, re.M))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_reads_in_korean(page):
    at = open_page(page, query={"lang": "ko"})
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["lang"] == "ko"
    english = {}
    for text in _texts(at.main) + _texts(at.sidebar):
        if not HANGUL.search(text) and _latin_words(text):
            english[text[:80]] = _latin_words(text)[:6]
    assert not english, f"English on the Korean page: {english}"


def test_glossary_holds_the_course_terms_in_both_languages():
    from core import glossary

    terms = glossary.terms()
    pages = {p.parent.name for p in (CONTENT_DIR.parent / "views").glob("*/*.py") if p.stem == p.parent.name}
    for term in terms:
        assert HANGUL.search(term["ko"]) and HANGUL.search(term["meaning_ko"]), term
        assert term["en"] and term["meaning_en"] and not HANGUL.search(term["en"] + term["meaning_en"]), term
        assert term["page"] in pages, term
    english = {term["en"] for term in terms}
    for required in ("vanishing gradient", "activation function", "loss function", "backpropagation",
                     "gradient descent", "learning rate", "epoch", "batch size", "hidden layer", "overfitting",
                     "early stopping", "convolution", "filter/kernel", "feature map", "padding", "stride",
                     "pooling", "skip connection", "batch normalization", "long-term dependency", "gate",
                     "scaling", "data leakage"):
        assert required in english, required
    assert {"gradient descent", "backpropagation", "vanishing gradient"} <= {t["en"] for t in glossary.search("기울기")}
    assert glossary.search("STRIDE")[0]["ko"] == "스트라이드"
    assert glossary.search("x" * 10_000) == []


def test_glossary_page_searches_in_korean():
    at = open_page("views/glossary/glossary.py", query={"lang": "ko"})
    assert at.title[0].value.startswith("📖 용어집")
    at.text_input(key="glossary_query").input("패딩").run()
    assert not at.exception
    assert any("패딩" in m.value and "padding" in m.value for m in at.markdown)
