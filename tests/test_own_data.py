"""A learner's own CSV: the reader (encodings Korean spreadsheets write, separators, decimal commas,
the limits, every bad file), the regression table and the stock series made from it, and both
pages driven through their uploaders under AppTest, in English and Korean."""
import codecs
import inspect
import re

import numpy as np
import pandas as pd
import pytest
import torch
from test_content import HANGUL

from conftest import open_page, reopen_workspace
from core import own_data, regression, stocks
from core.data import DataError
from core.words import english, sections

CPU = torch.device("cpu")


def _said(info) -> str:
    return english(info.value.words)


def _read(raw: bytes, page: str = "regression", name: str = "t.csv") -> own_data.OwnTable:
    return own_data.read_csv(raw, page, name)


def _measurements(rows: int = 120, seed: int = 0) -> pd.DataFrame:
    """A table with Korean column names: y depends on 온도 and 습도, 메모 is text."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    return pd.DataFrame({"온도": x[:, 0].round(3), "습도": x[:, 1].round(3), "메모": ["가나다"] * rows,
                         "y": (3 * x[:, 0] - 2 * x[:, 1] + rng.normal(scale=0.1, size=rows)).round(3)})


# --- The reader ---------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding, expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp949", "cp949"),
                                                ("euc-kr", "cp949")])
def test_korean_spreadsheet_encodings_are_read(encoding, expected):
    frame = _measurements()
    raw = frame.to_csv(index=False).encode(encoding)
    assert raw.startswith(codecs.BOM_UTF8) == (encoding == "utf-8-sig")
    table = _read(raw)
    assert table.encoding == expected and table.separator == "," and table.decimal == "."
    assert list(table.frame.columns) == ["온도", "습도", "메모", "y"]  # no BOM glued to the first name
    assert table.kinds == {"온도": "number", "습도": "number", "메모": "text", "y": "number"}
    np.testing.assert_allclose(table.numbers["y"], frame["y"])
    assert (table.frame["메모"] == "가나다").all()
    said = english(table.how("regression"))
    assert {"utf-8": "read as UTF-8,", "utf-8-sig": "UTF-8 (with a BOM", "cp949": "CP949 (EUC-KR"}[expected] in said


@pytest.mark.parametrize("separator, decimal, name", [
    (",", ".", "commas"), (";", ",", "semicolons"), ("\t", ".", "tabs"), ("\t", ",", "tabs"), (";", ".", "semicolons")])
def test_separator_and_decimal_mark_are_found(separator, decimal, name):
    frame = _measurements()
    raw = frame.to_csv(index=False, sep=separator, decimal=decimal).encode("cp949")
    table = _read(raw)
    assert (table.separator, table.decimal) == (separator, decimal)
    np.testing.assert_allclose(table.numbers[["온도", "습도", "y"]], frame[["온도", "습도", "y"]])
    said = english(table.how("regression"))
    assert f"separated by {name}" in said and ("a comma (1,5)" if decimal == "," else "a point (1.5)") in said


def test_thousands_separators_and_text_cells_in_a_number_column():
    raw = (b'price,volume,note,blank\n"1,234",10,a,\n"12,345.5",x,b,\n7,30,c,\n"1,000,000",40,d,\n')
    table = _read(raw)
    assert table.numbers["price"].tolist() == [1234.0, 12345.5, 7.0, 1_000_000.0]
    assert table.kinds == {"price": "number", "volume": "number", "note": "text", "blank": "empty"}
    assert np.isnan(table.numbers["volume"][1]) and table.numbers["volume"][3] == 40
    [note] = table.notes
    assert english(note) == ("Column **volume**: 1 cell(s) are not numbers (for example “x”). They are left empty, "
                             "and a row with an empty cell in a column you use is dropped.")
    european = _read(b"a;b\n1.234,5;2\n10,25;3\n7;4\n")  # a point groups thousands when the comma is decimal
    assert european.decimal == "," and european.numbers["a"].tolist() == [1234.5, 10.25, 7.0]


@pytest.mark.parametrize("raw, section", [
    (b"", "own_empty"), (b"  \r\n\n ", "own_empty"), (codecs.BOM_UTF8, "own_empty"), (b"a,b,c\n", "own_no_rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "own_binary"),
    ("a,b\n1,2\n".encode("utf-16"), "own_binary"), (bytes(range(1, 32)) * 100, "own_binary"),
    (b"a,b\n1,2\n3,4,5,6\n", "own_unparsable"),
])
def test_bad_files_get_their_own_message(raw, section):
    with pytest.raises(DataError) as info:
        _read(raw, name="bad.csv")
    assert info.value.words.key == f"regression.{section}"
    assert "**bad.csv**" in _said(info)


def test_the_limits_cut_rows_and_refuse_size_and_width(monkeypatch):
    million = ("x,y\n" + "1,2\n" * 1_000_000).encode()  # a million rows: the first MAX_ROWS are read
    table = _read(million)
    assert len(table.frame) == own_data.MAX_ROWS == len(table.numbers) and table.rows_in_file == 1_000_000
    assert "about 1,000,000 data rows; the page reads the first 200,000" in english(table.notes[0])
    wide = (",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n").encode()
    with pytest.raises(DataError) as info:
        _read(wide)
    assert "has 10,000 columns; the page reads at most 200" in _said(info)
    monkeypatch.setattr(own_data, "MAX_CELLS", 40_000)  # a wide file keeps fewer rows
    many_cells = (",".join(f"c{i}" for i in range(200)) + "\n" + ("1," * 199 + "1\n") * 300).encode()
    table = _read(many_cells)
    assert len(table.frame) == 200 and table.rows_in_file == 300
    assert "the page reads the first 200 (at most 200,000 rows and 40,000 cells" in english(table.notes[0])
    monkeypatch.setattr(own_data, "MAX_BYTES", 1_000)
    with pytest.raises(DataError) as info:
        _read(b"a,b\n" + b"1,2\n" * 1_000)
    assert "the page reads files up to 10 MB" in _said(info)


def test_digest_names_the_content():
    raw = _measurements().to_csv(index=False).encode()
    assert _read(raw).digest == _read(raw, name="other.csv").digest != _read(raw + b"1,2,x,3\n").digest
    assert re.fullmatch(r"[0-9a-f]{16}", _read(raw).digest)


def test_dates_korean_spreadsheets_write():
    for cells in (["2024-01-05", "2024-01-08"], ["2024.01.05", "2024.01.08"], ["2024/01/05", "2024/01/08"],
                  ["20240105", "20240108"], ["2024. 1. 5.", "2024. 1. 8."], ["2024년 1월 5일", "2024년 1월 8일"]):
        parsed = own_data.parse_dates(pd.Series(cells))
        assert parsed.tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-08")], cells
    assert own_data.parse_dates(pd.Series([20240105, 20240108])).notna().all()  # a number column of dates
    table = _read("일자,종가,비고\n2024.01.05,100,가\n2024.01.08,101,나\n".encode("cp949"), "stocks")
    assert own_data.date_columns(table) == ["일자"]


def test_every_word_the_reader_and_makers_name_exists_in_both_pages_and_languages():
    shared = set(re.findall(r'\{page\}\.(own_\w+)"', inspect.getsource(own_data)))
    shared |= {f"own_encoding_{e.replace('-', '_')}" for e in own_data.ENCODINGS}
    shared |= {f"own_sep_{n}" for n in own_data.SEPARATORS.values()} | {"own_decimal_comma", "own_decimal_point"}
    for page, module in (("regression", regression), ("stocks", stocks)):
        own = set(re.findall(rf'"{page}\.(own_\w+)"', inspect.getsource(module)))
        for language in ("en", "ko"):
            missing = (shared | own) - set(sections(language, page))
            assert not missing, (page, language, missing)


# --- The regression table -----------------------------------------------------------------------
def test_own_table_picks_columns_and_says_what_went():
    frame = _measurements()
    frame.loc[[3, 7], "습도"] = np.nan
    frame["온도"] = frame["온도"].astype(object)
    frame.loc[10, "온도"] = "?"
    frame["copy"] = frame["y"] * 2.54  # the target in other units
    table = _read(frame.to_csv(index=False).encode("cp949"))
    made, notes = regression.own_table(table, "y", ["온도", "습도"])
    assert made.x.shape == (117, 2) and made.features == ("온도", "습도") and made.target == "y"
    assert [english(n) for n in notes] == ["3 row(s) have an empty or text cell in a chosen column and were dropped; "
                                           "117 complete rows remain."]
    _, notes = regression.own_table(table, "y", ["온도", "copy"])
    assert any("Feature **copy** moves in lockstep with the target **y**" in english(n) for n in notes)
    cases = [("y", ["y", "온도"], "is the target and also a feature"), ("y", [], "at least one feature"),
             ("y", ["메모"], "not numbers: 메모")]
    for target, features, words in cases:
        with pytest.raises(DataError) as info:
            regression.own_table(table, target, features)
        assert words in _said(info)
    one_row = _read(b"a,b\n1,2\n")
    with pytest.raises(DataError) as info:
        regression.own_table(one_row, "b", ["a"])
    assert "Only 1 complete row(s)" in _said(info)
    constant = _read(("a,b\n" + "".join(f"{i},5\n" for i in range(50))).encode())
    with pytest.raises(DataError) as info:
        regression.own_table(constant, "b", ["a"])
    assert "is 5 in every row" in _said(info)


def test_own_table_split_is_honest_and_trains_against_the_baselines():
    table = _read(_measurements(rows=300).to_csv(index=False, sep=";", decimal=",").encode("cp949"))
    made, _ = regression.own_table(table, "y", ["온도", "습도"])
    s = regression.split(3, table=made)
    assert [len(s.rows[k]) for k in ("train", "val", "test")] == list(regression.n_rows(0.2, 0.2, 300))
    np.testing.assert_allclose(s.x_scaler.mean_, made.x[s.rows["train"]].mean(axis=0))
    assert not np.allclose(s.x_scaler.mean_, made.x.mean(axis=0))
    assert regression.scaler_table(s)["name"].tolist() == ["온도", "습도", "y"]
    settings = regression.RegressionSettings(epochs=40, patience=10, data="t.csv", data_hash=table.digest,
                                             target="y", features=("온도", "습도"), rows=300)
    assert settings.own and settings.architecture() == "2-32-16-1"
    model = regression.build_model(settings)
    from core.engine import run_to_end
    epochs, end = run_to_end(regression.train_events(model, s, settings, CPU))
    res = regression.analyze(model, s, settings, epochs, end, CPU)
    assert res["baselines"]["linear"]["r2"] > 0.99 and res["r2"] > 0.9 > res["baselines"]["mean"]["r2"]
    assert regression.runs_table([_run(settings, epochs, end, res)]).loc[0, "data"] == "t.csv"


def _run(settings, epochs, end, results):
    from ui.runs import Run
    return Run(1, settings, epochs, end, results)


def test_estimate_grows_with_rows_and_inputs():
    small = regression.RegressionSettings(features=tuple("abcdefghij"), rows=1_000)
    more_rows = regression.RegressionSettings(features=tuple("abcdefghij"), rows=10_000)
    assert regression.estimate_seconds(more_rows, CPU) > 5 * regression.estimate_seconds(small, CPU)
    assert more_rows.steps_per_epoch() == 188  # 6,000 training rows of 10,000, batches of 32


# --- The stock series ---------------------------------------------------------------------------
def _series_csv(n: int = 300, shuffle: bool = True, duplicate: bool = True) -> tuple[bytes, pd.DataFrame]:
    """A daily series that crosses zero (a temperature), unsorted and with a repeated date."""
    rng = np.random.default_rng(1)
    dates = pd.date_range("2022-01-01", periods=n, freq="D")
    temperature = 8 * np.sin(np.arange(n) / 30) + rng.normal(size=n)
    frame = pd.DataFrame({"날짜": dates.strftime("%Y.%m.%d"), "기온": temperature, "습도": rng.uniform(30, 90, n)})
    if duplicate:
        extra = frame.iloc[[4]].assign(기온=frame["기온"][4] + 2.0)
        frame = pd.concat([frame, extra])
    if shuffle:
        frame = frame.sample(frac=1, random_state=0)
    return frame.to_csv(index=False).encode("utf-8-sig"), frame


def test_own_series_sorts_averages_and_drops_undated_rows():
    raw, frame = _series_csv()
    raw += b"not a date,1,2\n"
    table = _read(raw, "stocks")
    series, notes = stocks.own_series(table, "날짜", "기온", ["습도"])
    said = [english(n) for n in notes]
    assert said == ["1 row(s) have no readable date in **날짜** and were dropped.",
                    "The dates were not in order: the rows were sorted by date, oldest first.",
                    "2 rows share 1 date(s): the rows of each such date were averaged into one."]
    assert series["Date"].is_monotonic_increasing and series["Date"].is_unique and len(series) == 300
    fifth = frame[frame["날짜"] == "2022.01.05"]["기온"]
    assert series.loc[4, "기온"] == pytest.approx(fifth.mean()) and len(fifth) == 2
    with pytest.raises(DataError) as info:
        stocks.own_series(table, "습도", "기온", [])
    assert "holds no date this page can read" in _said(info)
    long = _read(("d,v\n" + "".join(f"{d:%Y-%m-%d},{i}\n" for i, d in enumerate(
        pd.date_range("1900-01-01", periods=stocks.OWN_SERIES_ROWS + 10)))).encode(), "stocks")
    series, notes = stocks.own_series(long, "d", "v", ["v"])
    assert len(series) == stocks.OWN_SERIES_ROWS and series["v"].iloc[0] == 10  # the latest rows
    assert "has 20,010 dates; the page keeps the latest 20,000 (from 1900-01-11)" in english(notes[-1])


def test_own_series_goes_through_the_honest_pipeline_with_negative_values():
    raw, _ = _series_csv(shuffle=False, duplicate=False)
    series, _ = stocks.own_series(_read(raw, "stocks"), "날짜", "기온", ["습도"])
    assert (series["기온"] < 0).any()  # no price rule drops them
    settings = stocks.StockSettings(upload="t.csv", upload_hash="x", value="기온", features=("기온", "습도"),
                                    split_date="2022-09-01", window=10, epochs=2)
    prepared = stocks.prepare(series, settings)
    assert len(prepared.dates) == 300 and "Return" not in series.columns
    assert prepared.feature_scaler.n_samples_seen_ == prepared.fit_rows < prepared.rows_test[0]
    np.testing.assert_allclose(prepared.close, series["기온"])
    naive = stocks.baseline_predictions(prepared.close, prepared.rows_test, prepared.train_end)["naive"]
    np.testing.assert_allclose(naive, series["기온"].to_numpy()[prepared.rows_test - 1])
    with pytest.raises(DataError) as info:
        stocks.prepare(series.iloc[:40], settings)
    assert "too short" in _said(info)
    with pytest.raises(ValueError):  # a return of a series that crosses zero means nothing: not offered
        stocks.prepare(series, stocks.StockSettings(upload="t.csv", value="기온", features=("기온",), target="return"))


# --- The pages, through their uploaders ---------------------------------------------------------
WORDS = {  # what each case must say, in each language (a fragment of the content's own words)
    "en": {"empty": "is empty", "binary": "is not a CSV text file", "wide": "has 10,000 columns",
           "cut": "about 1,000,000 data rows", "few": "Only 1 complete row(s)",
           "same": "is the target and also a feature",
           "text": "are not numbers", "not_offered": "Not offered as target or feature", "read": "CP949 (EUC-KR",
           "no_date": "No column of this file holds dates", "sorted": "were sorted by date",
           "averaged": "averaged into one", "short": "too short"},
    "ko": {"empty": "파일이 비어 있어", "binary": "CSV 텍스트 파일이 아닙니다", "wide": "열이 10,000개",
           "cut": "약 1,000,000개", "few": "빈칸 없는 행이 1개뿐", "same": "타깃이면서 특성",
           "text": "숫자가 아닙니다", "not_offered": "타깃이나 특성으로 고를 수 없는 열", "read": "CP949(EUC-KR",
           "no_date": "날짜가 든 열이 없습니다", "sorted": "날짜순", "averaged": "평균을 내어", "short": "짧"},
}


def _messages(at) -> str:
    return " ".join(e.value for kind in ("error", "warning", "info", "caption") for e in getattr(at, kind))


def _upload(at, key: str, name: str, raw: bytes):
    at.file_uploader(key=key).set_value((name, raw, "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_regression_page_reads_an_own_table_refuses_bad_ones_and_trains(lang, one_thread):
    said = WORDS[lang]
    at = open_page("views/ann/ann.py", query={"lang": lang}, timeout=300)
    at.radio(key="reg_source").set_value("own").run()
    assert not at.exception
    for raw, expected in ((b"", "empty"), (bytes(range(256)) * 8, "binary"),
                          ((",".join(f"c{i}" for i in range(10_000)) + "\n" + "1," * 9_999 + "1\n").encode(), "wide"),
                          (b"a,b\n1,2\n", "few")):
        _upload(at, "reg_own_file", "bad.csv", raw)
        assert said[expected] in " ".join(e.value for e in at.error), expected
        with pytest.raises(KeyError):
            at.button(key="reg_train")  # nothing to train on: no button
    _upload(at, "reg_own_file", "big.csv", ("x,y\n" + "1,2\n3,5\n" * 500_000).encode())
    assert said["cut"] in _messages(at) and not at.error

    frame = _measurements(rows=200)
    frame["빈 열"] = np.nan
    frame["습도"] = [str(v).replace(".", ",") for v in frame["습도"]]  # a text column: written as the file has it
    frame.loc[5, "습도"] = "없음"
    _upload(at, "reg_own_file", "측정.csv", frame.to_csv(index=False, sep=";", decimal=",").encode("cp949"))
    messages = _messages(at)
    assert said["read"] in messages and said["text"] in messages and said["not_offered"] in messages
    assert "메모" in messages and "빈 열" in messages
    assert at.selectbox(key="reg_own_target").value == "y"
    assert at.multiselect(key="reg_own_features").value == ["온도", "습도"]
    at.multiselect(key="reg_own_features").set_value(["온도", "습도", "y"]).run()
    assert not at.exception and said["same"] in " ".join(e.value for e in at.error)
    at.multiselect(key="reg_own_features").set_value(["온도", "습도"]).run()
    at.slider(key="reg_epochs").set_value(30).run()
    at.button(key="reg_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    run = at.session_state["ann_reg_runs"]["runs"][-1]
    assert (run.settings.data, run.settings.target, run.settings.features, run.settings.rows) == (
        "측정.csv", "y", ("온도", "습도"), 199)
    assert run.settings.data_hash == own_data.digest(frame.to_csv(index=False, sep=";", decimal=",").encode("cp949"))
    assert run.results["r2"] > 0.9 and run.results["baselines"]["linear"]["r2"] > 0.99
    shown = {m.label: m.value for m in at.metric}
    assert shown[{"en": "Test RMSE", "ko": "테스트 RMSE"}[lang]] == f"{run.results['rmse']:.2f}"
    assert any("측정.csv → y" in o for o in at.selectbox(key="reg_result_run").options)
    if lang == "ko":
        assert all(HANGUL.search(w.value) for w in at.warning)
    else:  # the run is kept in the workspace with the file's name, digest and columns, never its rows
        again = reopen_workspace(at, "views/ann/ann.py", ["ann_reg_runs"])
        assert again.session_state["ann_reg_runs"]["runs"][-1].settings.data == "측정.csv"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_stock_page_forecasts_an_own_series_and_refuses_bad_ones(lang, one_thread, monkeypatch):
    from core import data

    monkeypatch.setattr(data, "_download", lambda *a: (_ for _ in ()).throw(ConnectionError("offline test")))
    said = WORDS[lang]
    at = open_page("views/stocks/stocks.py", query={"lang": lang}, timeout=300)
    at.selectbox(key="stocks_symbol").set_value("upload").run()
    assert not at.exception
    for raw, expected in ((b"", "empty"), (b"a,b\n1,2\n3,4\n", "no_date")):
        _upload(at, "stocks_own_file", "bad.csv", raw)
        assert said[expected] in " ".join(e.value for e in at.error), expected
    short, _ = _series_csv(n=40, shuffle=False, duplicate=False)
    _upload(at, "stocks_own_file", "short.csv", short)
    assert said["short"] in " ".join(e.value for e in at.error)

    raw, _ = _series_csv()
    _upload(at, "stocks_own_file", "기온.csv", raw)
    messages = _messages(at)
    assert said["sorted"] in messages and said["averaged"] in messages and not at.error
    assert at.selectbox(key="stocks_own_value").value == "기온"
    at.multiselect(key="stocks_own_inputs").set_value(["기온", "습도"]).run()
    at.slider(key="stocks_epochs").set_value(2).run()
    at.button(key="stocks_train").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error
    run = at.session_state["stocks_runs"]["runs"][-1]
    assert (run.settings.upload, run.settings.value, run.settings.features) == ("기온.csv", "기온", ("기온", "습도"))
    table = at.dataframe[-1].value
    assert len(table) == 4 and not table.iloc[:, 0].str.contains("[₩$]").any()
    if lang == "en":
        reopen_workspace(at, "views/stocks/stocks.py", ["stocks_runs"])
