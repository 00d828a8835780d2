"""A learner's own CSV, uploaded: the one uploader both own-data sections use (the regression
section's own table, the stock page's own series), with its limits, the privacy line, the file
read once per upload and how it was read."""
import streamlit as st

from core import own_data
from core.data import DataError
from ui.content import say, t


def uploaded_table(page: str, key: str, memo_key: str,
                   pickers: tuple[str, ...]) -> tuple[dict, own_data.OwnTable] | None:
    """The uploader (words from content/<lang>/<page>.md: own_limits, own_upload, own_session_only,
    own_waiting), the file read once per upload (core.own_data.read_csv, kept in
    st.session_state[memo_key] by the uploader's file id: a new file resets the `pickers` to their
    defaults), then how it was read and its notes. (the memo, the table), or None after a message
    in place. The memo is the section's own place for what it makes from this file."""
    st.caption(t(f"{page}.own_limits", mb=own_data.MAX_MB, rows=own_data.MAX_ROWS, columns=own_data.MAX_COLUMNS,
                 cells=own_data.MAX_CELLS))
    uploaded = st.file_uploader(t(f"{page}.own_upload"), type=["csv", "txt", "tsv"], key=key,
                                max_upload_size=own_data.MAX_MB, help=t(f"{page}.own_upload_help"))
    st.caption("🔒 " + t(f"{page}.own_session_only"))
    if uploaded is None:
        st.info(t(f"{page}.own_waiting"))
        return None
    memo = st.session_state.get(memo_key)
    if memo is None or memo["file_id"] != uploaded.file_id:
        try:
            table, problem = own_data.read_csv(uploaded.getvalue(), page, uploaded.name), None
        except DataError as exc:
            table, problem = None, exc.words
        memo = st.session_state[memo_key] = {"file_id": uploaded.file_id, "table": table, "problem": problem}
        for picker in pickers:
            st.session_state.pop(picker, None)
    if memo["problem"] is not None:
        st.error(say(memo["problem"]))
        return None
    own: own_data.OwnTable = memo["table"]
    st.info(say(own.how(page)), icon="📄")
    for note in own.notes:
        st.warning(say(note))
    return memo, own
