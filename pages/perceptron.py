import streamlit as st

st.title("perceptron")
st.info("This page is being built.")
