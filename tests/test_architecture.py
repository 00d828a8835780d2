"""The layering, checked from the source: one import graph of the project's own modules (lazy
imports inside functions included), no cycle in it, each layer importing only the layers below
it, and no Streamlit internals anywhere."""
import ast
import graphlib
import subprocess
import sys

from conftest import ROOT

PACKAGES = ("core", "db", "ui", "views", "bench", "deploy")
# Who may import whom: core is plain PyTorch, db stores runs, ui holds the Streamlit pieces every
# page shares, views the pages; a page's own modules belong to that page alone.
ALLOWED = {"core": {"core"}, "db": {"core", "db"}, "ui": {"core", "db", "ui"},
           "views": {"core", "db", "ui", "views"}, "app": {"core", "db", "ui", "views"}}


def _module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, object]:
    files = [ROOT / "app.py", *(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))]
    return {_module_name(p): p for p in files if ".venv" not in p.parts}


def import_graph() -> dict[str, set[str]]:
    """module -> the project's modules it imports (a `from package import module` names the module)."""
    modules = _sources()
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def test_the_graph_sees_the_imports_it_should():
    graph = import_graph()
    assert "core.fast_mlp" in graph["core.engine"] and "core.engine" in graph["core.backprop"]
    assert "views.ann.charts" in graph["views.ann.ann"] and "ui.training" in graph["views.ann.ann"]
    assert len(graph) > 60


def test_no_import_cycle():
    graphlib.TopologicalSorter(import_graph()).prepare()  # raises CycleError naming the cycle


def test_each_layer_imports_only_the_layers_below():
    wrong = []
    for module, imports in import_graph().items():
        layer = module.split(".")[0]
        if layer not in ALLOWED:
            continue
        wrong += [(module, i) for i in imports if i.split(".")[0] not in ALLOWED[layer]]
        if layer == "views" and "." in module:  # a page's own sections and charts are not another page's
            page = module.split(".")[1]
            wrong += [(module, i) for i in imports if i.startswith("views.") and i.split(".")[1] != page]
    assert not wrong, wrong


def test_no_streamlit_internals():
    """Pages, the shared pieces and the tests use Streamlit's public API only."""
    files = [ROOT / "app.py", *(p for pkg in (*PACKAGES, "tests") for p in (ROOT / pkg).rglob("*.py"))]
    offenders = [p.name for p in files if "streamlit.runtime" in p.read_text() and p.name != "test_architecture.py"]
    assert not offenders, offenders


def test_no_pages_folder():
    """A folder named pages/ beside app.py switches Streamlit to its old multipage mode."""
    assert not (ROOT / "pages").exists()


def test_db_never_imports_streamlit():
    code = ("import importlib, pkgutil, sys, db\n"
            "for m in pkgutil.iter_modules(db.__path__): importlib.import_module('db.' + m.name)\n"
            "sys.exit(3 if 'streamlit' in sys.modules or 'ui' in sys.modules else 0)")
    if (ROOT / "db").exists():
        assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
