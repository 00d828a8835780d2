"""Issue 21: the by-hand CNN section never crashes, failed runs are called failures, long runs
ask first, and hostile text is cut short."""
import itertools

import numpy as np
import pytest

from conftest import open_page
from core import cnn
from core.data import DataError
from views.cnn import charts

POOL_INPUTS = [np.array(cnn.POOL_EXAMPLE, dtype=float), np.arange(16.0).reshape(4, 4),
               np.full((4, 4), np.nan), np.array([[1e12, -1e12, 0, 0]] * 4, dtype=float)]


def _render(tables) -> None:
    for _, table in tables:  # a Styler renders its cells only when asked: that is where pandas broke
        table.to_html() if hasattr(table, "to_html") else None


def test_every_pooling_setting_the_section_allows_renders():
    shown = 0
    for values, k, s, p in itertools.product(POOL_INPUTS, range(1, 5), range(1, 5), range(0, 3)):
        try:
            pool = cnn.pool_both(values, k, s, p)
        except DataError:
            continue  # said to the learner in words (e.g. padding larger than half the window)
        for cell in range(len(pool["max_cells"])):
            _render(charts.pool_tables(values, pool, cell, p))
        shown += 1
    assert shown == 96  # half of the 192 combinations are valid (padding ≤ window / 2) and drew every table


def test_every_convolution_setting_the_section_allows_renders():
    for name, s, p in itertools.product(cnn.KERNELS, range(1, 4), range(0, 3)):
        kernel = np.array(cnn.KERNELS[name])
        conv = cnn.conv_both(cnn.CONV_EXAMPLE, kernel, s, p)
        assert conv["matches_torch"]
        rows, cols = conv["out"].shape
        for r, c in itertools.product(range(rows), range(cols)):
            cell = cnn.conv_cell(cnn.CONV_EXAMPLE, kernel, s, p, r, c)
            _render(charts.conv_tables(cell, kernel, conv["out"], r, c, p))


@pytest.mark.parametrize("keys", [{"cnn_pool_k": 3}, {"cnn_pool_k": 4}, {"cnn_pool_s": 3},
                                  {"cnn_conv_stride": 3}])
def test_the_issues_crashing_settings_keep_the_page_whole(keys):
    at = open_page("views/cnn/cnn.py")
    for key, value in keys.items():
        at.number_input(key=key).set_value(value)
    at.run()
    assert not at.exception
    assert any(h.value == at.header[-1].value for h in at.header) and len(at.header) >= 4  # §3 and below still drawn


def test_a_huge_ticker_is_not_echoed_whole():
    from core.data import SYMBOL_SHOWN, normalize_symbol
    with pytest.raises(DataError) as caught:
        normalize_symbol("A" * 5000)
    assert len(caught.value.words.values["symbol"]) == SYMBOL_SHOWN + 1  # cut, with an ellipsis


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_run_that_did_not_learn_gets_a_warning_not_a_success(lang):
    at = open_page("views/ann/ann.py", query={"lang": lang})
    at.slider(key="ann_n_train").set_value(1000)
    at.selectbox(key="ann_optimizer").set_value("adam")
    at.select_slider(key="ann_lr").set_value(1.0)
    at.slider(key="ann_epochs").set_value(2)
    at.run()
    assert any("Adam" in w.value for w in at.warning)  # warned before training
    at.button(key="ann_train").click().run()
    assert not at.exception
    assert not at.success  # no green box for a model at chance
    said = " ".join(e.value for e in at.error)
    assert ("did not learn" if lang == "en" else "학습하지 못했습니다") in said


def test_a_run_longer_than_the_limit_asks_first(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_CONFIRM_SECONDS", "0.001")  # every run is "long" now
    at = open_page("views/rnn/rnn.py")
    assert at.button(key="rnn_train").disabled
    assert any("Epochs" in w.value for w in at.warning)  # names the setting and a cheaper choice
    at.checkbox(key="rnn_train_confirm").check().run()
    assert not at.button(key="rnn_train").disabled


def test_the_stock_page_cuts_a_pasted_essay_short():
    at = open_page("views/stocks/stocks.py")
    at.selectbox(key="stocks_symbol").set_value("other").run()
    at.text_input(key="stocks_other").input("X" * 5000).run()
    assert not at.exception and len(at.text_input(key="stocks_other").value) <= 20  # the box takes 20 at most
    at.text_input(key="stocks_other").input("%" * 20).run()
    assert at.error and all(len(e.value) < 400 for e in at.error)


@pytest.mark.parametrize("optimizer", ["sgd", "sgd_momentum", "adam", "adamw", "rmsprop"])
def test_every_optimizer_on_the_cnn_page_warns_before_a_learning_rate_of_one(optimizer):
    at = open_page("views/cnn/cnn.py")
    at.selectbox(key="cnn_mnist_opt").set_value(optimizer)
    at.select_slider(key="cnn_mnist_lr").set_value(1.0)
    at.run()
    assert not at.exception
    assert any("A learning rate of 1 is large" in w.value for w in at.warning)
