"""Every "Show the code" recipe: renders, compiles, becomes a valid notebook, and has a test
that runs it against the engine's figure."""
from pathlib import Path

import nbformat
import pytest

from core import recipes
from core.engine import TrainConfig

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
