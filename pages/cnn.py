import streamlit as st

st.title("cnn")
st.info("This page is being built.")
