"""Runnable "Show the code" scripts: one real Python file per lesson, settings filled in.

Each recipe in this folder is a script that runs as it is. Its settings block, between

    # --- settings ---
    EPOCHS = 10  # passes over the training set
    # --- end of settings ---

holds one constant per line; `render(name, EPOCHS=3)` writes the page's values there (as
Python literals) and keeps the comments. A line ending in `# @optimizer` is rewritten from
`core.engine.optimizer_spec`, the one map from an optimizer name to `torch.optim` code.
`notebook(code)` turns a script into a Jupyter notebook, one cell per `# %%` block.
`files(name, ...)` names the playground's own files a recipe reads (MNIST, the CIFAR-10 subset,
the transfer backbone, a stock's CSV): "Show the code" offers them for download, and the
script looks for them under its DATA_DIR, so it runs in any empty folder, offline too.

The comments are the recipe's prose. `render(..., language="ko")` swaps each one for its
translation in content/ko/recipes/<name>.toml (English comment = translated comment);
identifiers, strings and printed output stay as they are.
"""
import ast
import re
import tomllib
from pathlib import Path

import nbformat

from core.engine import TrainConfig, optimizer_spec

RECIPES_DIR = Path(__file__).resolve().parent
CONTENT_DIR = RECIPES_DIR.parent.parent / "content"
MARKERS = ("%%", "@optimizer", "noqa", "---")  # comments that are syntax, not prose
# A one-line docstring: prose too, translated like a comment.
_DOCSTRING = re.compile(r'^(?P<code>\s*""")(?P<text>[^"]+)(?P<end>"""\s*)$')
# A whole-line comment, or a comment after code (two spaces, "# "); never a "#" inside a string.
_COMMENT = re.compile(r"^(?P<code>(?:[^#\"']|\"[^\"]*\"|'[^']*')*?)(?P<hash>#+ ?)(?P<text>.*)$")
_BLOCK = re.compile(r"(# --- settings ---\n)(.*?)(# --- end of settings ---\n)", re.DOTALL)
_CONSTANT = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*) = (?P<value>.*?)(?P<comment>  # .*)?$")
SHIPPED_DIR = RECIPES_DIR.parent.parent / "data"  # the playground's embedded files (data/README.md)
MNIST = tuple(f"mnist/{split}-{kind}-idx{dims}-ubyte.gz" for split in ("train", "t10k")
              for kind, dims in (("images", 3), ("labels", 1)))
CIFAR10 = ("cifar10/train.zip", "cifar10/test.zip")
# The files under DATA_DIR each recipe reads, for its settings (a dict of its constants).
NEEDS = {
    "ann": lambda s: MNIST,
    "cnn": lambda s: MNIST if s["DATASET"] == "mnist" else CIFAR10,
    "resnet": lambda s: MNIST if s["DATASET"] == "mnist" else CIFAR10,
    "transfer": lambda s: (*CIFAR10, "models/cifar5_backbone.pt"),
    "stocks": lambda s: (f"stocks/{s['SYMBOL']}.csv",),
}
_OPTIMIZER_LINE = re.compile(r"^(?P<indent>\s*)(?P<target>\w+) = torch\.optim\.\w+\((?P<params>[^,]+),"
                             r".*\)(?P<comment>\s*# @optimizer.*)$")


def names() -> list[str]:
    """Every recipe in this folder."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.py") if not p.stem.startswith("_"))


def source(name: str) -> str:
    return (RECIPES_DIR / f"{name}.py").read_text(encoding="utf-8")


def settings(name: str) -> dict[str, str]:
    """The recipe's constants as written in its file: name -> Python source of the value."""
    block = _BLOCK.search(source(name))
    if block is None:
        raise ValueError(f"recipe {name!r} has no '# --- settings ---' block")
    return {m["name"]: m["value"] for line in block[2].splitlines() if (m := _CONSTANT.match(line))}


def files(name: str, **values) -> dict[str, Path]:
    """The playground's files recipe `name` reads with these settings: where the script looks
    for each (relative to the folder it runs in, e.g. "data/mnist/t10k-labels-idx1-ubyte.gz")
    -> the playground's copy. A file the playground has no copy of (a stock typed in by the
    learner) is left out: the script downloads it."""
    if name not in NEEDS:
        return {}
    written = settings(name)
    unknown = sorted(set(values) - set(written))
    if unknown:
        raise KeyError(f"recipe {name!r} has no setting {', '.join(unknown)}")
    current = {key: values[key] if key in values else ast.literal_eval(text) for key, text in written.items()}
    data_dir = Path(current["DATA_DIR"])
    return {(data_dir / relative).as_posix(): SHIPPED_DIR / relative for relative in NEEDS[name](current)
            if (SHIPPED_DIR / relative).exists()}


def optimizer_code(config: TrainConfig, params: str = "model.parameters()", lr: str = "LR") -> str:
    """`torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)` for `config.optimizer`."""
    name, kwargs = optimizer_spec(config)
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return f"torch.optim.{name}({params}, lr={lr}{extra})"


def comments(code: str) -> list[str]:
    """The prose comments and one-line docstrings of a script, in order (markers such as `# %%`
    left out)."""
    found = []
    for line in code.splitlines():
        m = _DOCSTRING.match(line) or _COMMENT.match(line)
        if m and m["text"].strip() and not m["text"].lstrip().startswith(MARKERS):
            found.append(m["text"].strip())
    return found


def translations(name: str, language: str) -> dict[str, str]:
    """English comment -> translated comment for recipe `name` ({} for English)."""
    if language == "en":
        return {}
    path = CONTENT_DIR / language / "recipes" / f"{name}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _translate(code: str, table: dict[str, str]) -> str:
    if not table:
        return code
    lines = []
    for line in code.split("\n"):
        if (m := _DOCSTRING.match(line)) and m["text"].strip() in table:
            line = f"{m['code']}{table[m['text'].strip()]}{m['end']}"
        elif (m := _COMMENT.match(line)) and m["text"].strip() in table:
            line = f"{m['code']}{m['hash']}{table[m['text'].strip()]}"
        lines.append(line)
    return "\n".join(lines)


def render(name: str, optimizer: TrainConfig | None = None, language: str = "en", **values) -> str:
    """The recipe's source with `values` written into its settings block, its comments in
    `language`.

    An unknown constant raises: a page cannot silently fill in a setting the script ignores.
    """
    code = source(name)
    known = settings(name)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise KeyError(f"recipe {name!r} has no setting {', '.join(unknown)}")

    def fill_block(block: re.Match) -> str:
        lines = []
        for line in block[2].splitlines():
            m = _CONSTANT.match(line)
            if m and m["name"] in values:
                line = f"{m['name']} = {values[m['name']]!r}{m['comment'] or ''}"
            lines.append(line)
        return block[1] + "\n".join(lines) + "\n" + block[3]

    code = _BLOCK.sub(fill_block, code, count=1)
    if optimizer is not None:
        code = "\n".join(_fill_optimizer(line, optimizer) for line in code.split("\n"))
    return _translate(code, translations(name, language))


def _fill_optimizer(line: str, config: TrainConfig) -> str:
    m = _OPTIMIZER_LINE.match(line)
    if m is None:
        return line
    return f"{m['indent']}{m['target']} = {optimizer_code(config, m['params'].strip())}{m['comment']}"


def notebook(code: str) -> str:
    """The script as a Jupyter notebook (JSON): a cell per `# %%` block, Markdown for `# %% [markdown]`."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for chunk in re.split(r"^# %%", code, flags=re.MULTILINE):
        if not chunk.strip():
            continue
        header, _, body = chunk.partition("\n")
        if header.strip() == "[markdown]":
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                             for line in body.strip().splitlines())
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            nb.cells.append(nbformat.v4.new_code_cell((header.strip() + "\n" + body).strip()
                                                      if header.strip() else body.strip()))
    nbformat.validate(nb)
    return nbformat.writes(nb)
