"""The regression section's "your own table": upload a CSV, pick the target and the features.

The file is read once per upload (core.own_data.read_csv, kept in this session's state by the
uploader's file id), the columns picked into a core.regression.Table once per choice, and the
split made once per choice and split seed: a rerun for any other widget reads them back. The
file stays in this session; a kept run names it (file name, digest, columns) but never holds it.
"""
from dataclasses import dataclass

import streamlit as st

from core import own_data, regression
from core.data import DataError
from ui.content import say, t
from ui.own_upload import uploaded_table

MEMO = "reg_own"  # session_state: the upload as read, and what was made from it


@dataclass(frozen=True)
class Choice:
    """An uploaded table, ready: the rows picked, what a kept run names, and the file as read."""
    table: regression.Table
    settings: dict       # RegressionSettings fields: data, data_hash, target, features, rows
    own: own_data.OwnTable


def choose() -> Choice | None:
    """The uploader and the column pickers; None (after a message in place) while nothing trains."""
    found = uploaded_table("regression", "reg_own_file", MEMO, ("reg_own_target", "reg_own_features"))
    if found is None:
        return None
    memo, own = found
    numeric = own.numeric_columns()
    skipped = [f"{c} ({t(f'regression.own_kind_{kind}')})" for c, kind in own.kinds.items() if kind != "number"]
    if skipped:
        st.caption(t("regression.own_not_offered", columns=", ".join(skipped)))
    if len(numeric) < 2:
        st.error(t("regression.own_need_two", columns=len(numeric)))
        return None
    col_target, col_features = st.columns([1, 2])
    target = col_target.selectbox(t("regression.own_target"), numeric, index=len(numeric) - 1, key="reg_own_target",
                                  help=t("regression.own_target_help"))
    features = col_features.multiselect(t("regression.own_features"), numeric, key="reg_own_features",
                                        default=numeric[:-1],  # all but the default target
                                        help=t("regression.own_features_help"))
    picked = (target, tuple(features))
    if memo.get("picked") != picked:
        try:
            memo["made"], memo["made_problem"] = regression.own_table(own, target, features), None
        except DataError as exc:
            memo["made"], memo["made_problem"] = None, exc.words
        memo["picked"], memo["splits"] = picked, {}
    if memo["made_problem"] is not None:
        st.error(say(memo["made_problem"]))
        return None
    table, notes = memo["made"]
    for note in notes:
        st.warning(say(note))
    return Choice(table, {"data": own.name, "data_hash": own.digest, "target": target, "features": tuple(features),
                          "rows": len(table.y)}, own)


def split(choice: Choice, split_seed: int, val_share: float, test_share: float) -> regression.Split:
    """The split of the picked rows, made once per seed and shares (the last few kept)."""
    splits = st.session_state[MEMO]["splits"]
    key = (split_seed, val_share, test_share)
    if key not in splits:
        while len(splits) >= 4:  # a learner trying seeds: keep the memory of one upload bounded
            splits.pop(next(iter(splits)))
        splits[key] = regression.split(split_seed, val_share, test_share, table=choice.table)
    return splits[key]
