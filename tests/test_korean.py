"""The Korean pages read like a good Korean textbook: bold that renders, one term per idea (the
glossary's), an English gloss once a page, particles that fit the number or name before them,
no semicolons in running text. tests/test_content.py holds both languages to the same sections."""
import datetime
import re
import string
import tomllib

import pytest

from core import glossary
from core.words import CONTENT_DIR, fill, particle, sections

FILES = sorted(p.stem for p in (CONTENT_DIR / "en").glob("*.md"))
SHARED = ["app", "common", "engine", "share"]  # the sidebar, training and Share box: on every page
PAGES = {  # each page and the content files it shows, in the order it shows them
    "home": ["home"], "lessons": ["lessons"], "glossary": ["glossary"], "perceptron": ["perceptron", "backprop"],
    "ann": ["ann", "regression", "digits"], "cnn": ["cnn", "augment", "digits"],
    "resnet": ["resnet", "photos", "transfer"], "rnn": ["rnn"], "stocks": ["stocks"],
}
# What is not running text: code, formulas, links and "names" (a quoted value, as code writes it)
NOT_PROSE = re.compile(r"`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|https?://\S+|\"[A-Za-z_]+\"", re.DOTALL)


# ---- particles after a placeholder: core.words.particle, wired into the content's {x:spec|은}

@pytest.mark.parametrize("number, read, topic, subject, object_, with_, by", [
    ("0", "영", "은", "이", "을", "과", "으로"), ("1", "일", "은", "이", "을", "과", "로"),
    ("2", "이", "는", "가", "를", "와", "로"), ("3", "삼", "은", "이", "을", "과", "으로"),
    ("4", "사", "는", "가", "를", "와", "로"), ("5", "오", "는", "가", "를", "와", "로"),
    ("6", "육", "은", "이", "을", "과", "으로"), ("7", "칠", "은", "이", "을", "과", "로"),
    ("8", "팔", "은", "이", "을", "과", "로"), ("9", "구", "는", "가", "를", "와", "로"),
    ("10", "십", "은", "이", "을", "과", "으로"), ("100", "백", "은", "이", "을", "과", "으로"),
    ("1000", "천", "은", "이", "을", "과", "으로"), ("1,000", "천", "은", "이", "을", "과", "으로"),
    ("10000", "만", "은", "이", "을", "과", "으로"), ("60,000", "만", "은", "이", "을", "과", "으로"),
    ("120000000", "억", "은", "이", "을", "과", "으로"), ("12", "이", "는", "가", "를", "와", "로"),
    ("25", "오", "는", "가", "를", "와", "로"), ("0.1", "일", "은", "이", "을", "과", "로"),
    ("0.02", "이", "는", "가", "를", "와", "로"), ("0.03", "삼", "은", "이", "을", "과", "으로"),
    ("0.005", "오", "는", "가", "를", "와", "로"), ("2.30", "영", "은", "이", "을", "과", "으로"),
    ("57.23", "삼", "은", "이", "을", "과", "으로"), ("1e-06", "육", "은", "이", "을", "과", "으로"),
    ("72.47%", "퍼센트", "는", "가", "를", "와", "로"), ("13%p", "퍼센트포인트", "는", "가", "를", "와", "로"),
])
def test_a_number_takes_the_particle_of_its_last_sound(number, read, topic, subject, object_, with_, by):
    assert [particle(number, p) for p in ("은", "이", "을", "과", "으로")] == [topic, subject, object_, with_, by], read
    assert [particle(number, p) for p in ("는", "가", "를", "와", "로")] == [topic, subject, object_, with_, by], read


@pytest.mark.parametrize("word, topic, by", [
    ("사과", "는", "로"), ("책", "은", "으로"), ("물", "은", "로"), ("삼성전자", "는", "로"), ("LSTM 셀", "은", "로"),
    ("드롭아웃", "은", "으로"), ("이미지 5,000장", "은", "으로"), ("(1, 28, 28)", "은", "로"),
    ("LSTM", "은", "으로"), ("GRU", "는", "로"), ("CNN", "은", "으로"), ("MLP", "는", "로"), ("RNN", "은", "으로"),
    ("XOR", "은", "로"), ("x", "는", "로"), ("AdamW", "는", "로"), ("Adam", "은", "으로"), ("ResNet", "은", "으로"),
    ("RMSprop", "은", "으로"), ("SGD", "는", "로"), ("ReLU", "는", "로"), ("ResNet-18", "은", "로"),
    ("두 덩어리(blobs)", "는", "로"), ("셀 상태(cell state)", "는", "로"), ("순전파(forward pass)", "는", "로"),
    ("CIFAR-10", "은", "으로"), ("`kernel_size`", "는", "로"), ("'128, 64'", "는", "로"),
])
def test_hangul_and_latin_names_take_the_particle_of_their_last_sound(word, topic, by):
    assert (particle(word, "은"), particle(word, "으로")) == (topic, by)


def test_a_value_whose_sound_is_unknown_gets_both_forms():
    both = ["은(는)", "이(가)", "을(를)", "과(와)", "(으)로"]
    assert [particle("→", p) for p in ("은", "이", "을", "와", "로")] == both


def test_content_writes_the_particle_in_the_placeholder():
    text = "학습률 {lr:g|은} 크고, {model:|이} 이겼고, {ann:.2f|와} {after:.6g|로}, {n:,|을} 썼습니다."
    assert fill(text, {"lr": 2, "model": "GRU", "ann": 57.2, "after": 0.3, "n": 1000}) == (
        "학습률 2는 크고, GRU가 이겼고, 57.20과 0.3으로, 1,000을 썼습니다.")
    assert fill(text, {"lr": 0.1, "model": "LSTM", "ann": 58.17, "after": 0.5, "n": 62}) == (
        "학습률 0.1은 크고, LSTM이 이겼고, 58.17과 0.5로, 62를 썼습니다.")
    assert fill("{d:%Y-%m-%d} {x:{w}} {{x}}", {"d": datetime.date(2023, 1, 2), "x": 3, "w": 2}) == "2023-01-02  3 {x}"


