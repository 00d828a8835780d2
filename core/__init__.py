"""Plain Python + PyTorch logic of the deep-learning playground (never imports Streamlit)."""
