"""The "Show the code" expander: a recipe with the page's settings, as .py and as .ipynb, and the
playground's own files the recipe reads (core.recipes.files), so it runs in any folder."""
import mimetypes

import streamlit as st

from core import recipes
from core.engine import TrainConfig
from ui.content import language, t


def show_code(recipe: str, key: str, optimizer: TrainConfig | None = None, **values) -> str | None:
    """Render core/recipes/<recipe>.py with `values`, show it, offer both downloads and every file
    it reads from its DATA_DIR (each button names where the file goes); returns the code.

    Only an open expander is filled (opening it reruns the page, its state under `<key>_show_code`):
    a closed one costs neither the rendering here nor the browser's syntax highlighting of a long
    script on every first view. Returns None while closed."""
    box = st.expander(t("common.show_code"), icon="🐍", key=f"{key}_show_code", on_change="rerun")
    if not box.open:
        return None
    code = recipes.render(recipe, optimizer=optimizer, language=language(), **values)
    files = recipes.files(recipe, **values)
    filename, notebook = f"{recipe}.py", f"{recipe}.ipynb"
    with box:
        st.caption(t("common.show_code_caption", filename=filename))
        st.code(code, language="python")
        col_py, col_nb = st.columns(2)
        col_py.download_button(t("common.download_py", filename=filename), code, file_name=filename,
                               mime="text/x-python", key=f"{key}_download_py", on_click="ignore")
        col_nb.download_button(t("common.download_ipynb", notebook=notebook),
                               lambda: recipes.notebook(code), file_name=notebook,
                               mime="application/x-ipynb+json", key=f"{key}_download_ipynb",
                               on_click="ignore")
        if files:
            st.caption(t("common.code_files"))
            columns = st.columns(2)
            for i, (where, path) in enumerate(files.items()):
                # read when clicked: MNIST's and CIFAR-10's files are megabytes, sent only on request
                columns[i % 2].download_button(t("common.download_file", path=where),
                                               path.read_bytes, file_name=path.name,
                                               mime=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                                               key=f"{key}_download_file_{i}", on_click="ignore")
    return code