@pytest.mark.parametrize("name", FILES)
def test_every_korean_particle_after_a_placeholder_is_chosen_from_the_value(name):
    """`{x}은`, `{x}을(를)` and the like are wrong for some values: the particle goes in the placeholder."""
    fixed = r"\}`?\**(?:\((?:은|는|이|가|을|를|와|과|으)\)[가-힣]*|(?:은|는|이|가|을|를|와|과|으로|로)(?![가-힣]))"
    found = {key: re.findall(r"\{[^{}]*" + fixed, text) for key, text in sections("ko", name).items()}
    assert not {key: hits for key, hits in found.items() if hits}


# ---- bold that renders: every section through a CommonMark renderer, as Streamlit draws it

def _samples(text: str, ending: str) -> dict:
    """A value for every placeholder in `text` that its format spec accepts; text ends in `ending`."""
    values = {}
    for _, field, spec, _ in string.Formatter().parse(text):
        spec = (spec or "").partition("|")[0]
        if field is None or field in values:
            continue
        if "%Y" in spec or "%m" in spec:
            values[field] = datetime.date(2023, 1, 2)
        elif spec[-1:] in ("e", "E", "f", "F", "g", "G", "%"):
            values[field] = 0.25
        elif spec[-1:] in ("d", ",") or spec.endswith(",d"):
            values[field] = 1234
        else:
            values[field] = "값" + ending
    return values


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("language", ["en", "ko"])
def test_no_section_shows_a_literal_asterisk(language, name):
    """CommonMark closes ** only where it is right-flanking: `**셀 상태(cell state)**를` stays
    literal, because the ** follows a bracket and is followed by a letter."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark").enable("table")
    broken = {}
    for key, text in sections(language, name).items():
        for ending in ("", ")", "%"):  # a value may itself end in a bracket or a percent sign
            html = markdown.render(fill(text, _samples(text, ending)))
            shown = re.sub(r"<code>.*?</code>|<pre>.*?</pre>", "", html, flags=re.DOTALL)
            if "**" in shown or re.search(r"[가-힣]\*|\*[가-힣]", shown):
                broken[key] = re.findall(r".{0,30}\*.{0,30}", shown)[:3]
    assert not broken


# ---- one Korean term per idea, the glossary's

def _korean_texts() -> dict[str, str]:
    """Every Korean text a learner reads, by where it is: content/ko/*.md sections and the recipes'
    Korean comments (content/ko/recipes/*.toml), without code, formulas and links."""
    texts = {f"{name}.md [[{key}]]": text for name in FILES for key, text in sections("ko", name).items()}
    for path in sorted((CONTENT_DIR / "ko" / "recipes").glob("*.toml")):
        for english, korean in tomllib.loads(path.read_text(encoding="utf-8")).items():
            texts[f"recipes/{path.name}: {english[:40]}"] = korean
    return {where: NOT_PROSE.sub(" ", text) for where, text in texts.items()}


def test_korean_writes_each_idea_the_one_way_the_glossary_gives():
    found = []
    texts = _korean_texts()
    for entry in glossary.wording():
        gloss = f"{entry['ko']}({entry['en']})"
        for where, text in texts.items():
            text = text.replace(gloss, entry["ko"])  # the term's own English gloss is not a variant
            found += [(where, entry["ko"], word) for word in entry.get("avoid", []) if word.lower() in text.lower()]
            found += [(where, entry["ko"], m.group()) for pattern in entry.get("avoid_re", [])
                      for m in re.finditer(pattern, text)]
    assert not found, "\n".join(f"{where}: {bad!r} (write {ko!r})" for where, ko, bad in found)


def test_the_glossary_names_the_variants_the_pages_once_drifted_to():
    avoided = {entry["en"]: entry.get("avoid", []) + entry.get("avoid_re", []) for entry in glossary.wording()}
    for english, variants in {
        "skip connection": ["숏컷", "지름길", "잔차 경로", "skip connection"], "feature map": ["특성 맵"],
        "forget gate": ["forget 게이트"], "parameter": ["매개변수"], "early stopping": ["early stopping"],
        "shape": ["형태", "출력 크기 계산기"], "scaling": ["정규화/스케일링"], "section (of a page: 3절)": ["섹션"],
        "Deep Learning Playground (the app)": ["플레이그라운드"], "percentage points": ["%포인트"],
    }.items():
        assert set(variants) <= set(avoided[english]), english
    for english in ("sigmoid", "softmax", "window", "a percentage: no space before %"):
        assert avoided[english], english
    assert glossary.search("scaling")[0]["ko"] == "스케일링"  # not 정규화, which is normalization


def test_an_english_gloss_comes_once_a_page():
    """패딩(padding) at the first use on a page, then 패딩: count each term's English in brackets."""
    twice = {}
    for page, files in PAGES.items():
        text = NOT_PROSE.sub(" ", "\n".join(t for name in files + SHARED for t in sections("ko", name).values()))
        for term in glossary.terms():
            english = term["en"].split(" (")[0]
            for word in english.split("/"):
                count = len(re.findall(r"[(,]\s*" + re.escape(word) + r"\s*[),]", text))
                if count > 1:
                    twice[(page, word)] = count
    assert not twice


def test_no_semicolons_in_korean_running_text():
    found = {where: text.strip()[:60] for where, text in _korean_texts().items()
             if re.search(r"[가-힣][^;\n]*;|;[^;\n]*[가-힣]", text)}
    assert not found
