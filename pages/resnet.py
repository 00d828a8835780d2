import streamlit as st

st.title("resnet")
st.info("This page is being built.")
