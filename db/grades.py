"""Grades out (issue 28): a class's rows as CSV that Excel opens with Hangul names intact, and as
JSON. The page computes the rows (one per learner: status, figure, time and late flag per
assignment); this module only writes them.

    data = export_csv(rows, ["name", "xor_hidden status", "xor_hidden figure", ...])
    pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")   # reads it back

CSV: UTF-8 with a byte-order mark (Excel reads a file without one in the PC's legacy code page),
the csv module's quoting, "\r\n" line ends. A text cell that a spreadsheet would run as a formula
(it starts with = + - @, a tab or a carriage return: a learner may well call themselves
"=HYPERLINK(…)") gets a leading apostrophe, OWASP's advice for CSV injection; numbers stay numbers.
"""
import csv
import datetime as dt
import io
import json
import math
import numbers

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value, formulas_safe: bool):
    """A value as the CSV writes it: None and non-finite numbers empty, times ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else ""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    text = str(value)
    if formulas_safe and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def export_csv(rows: list[dict], columns: list[str], *, formulas_safe: bool = True) -> bytes:
    """`rows` as CSV bytes (UTF-8 with BOM): a header of `columns`, then each row's values of
    those columns (a missing one is empty; keys not in `columns` are left out)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column), formulas_safe) for column in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _plain(value):
    """`value` as JSON's types: non-finite numbers null, times ISO 8601, NumPy scalars Python's."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def export_json(rows) -> bytes:
    """`rows` (any nesting of dicts and lists) as UTF-8 JSON, names as they are (no \\u escapes)."""
    return json.dumps(_plain(rows), ensure_ascii=False, allow_nan=False, indent=1).encode("utf-8")
