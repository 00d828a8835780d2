"""A learner's own CSV file, read the way Korean and European spreadsheets write it.

One reader for every page that takes an uploaded table (the ANN page's regression section, the
stock page's own series): the encoding (UTF-8 with or without a BOM, CP949, which covers EUC-KR,
what Excel writes on a Korean Windows), the separator (`,` `;` or a tab), the decimal mark (`1,5`
in a `;`-separated file) and thousands separators (`"1,234"`) are found from the bytes; pandas
does the parsing. What cannot be read is a core.data.DataError with words for the learner; what
was changed on the way in (rows cut, text cells left empty) is a note.

The words live in the page's own content file: `page` names it ("regression" or "stocks"; both
hold the same `own_*` sections), so a message reads in the language and voice of that page.
"""
import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data import DataError
from core.words import Words, words

# The limits, each the reason it is there. The upload limit is the server's own (maxUploadSize in
# .streamlit/config.toml and the ingress's body size): a larger file never reaches the page.
MAX_MB = 10
MAX_BYTES = MAX_MB * 2**20
MAX_ROWS = 200_000        # rows read at most (the rest is cut, with a note): a split, the scalers and
                          # the linear baseline stay well under a second, and an epoch's time is shown
MAX_COLUMNS = 200         # a wider file is refused (not cut: which columns matter is the learner's call)
MAX_CELLS = 4_000_000     # rows × columns kept at most (32 MB as float64 per session): wide files keep fewer rows
SAMPLE_LINES = 50         # lines the separator and decimal mark are guessed from
MOSTLY = 0.5              # a column is numeric when at least this share of its filled cells are numbers

