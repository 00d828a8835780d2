import streamlit as st

st.title("rnn")
st.info("This page is being built.")
