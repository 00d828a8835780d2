"""Shareable setups: every page's settings survive a round trip through the Share link, hostile
links give notices and defaults, the CNN stack travels as text, and values parse safely."""
import datetime as dt
import math

import pytest

from conftest import link_query, open_link, share_link, widget
from core import shapes
from ui import share

# Per page: settings moved away from their defaults (key -> value as the widget holds it).
ROUND_TRIP = {
    "views/perceptron/perceptron.py": {"perceptron_dataset": "XOR", "perceptron_mlp_hidden": 2,
                                       "perceptron_temperature": 2.5,
                            "perceptron_act_range": (-3.0, 4.5), "perceptron_logits": "1, 2, 3",
                            "perceptron_mlp_activation": "relu", "perceptron_rule_start": "sliders",
                            "perceptron_mlp_lr": 0.3, "perceptron_bp_open": True, "perceptron_bp_hidden": 3,
                            "perceptron_sine_open": True, "perceptron_sine_method": "adam"},
    "views/ann/ann.py": {"ann_hidden": "64", "ann_epochs": 3, "ann_lr": 0.001, "ann_optimizer": "adam",
                     "ann_dropout": 0.2, "ann_normalization": "mnist", "reg_epochs": 50, "ann_draw_input": "photo"},
    "views/cnn/cnn.py": {"cnn_preset": "simplecnn_cifar", "cnn_pool_k": 3, "cnn_conv_padding": 1,
                     "cnn_dataset": "cifar", "cnn_pad_p": 2, "cnn_shared_scale": False},
    "views/resnet/resnet.py": {"resnet_depth": 30, "resnet_activation": "relu", "resnet_kind": "conv",
                        "resnet_channels": 16, "resnet_bn": True, "transfer_epochs": 5},
    "views/rnn/rnn.py": {"rnn_seq_len": 30, "rnn_hidden": 16, "rnn_mem_T": 20, "rnn_batch": "full", "rnn_layers": 2},
    "views/stocks/stocks.py": {"stocks_window": 20, "stocks_leaky_demo": True, "stocks_target": "return",
                        "stocks_start": dt.date(2021, 1, 4), "stocks_features": ["Open", "Volume"],
                        "stocks_hidden": 16},
    "views/glossary/glossary.py": {"glossary_query": "relu"},
}


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("page", ROUND_TRIP)
def test_a_pages_settings_survive_the_share_link(page):
    at = open_link(page, {"lang": "en"})
    assert not at.exception, at.exception
    for key, value in ROUND_TRIP[page].items():
        widget(at, key).set_value(value)
        at.run()  # one at a time: a later widget may appear only after an earlier one changed
        assert not at.exception, (key, at.exception)
    query = link_query(share_link(at))
    assert set(ROUND_TRIP[page]) <= set(query), query  # every changed setting is in the link
    assert query["lang"] == "en"
    assert dict(at.query_params) == query  # and the URL says the same

    again = open_link(page, query)  # a fresh session opening the link
    assert not again.exception, again.exception
    assert not again.warning.values or all("link" not in w for w in again.warning.values), again.warning.values
    for key, value in ROUND_TRIP[page].items():
        assert _same(widget(again, key).value, value), (key, widget(again, key).value, value)
    assert link_query(share_link(again)) == query  # the same link again: nothing lost, nothing added


def test_only_changed_settings_are_in_the_link():
    at = open_link("views/perceptron/perceptron.py", {"lang": "ko"})
    assert link_query(share_link(at)) == {"lang": "ko"}
    at.slider(key="perceptron_depth").set_value(11).run()
    at.slider(key="perceptron_depth").set_value(10).run()  # back at its default
    assert link_query(share_link(at)) == {"lang": "ko"}


def test_a_korean_link_opens_the_same_setup_in_english():
    """Option values travel raw (XOR, relu), never as the translated labels."""
    at = open_link("views/perceptron/perceptron.py", {"lang": "ko", "perceptron_dataset": "XOR",
                                           "perceptron_mlp_activation": "relu"})
    query = link_query(share_link(at))
    query["lang"] = "en"
    again = open_link("views/perceptron/perceptron.py", query)
    assert again.selectbox(key="perceptron_dataset").value == "XOR"
    assert again.selectbox(key="perceptron_mlp_activation").value == "relu"
    assert not again.warning.values or "link" not in " ".join(again.warning.values)


