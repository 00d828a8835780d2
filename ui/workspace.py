"""The learner's workspace: found again by a cookie (or a personal link), kept in the database
(db/), and the sidebar's "My work" box: continue on another device, download, delete.

The key is a secret: it lives in the learner's cookie and, only when they ask for it, in their
personal link. It never goes into st.query_params past the first run (so no Share link, lesson
link or hand-in report holds it) and is never logged.
"""
import datetime as dt
import json
import logging
import time

import streamlit as st

import db
from ui import share
from ui.content import t

COOKIE = "playground_ws"   # the browser's cookie holding the workspace key
LINK_PARAM = "ws"          # ?ws=<key>: the personal "continue on another device" link
COOKIE_DAYS = 400          # browsers cap a cookie's lifetime at about 400 days
STATE = "_workspace"       # session_state: {"key", "ws", "cookie"}
log = logging.getLogger("playground.workspace")


RETRY_SECONDS = 60         # after a failed connection, how long the app works without a database
_failed = {"at": -RETRY_SECONDS}


def database() -> db.Database | None:
    """This process's database; None when it cannot be reached (then each tab keeps its own work
    until a later try, RETRY_SECONDS on, succeeds)."""
    if time.monotonic() - _failed["at"] < RETRY_SECONDS:
        return None
    try:
        return _connect(db.settings.database_url())
    except Exception as exc:  # an unreachable PostgreSQL, a read-only folder: the pages still work
        _failed["at"] = time.monotonic()
        log.error("the database cannot be used (%s); work is kept in each tab only", type(exc).__name__)
        return None


@st.cache_resource(show_spinner=False)
def _connect(url: str) -> db.Database:
    """Once per process and database: migrate, mark the runs a dead server left as interrupted,
    purge idle workspaces (db.settings.retention_days)."""
    database_ = db.connect(url)
    database_.mark_interrupted()
    if purged := database_.purge_idle():
        log.info("purged %d workspaces unused for %g days", purged, db.settings.retention_days())
    return database_


def current() -> db.Workspace | None:
    """This session's workspace (made on the first visit); None without a database."""
    state = st.session_state.get(STATE)
    if state is not None:
        return state["ws"]
    database_ = database()
    if database_ is None:
        return None
    offered, source = _offered_key()
    try:
        key, ws, created = database_.open_workspace(offered)
    except Exception as exc:
        log.error("opening a workspace failed (%s)", type(exc).__name__)
        return None
    if offered is not None and created:
        st.session_state["_workspace_notice"] = t(f"workspace.unknown_{source}")
    st.session_state[STATE] = {"key": key, "ws": ws, "cookie": st.context.cookies.get(COOKIE)}
    return ws


def _offered_key() -> tuple[str | None, str]:
    """The key this browser offers: a personal link's (then taken out of the URL at once), else
    the cookie's. Nothing about it is trusted: db looks up only well-formed keys, by hash."""
    if LINK_PARAM in st.query_params:
        offered = st.query_params.get(LINK_PARAM)
        del st.query_params[LINK_PARAM]
        return offered, "link"
    return st.context.cookies.get(COOKIE), "cookie"


def key() -> str | None:
    """The workspace key, for the personal link and the cookie only."""
    state = st.session_state.get(STATE)
    return None if state is None else state["key"]


def keep_cookie() -> None:
    """Write the workspace cookie when the browser does not hold this key yet (a first visit, a
    personal link opened, a workspace deleted). Streamlit reads cookies but cannot set them, so
    a one-line script does, in this page's own document."""
    state = st.session_state.get(STATE)
    if state is None or state["cookie"] == state["key"]:
        return
    st.html("<script>document.cookie = " + json.dumps(f"{COOKIE}={state['key']}; Path=/; SameSite=Lax; "
                                                       f"Max-Age={COOKIE_DAYS * 86400}")
            + " + (location.protocol === 'https:' ? '; Secure' : '');</script>", unsafe_allow_javascript=True)
    state["cookie"] = state["key"]


def forget() -> None:
    """Delete this workspace and everything in it, then start a fresh one (a new key and cookie)."""
    database_, ws = database(), current()
    if database_ is not None and ws is not None:
        database_.delete_workspace(ws)
    for name in [k for k, v in st.session_state.items() if isinstance(v, dict) and "runs" in v]:
        del st.session_state[name]  # every page's runs: the stores reload from the fresh workspace
    cookie = st.session_state.pop(STATE, {}).get("cookie")
    if database_ is not None:
        key_, ws = database_.create_workspace()
        st.session_state[STATE] = {"key": key_, "ws": ws, "cookie": cookie}
    st.session_state["_workspace_notice"] = t("workspace.deleted")


def sidebar() -> None:
    """The "My work" box: what is kept, the personal link, download and delete."""
    if notice := st.session_state.pop("_workspace_notice", None):
        st.toast(notice, icon="🗂")
    database_, ws = database(), current()
    keep_cookie()
    with st.popover(t("workspace.button"), width="stretch"):
        if database_ is None or ws is None:
            st.warning(t("workspace.no_database"))
            return
        usage = database_.usage(ws)
        st.caption(t("workspace.usage", runs=usage.runs, used=usage.bytes / 2**20, quota=usage.quota_bytes / 2**20,
                     since=ws.created.astimezone().strftime("%Y-%m-%d")))
        st.markdown(t("workspace.link_header"))
        if st.toggle(t("workspace.show_link"), key="workspace_show_link"):  # the warning comes with the link
            st.warning(t("workspace.link_warning"), icon="🔑")
            st.code(share.link("", {LINK_PARAM: key()}), language=None, wrap_lines=True)
        st.download_button(t("workspace.download"), lambda: database_.export_workspace(ws),
                           f"playground-work-{dt.date.today():%Y%m%d}.zip", "application/zip",
                           key="workspace_download", on_click="ignore", width="stretch")
        sure = st.checkbox(t("workspace.delete_confirm"), key="workspace_delete_sure")
        st.button(t("workspace.delete"), key="workspace_delete", disabled=not sure, on_click=forget, type="secondary",
                  width="stretch")
