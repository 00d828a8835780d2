"""The pages: views/<page>/<page>.py is the script st.navigation runs; beside it, that page's own
sections and charts."""
