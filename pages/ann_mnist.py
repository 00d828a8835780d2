import streamlit as st

st.title("ann_mnist")
st.info("This page is being built.")
