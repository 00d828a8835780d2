import streamlit as st

st.title("stocks")
st.info("This page is being built.")