HOSTILE = [  # (query, setting and the value it must keep, words the notice must name)
    ({"perceptron_depth": "999"}, ("perceptron_depth", 50), ["perceptron_depth=999", "50"]),
    ({"perceptron_depth": "-5"}, ("perceptron_depth", 1), ["perceptron_depth=-5"]),
    ({"perceptron_depth": "ten"}, ("perceptron_depth", 10), ["perceptron_depth=ten"]),
    ({"perceptron_depth": "nan"}, ("perceptron_depth", 10), ["perceptron_depth=nan"]),
    ({"perceptron_depth": "1e400"}, ("perceptron_depth", 10), ["perceptron_depth"]),
    ({"perceptron_depth": "2.5"}, ("perceptron_depth", 10), ["perceptron_depth=2.5"]),
    ({"perceptron_dataset": "__import__('os').system('id')"}, ("perceptron_dataset", "AND"),
     ["perceptron_dataset"]),
    ({"perceptron_mlp_activation": "ReLU"}, ("perceptron_mlp_activation", "tanh"), ["perceptron_mlp_activation"]),
    ({"perceptron_logits": "9" * 5000}, ("perceptron_depth", 10), ["perceptron_logits"]),
    ({"<script>alert(1)</script>": "1"}, ("perceptron_depth", 10), ["`<script>alert(1)</script>`"]),
    ({"evil_" + "x" * 500: "y"}, ("perceptron_depth", 10), ["evil_" + "x" * (share.SHOWN - 5) + "…"]),
    ({"perceptron_act_range": "5,-5,3"}, ("perceptron_act_range", (-5.0, 5.0)), ["perceptron_act_range"]),
    ({"perceptron_mlp_show_hidden": "true"}, ("perceptron_depth", 10), ["perceptron_mlp_show_hidden"]),
    ({"lesson": "no_such_lesson"}, ("perceptron_depth", 10), ["lesson=no_such_lesson"]),
    ({"lesson": "leaky_scaler"}, ("perceptron_depth", 10), ["lesson=leaky_scaler"]),  # another page's lesson
]


