"""Glossary: the course's terms in both languages, with their meaning and the page that teaches them."""
import streamlit as st

from core import glossary
from ui.content import language, t
from ui.share import setting
from ui.shell import page_file

st.title(t("glossary.title"))
st.markdown(t("glossary.intro"))
query = setting(st.text_input, t("glossary.search"), key="glossary_query", max_chars=60, help=t("glossary.search_help"))
found = glossary.search(query)
first, second = ("ko", "en") if language() == "ko" else ("en", "ko")
if not found:
    st.info(t("glossary.none", query=query))
for term in found:
    with st.container(border=True):
        left, right = st.columns([2, 3])
        left.markdown(f"**{term[first]}** · {term[second]}")
        left.page_link(page_file(term['page']), label=t(f"app.nav_{term['page']}"))
        right.markdown(term[f"meaning_{language()}"])
st.caption(t("glossary.count", shown=len(found), total=len(glossary.terms())))
