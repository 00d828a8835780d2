"""Every "Show the code" recipe: renders, compiles, becomes a valid notebook, and has a test
that runs it against the engine's figure."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import NO_NETWORK, ROOT, open_page
from core import recipes
from core.engine import TrainConfig
from core.words import sections

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize("name", recipes.names())
def test_recipe_renders_compiles_and_becomes_a_notebook(name):
    known = recipes.settings(name)
    assert "DATA_DIR" in known, "every recipe takes a data folder"
    code = recipes.render(name, optimizer=TrainConfig(optimizer="adam"))
    compile(code, f"{name}.py", "exec")
    nb = nbformat.reads(recipes.notebook(code), as_version=4)
    nbformat.validate(nb)
    assert len(nb.cells) >= 2
    assert "".join(c.source for c in nb.cells if c.cell_type == "code").count("import torch") == 1


@pytest.mark.parametrize("name", recipes.names())
def test_every_recipe_is_run_by_a_test(name):
    runners = [p.name for p in TESTS.glob("test_*.py") if f'run_recipe("{name}"' in p.read_text()]
    assert runners, f"no test calls run_recipe(\"{name}\", …)"


def test_render_fills_settings_and_the_optimizer_line():
    code = recipes.render("ann", optimizer=TrainConfig(optimizer="adamw", weight_decay=0.01), EPOCHS=3)
    assert "\nEPOCHS = 3" in code
    assert "torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)" in code
    with pytest.raises(KeyError):
        recipes.render("ann", NOT_A_SETTING=1)


# --- Every recipe runs where learners run it: an empty folder, only the packages installed ------

# Small settings for each recipe (every recipe needs an entry: a new one is run here too).
SMALL = {
    "ann": {"N_TRAIN": 200, "EPOCHS": 1, "HIDDEN": (16,)},
    "ann_regression": {"EPOCHS": 3},
    "backprop": {},
    "cnn": {"N_TRAIN": 100, "N_TEST": 100, "EPOCHS": 1},
    "perceptron_cubic": {"STEPS": 10},
    "perceptron_mlp": {"EPOCHS": 5},
    "resnet": {"N_TRAIN": 100, "N_TEST": 100, "EPOCHS": 1, "DEPTH": 4, "WIDTH": 8},
    "rnn_memory": {"T": 5, "SAMPLES": 32, "TEST_SAMPLES": 32, "EPOCHS": 1, "HIDDEN": 4},
    "rnn_sine": {"SAMPLES": 20, "SEQ_LEN": 10, "EPOCHS": 1, "HIDDEN": 4},
    "stocks": {"EPOCHS": 1},
    "transfer": {"PER_CLASS": 5, "EPOCHS": 1},
}
CASES = [(name, SMALL[name]) for name in sorted(SMALL)] + [
    ("cnn", {**SMALL["cnn"], "DATASET": "cifar"}), ("resnet", {**SMALL["resnet"], "DATASET": "cifar10"})]


def run_in(folder: Path, name: str, values: dict, handed: dict[str, Path]) -> subprocess.CompletedProcess:
    """Save the recipe as the page renders it into `folder` with the files `handed` (where the
    script looks for each -> the file), and run it there as a learner would: its own Python
    process, that folder as the working directory, the playground's code out of reach (isolated
    mode: no PYTHONPATH, no current folder on sys.path) and the network blocked."""
    (folder / f"{name}.py").write_text(recipes.render(name, **values), encoding="utf-8")
    for where, path in handed.items():
        (folder / where).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / where)
    script = (NO_NETWORK + "import importlib.util, runpy\n"
              "assert importlib.util.find_spec('core') is None, 'the playground is importable'\n"
              f"runpy.run_path({name + '.py'!r}, run_name='__main__')\n")
    return subprocess.run([sys.executable, "-I", "-c", script], cwd=folder, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_every_recipe_has_small_settings():
    assert sorted(SMALL) == recipes.names()


@pytest.mark.parametrize("name,values", CASES, ids=[f"{n}-{v.get('DATASET', '')}".rstrip("-") for n, v in CASES])
def test_recipe_runs_in_an_empty_folder_offline_with_the_files_the_page_offers(tmp_path, name, values):
    handed = recipes.files(name, **values)
    assert all(not Path(where).is_absolute() and where.startswith("data/") for where in handed), handed
    done = run_in(tmp_path, name, values, handed)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name,values,keep,missing", [
    ("ann", SMALL["ann"], (), "put its four .gz files (the playground's 'Show the code' offers them) in data/mnist/"),
    ("transfer", SMALL["transfer"], recipes.CIFAR10,
     "Put cifar5_backbone.pt (the playground's 'Show the code' offers it) in data/models/"),
    ("stocks", {**SMALL["stocks"], "SYMBOL": "AAPL"}, (),
     "No internet to download AAPL: put AAPL.csv (the playground's 'Show the code' offers it) in data/stocks/"),
], ids=["mnist", "backbone", "stock"])
def test_a_missing_file_offline_is_one_clear_line(tmp_path, name, values, keep, missing):
    """Offline and without the file: no traceback, the last line says which file goes where."""
    handed = {where: path for where, path in recipes.files(name, **values).items() if where[len("data/"):] in keep}
    done = run_in(tmp_path, name, values, handed)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1].endswith(missing), done.stderr[-500:]


def test_files_name_what_each_recipe_reads_for_its_settings():
    assert recipes.files("ann") == {f"data/{f}": ROOT / "data" / f for f in recipes.MNIST}
    assert set(recipes.files("resnet", DATASET="cifar10")) == {"data/cifar10/train.zip", "data/cifar10/test.zip"}
    assert set(recipes.files("transfer", DATA_DIR="here")) == {
        "here/cifar10/train.zip", "here/cifar10/test.zip", "here/models/cifar5_backbone.pt"}
    assert recipes.files("stocks", SYMBOL="000660") == {"data/stocks/000660.csv": ROOT / "data/stocks/000660.csv"}
    assert recipes.files("stocks", SYMBOL="NOT_SHIPPED") == {}  # the script downloads it
    assert recipes.files("rnn_sine") == {}
    with pytest.raises(KeyError):
        recipes.files("cnn", NOT_A_SETTING=1)


def _file_buttons(at) -> dict[str, bool]:
    """The download buttons that offer a file (their label shows its path as code): label ->
    whether its bytes are sent only when clicked."""
    return {b.proto.label: b.proto.HasField("deferred_file_id") for b in at.get("download_button")
            if "`" in b.proto.label}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_show_code_offers_each_file_the_recipe_reads_and_says_where_it_goes(lang):
    from streamlit.testing.v1 import AppTest

    words = sections(lang, "common")
    at = AppTest.from_string('from ui.code import show_code\nshow_code("transfer", key="t", PER_CLASS=10)\n'
                             'show_code("rnn_sine", key="r")\n', default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    assert not _file_buttons(at) and not at.code  # closed: nothing rendered, nothing offered yet
    at.session_state["t_show_code"] = at.session_state["r_show_code"] = True
    at.run()
    offered = _file_buttons(at)
    expected = {words["download_file"].format(path=where) for where in recipes.files("transfer")}
    assert set(offered) == expected and all(offered.values())  # megabytes: read only when clicked
    assert [c.value for c in at.caption].count(words["code_files"]) == 1  # the transfer recipe's, not rnn_sine's


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_cnn_page_offers_mnist_beside_its_recipe(lang):
    at = open_page("views/cnn/cnn.py", query={"lang": lang})
    assert not at.exception, [e.message for e in at.exception]
    at.session_state["cnn_code_show_code"] = True
    at.run()
    words = sections(lang, "common")
    offered = _file_buttons(at)
    for where in (f"data/{name}" for name in recipes.MNIST):
        assert words["download_file"].format(path=where) in offered, (where, list(offered))