@pytest.mark.parametrize("query,kept,named", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_a_hostile_link_gets_a_notice_and_safe_values(query, kept, named):
    at = open_link("views/perceptron/perceptron.py", {"lang": "en", **query})
    assert not at.exception, at.exception
    key, value = kept
    assert _same(widget(at, key).value, value)
    notices = [w for w in at.warning.values if "link" in w]
    assert len(notices) == 1, at.warning.values
    for words in named:
        assert words in notices[0], (words, notices[0])
    assert dict(at.query_params) == link_query(share_link(at))
    assert all(at.query_params.get(k) != v for k, v in query.items())  # no bad value stays in the URL


def test_hundreds_of_parameters_are_looked_at_in_bulk():
    query = {"lang": "en", **{f"p{i}": str(i) for i in range(900)}}
    at = open_link("views/glossary/glossary.py", query)
    assert not at.exception
    notice = next(w for w in at.warning.values if "link" in w)
    assert f"and {900 - share.NAMED} more" in notice  # MAX_PARAMS looked at, the rest counted
    assert dict(at.query_params) == {"lang": "en"}


def test_ten_thousand_parameters_leave_a_clean_page():
    """Streamlit itself drops a query string of more than 1,000 parameters: a default page."""
    at = open_link("views/glossary/glossary.py", {"lang": "en", **{f"p{i}": str(i) for i in range(10_000)}})
    assert not at.exception
    assert set(at.query_params) <= {"lang"}


def test_a_stack_of_ten_thousand_cnn_layers_is_cut_to_the_editors_share():
    stack = "1x28x28." + ".".join(["conv-4-3-1-1", "relu"] * 5_000)
    at = open_link("views/cnn/cnn.py", {"lang": "en", "cnn_net": stack})
    assert not at.exception, at.exception
    notice = next(w for w in at.warning.values if "link" in w)
    assert "cnn_net" in notice and str(shapes.MAX_SHARED_LAYERS) in notice
    assert len(at.session_state["cnn_layers"]) == shapes.MAX_SHARED_LAYERS
    assert at.query_params["cnn_net"].count(".") == shapes.MAX_SHARED_LAYERS  # the kept ones, in the link


def test_the_cnn_stack_travels_in_the_link():
    net = "3x32x32.conv-8-3-1-1.relu.maxpool-2-2-0.flatten.linear-10"
    at = open_link("views/cnn/cnn.py", {"lang": "en", "cnn_net": net})
    assert not at.exception
    assert [at.number_input(key=f"cnn_in_{d}").value for d in "chw"] == [3, 32, 32]
    assert link_query(share_link(at))["cnn_net"] == net
    assert "8 × 16 × 16" in " ".join(str(t.value) for t in at.table) or at.session_state["cnn_layers"][0][
        "out_channels"] == 8
    assert "cnn_net" not in link_query(share_link(open_link("views/cnn/cnn.py", {"cnn_preset": "vgg_block"})))


@pytest.mark.parametrize("text", ["", "x", "1x28", "0x28x28.relu", "1x28x28.conv-1-2-3-4-5",
                                  "1x28x28.eval-1", "1x28x28.linear-99999999", "1x28x28.conv-a-3"])
def test_bad_stack_text_is_refused(text):
    with pytest.raises(ValueError):
        shapes.parse_stack_text(text)


def test_stack_text_round_trip_for_every_preset():
    for name in shapes.PRESETS:
        shape, layers = shapes.preset(name)
        text = shapes.stack_text(shape, layers)
        parsed_shape, parsed, dropped = shapes.parse_stack_text(text)
        assert (parsed_shape, dropped) == (shape, 0)
        assert shapes.stack_text(parsed_shape, parsed) == text
        assert shapes.trace(parsed_shape, parsed) == shapes.trace(shape, layers)


SPECS = {
    "int": share.Spec("number", 10, low=1, high=50, integer=True),
    "float": share.Spec("number", 0.1, low=0.0, high=1.0),
    "option": share.Spec("option", 0.03, options=[0.001, 0.03, 1.0]),
    "bool": share.Spec("bool", False),
    "text": share.Spec("text", "", max_chars=20),
    "range": share.Spec("range", (-5.0, 5.0), low=-10.0, high=10.0),
    "options": share.Spec("options", ["Open"], options=["Open", "High", "Low"]),
    "date": share.Spec("date", dt.date(2020, 1, 1), low=dt.date(2015, 1, 1), high=dt.date(2026, 1, 1)),
}
PARSE = [  # (spec, URL text, value, problem)
    ("int", "12", 12, None), ("int", "12.0", 12, None), ("int", "60", 50, "share.problem_clamped"),
    ("int", "1.5", None, "share.problem_invalid"), ("int", "inf", None, "share.problem_invalid"),
    ("float", "0.25", 0.25, None), ("float", "-3", 0.0, "share.problem_clamped"),
    ("float", "nan", None, "share.problem_invalid"), ("float", "0x10", None, "share.problem_invalid"),
    ("option", "1.0", 1.0, None), ("option", "1", 1.0, None), ("option", "0.030", 0.03, None),
    ("option", "2", None, "share.problem_option"),
    ("bool", "true", True, None), ("bool", "0", False, None), ("bool", "maybe", None, "share.problem_invalid"),
    ("text", "hello", "hello", None), ("text", "a" * 30, "a" * 20, "share.problem_long"),
    ("range", "3,-2", (-2.0, 3.0), None), ("range", "1", None, "share.problem_invalid"),
    ("range", "-20,2", (-10.0, 2.0), "share.problem_clamped"),
    ("options", "High,Low", ["High", "Low"], None), ("options", "High,Nope", ["High"], "share.problem_option"),
    ("date", "2021-02-03", dt.date(2021, 2, 3), None),
    ("date", "1999-01-01", dt.date(2015, 1, 1), "share.problem_clamped"),
    ("date", "yesterday", None, "share.problem_invalid"), ("int", "1" * 400, None, "share.problem_long_ignored"),
]


@pytest.mark.parametrize("kind,text,value,problem", PARSE)
def test_url_texts_parse_to_the_widgets_values(kind, text, value, problem):
    got, said = share.parse(SPECS[kind], text)
    assert said == problem
    assert got == value if not isinstance(value, float) else math.isclose(got, value)
    if problem is None:  # what parses cleanly is written back the same way
        assert share.parse(SPECS[kind], share.to_text(SPECS[kind], got)) == (got, None)


def test_an_embedded_app_keeps_its_embed_option_and_the_learners_settings():
    """?embed=true is Streamlit's own: neither a notice nor a reason to treat reruns as new links."""
    at = open_link("views/perceptron/perceptron.py", {"lang": "en", "embed": "true", "perceptron_depth": "12"})
    at.slider(key="perceptron_noise").set_value(0.3).run()
    at.slider(key="perceptron_points").set_value(400).run()
    assert (at.slider(key="perceptron_depth").value, at.slider(key="perceptron_noise").value) == (12, 0.3)
    assert not [w for w in at.warning.values if "link" in w]
    assert at.query_params["embed"] == "true"


def test_a_link_that_sets_a_closed_sections_setting_opens_that_section():
    """The perceptron page's last sections open with a toggle (a closed one is not drawn); a link
    naming one of a section's settings opens it, and only it."""
    at = open_link("views/perceptron/perceptron.py", {"lang": "en", "perceptron_bp_hidden": "3"})
    assert not at.exception, at.exception
    assert at.toggle(key="perceptron_bp_open").value and at.radio(key="perceptron_bp_hidden").value == 3
    assert not at.toggle(key="perceptron_sine_open").value
    with pytest.raises(KeyError):
        at.radio(key="perceptron_sine_method")
    assert link_query(share_link(at))["perceptron_bp_open"] == "true"