ENCODINGS = ("utf-8-sig", "utf-8", "cp949")  # tried in this order; cp949 is a superset of EUC-KR
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_COMMA_DECIMAL = re.compile(r"[+-]?\d+,\d+")
_POINT_DECIMAL = re.compile(r"[+-]?\d+\.\d+")
_THOUSANDS = {".": re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"), ",": re.compile(r"[+-]?\d{1,3}(\.\d{3})+(,\d+)?")}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class OwnTable:
    """An uploaded CSV as read: its rows (cut to the limits), and how it was read."""
    frame: pd.DataFrame       # the rows as read, columns as the file names them (text where the file has text)
    numbers: pd.DataFrame     # the numeric columns as float64 (text cells in them are NaN)
    kinds: dict               # column -> "number", "text" or "empty"
    name: str                 # the file's name, as uploaded
    digest: str               # the first 16 hex digits of the bytes' SHA-256: what a kept run names
    encoding: str             # one of ENCODINGS
    separator: str            # a key of SEPARATORS
    decimal: str              # "." or ","
    rows_in_file: int         # data rows the file holds (more than len(frame) when cut)
    notes: tuple              # Words: what was changed on the way in

    def how(self, page: str) -> Words:
        """One sentence: the file, its size, and the encoding, separator and decimal mark used."""
        return words(f"{page}.own_read", name=self.name, rows=len(self.frame), columns=len(self.frame.columns),
                     encoding=words(f"{page}.own_encoding_{self.encoding.replace('-', '_')}"),
                     separator=words(f"{page}.own_sep_{SEPARATORS[self.separator]}"),
                     decimal=words(f"{page}.own_decimal_{'comma' if self.decimal == ',' else 'point'}"))

    def numeric_columns(self) -> list[str]:
        return [c for c, kind in self.kinds.items() if kind == "number"]


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def read_csv(raw: bytes, page: str, name: str = "upload.csv") -> OwnTable:
    """`raw`, the bytes of a CSV file, as a table: encoding, separator and decimal mark found,
    rows past MAX_ROWS (or MAX_CELLS) cut with a note, every column sorted into number, text or
    empty. Raises DataError (words `{page}.own_*`) for an empty, binary, too large, too wide or
    unparsable file, and for one without data rows."""
    if len(raw) > MAX_BYTES:
        raise DataError(f"{page}.own_too_big", name=name, mb=len(raw) / 2**20, limit=MAX_MB)
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DataError(f"{page}.own_empty", name=name)
    text, encoding = _decode(raw, page, name)
    lines = [line for line in text.splitlines()[:SAMPLE_LINES * 2] if line.strip()][:SAMPLE_LINES]
    separator = _separator(lines)
    header = next(csv.reader(lines[:1], delimiter=separator))
    if len(header) > MAX_COLUMNS:
        raise DataError(f"{page}.own_too_wide", name=name, columns=len(header), limit=MAX_COLUMNS)
    decimal = "," if separator != "," and _comma_decimals(lines[1:], separator) else "."
    keep = min(MAX_ROWS, MAX_CELLS // max(1, len(header)))
    try:  # one row past the limit tells whether the file goes on
        frame = pd.read_csv(io.StringIO(text), sep=separator, decimal=decimal, nrows=keep + 1, skipinitialspace=True,
                            skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{page}.own_empty", name=name) from None
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[-1][:200]
        raise DataError(f"{page}.own_unparsable", name=name, detail=detail) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise DataError(f"{page}.own_no_rows", name=name)
    notes = []
    rows_in_file = len(frame)
    if len(frame) > keep:
        rows_in_file = _data_lines(text)
        frame = frame.iloc[:keep].copy()
        notes.append(words(f"{page}.own_cut", rows=rows_in_file, kept=keep, limit=MAX_ROWS, cells=MAX_CELLS))
    numbers, kinds, text_notes = _numbers(frame, decimal, page)
    return OwnTable(frame, numbers, kinds, name, digest(raw), encoding, separator, decimal, rows_in_file,
                    tuple(notes + text_notes))


def _decode(raw: bytes, page: str, name: str) -> tuple[str, str]:
    """The text and the encoding that read it. NUL bytes mean a binary file (or UTF-16, which no
    spreadsheet writes as "CSV" by default): refused before any guess."""
    if b"\x00" in raw[:65536]:
        raise DataError(f"{page}.own_binary", name=name)
    if raw.startswith(b"\xef\xbb\xbf"):
        candidates = ENCODINGS[:1]
    else:
        candidates = ENCODINGS[1:]
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if len(_CONTROL.findall(text[:65536])) > 0.01 * min(len(text), 65536):
            break  # decodes, but as control characters: not text
        return text, encoding
    raise DataError(f"{page}.own_binary", name=name)


def _separator(lines: list[str]) -> str:
    """The separator that cuts the sample lines into the same number (> 1) of fields most often,
    the header included; "," when none does (a one-column file)."""
    best, best_score = ",", None
    for separator in SEPARATORS:
        counts = [len(row) for row in csv.reader(lines, delimiter=separator)]
        if not counts:
            continue
        width, often = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (often / len(counts), counts[0] == width, width)
        if best_score is None or score > best_score:
            best, best_score = separator, score
    return best


def _comma_decimals(lines: list[str], separator: str) -> bool:
    """`;`- or tab-separated fields like 1,5 outnumber those like 1.5: the decimal mark is a comma."""
    fields = [f.strip() for row in csv.reader(lines, delimiter=separator) for f in row]
    commas = sum(bool(_COMMA_DECIMAL.fullmatch(f)) for f in fields)
    return commas > sum(bool(_POINT_DECIMAL.fullmatch(f)) for f in fields)


def _data_lines(text: str) -> int:
    """Data rows in the whole file: its non-empty lines after the header (a quoted field over two
    lines counts twice; the figure is said as "about")."""
    return sum(1 for line in text.splitlines() if line.strip()) - 1


def _numbers(frame: pd.DataFrame, decimal: str, page: str) -> tuple[pd.DataFrame, dict, list[Words]]:
    """Each column's kind, and the numeric ones as float64: a text column whose filled cells are
    mostly numbers (thousands separators allowed) is numeric, its other cells left empty, with a
    note naming one of them."""
    numbers, kinds, notes = {}, {}, []
    for column in frame.columns:
        values = frame[column]
        filled = values.notna()
        if not filled.any():
            kinds[column] = "empty"
            continue
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            converted = values.astype("float64")
        else:
            cleaned = values.astype("string").str.strip()
            thousands = cleaned.str.fullmatch(_THOUSANDS[decimal].pattern).fillna(False)
            if thousands.any():  # "1,234" (or "1.234,5" with a decimal comma): the group marks go
                cleaned = cleaned.mask(thousands, cleaned.str.replace("," if decimal == "." else ".", "", regex=False))
            if decimal == ",":
                cleaned = cleaned.str.replace(",", ".", regex=False)
            converted = pd.to_numeric(cleaned, errors="coerce").astype("float64")
        converted = converted.where(np.isfinite(converted))  # "inf" is not a measurement
        text = filled & converted.isna()
        if converted.notna().sum() < MOSTLY * filled.sum():
            kinds[column] = "text"
            continue
        kinds[column] = "number"
        numbers[column] = converted
        if text.any():
            notes.append(words(f"{page}.own_text_cells", column=column, cells=int(text.sum()),
                               example=str(values[text].iloc[0])[:30]))
    return pd.DataFrame(numbers, index=frame.index), kinds, notes


# --- Dates (the stock page's own series) --------------------------------------------------------

DATE_FORMATS = ("ISO8601", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d", "%Y. %m. %d", "%Y년 %m월 %d일", "%m/%d/%Y", "%d.%m.%Y")


def parse_dates(values: pd.Series) -> pd.Series:
    """`values` as dates (NaT where a cell is none): the format of DATE_FORMATS that reads the most
    cells (Korean spreadsheets write 2024.01.05, 2024. 1. 5. and 2024년 1월 5일 as well as ISO)."""
    text = values.astype("string").str.strip().str.rstrip(".")
    best = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        if parsed.notna().sum() > best.notna().sum():
            best = parsed
        if best.notna().all():
            break
    return best.dt.tz_localize(None) if best.dt.tz is not None else best


def date_columns(table: OwnTable) -> list[str]:
    """Columns whose cells are mostly dates, judged on their first rows (cheap on every rerun)."""
    found = []
    for column in table.frame.columns:
        head = table.frame[column].dropna().head(200)
        if len(head) and parse_dates(head).notna().mean() >= 0.9:
            found.append(column)
    return found
