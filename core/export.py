"""A kept run's model out of the playground: its weights with the settings that rebuild it (.pt)
and the same network as ONNX, for every run store that keeps weights (REGISTRY).

The .pt file is one `torch.save` of plain data, readable with `torch.load(f, weights_only=True)`
(no pickled classes):

    {"format": FORMAT, "page": <run store key>, "recipe": <core/recipes name, "" if none>,
     "model": <which model of a run with several, else "">,
     "settings": <the run's settings dataclass as JSON-able values>, "state_dict": <tensors>}

The ONNX file comes from PyTorch's TorchScript-based exporter (`dynamo=False`) at opset OPSET:
it writes RNN, LSTM and GRU as ONNX's own RNN/LSTM/GRU operators with a batch axis and (for
sequences) a time axis that stay free, and needs only the onnx package. The dynamo exporter of
this torch (2.14) needs onnxscript too, is many times slower on a CPU (the learner waits on the
click), and unrolls nn.RNN over a fixed number of time steps. The input is named INPUT, the
output OUTPUT.

A new page's store joins with `register(store, Entry(...))`. Never Streamlit.
"""
import dataclasses
import io
import json
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from core import ann, cnn, photos, regression, resnet, rnn, stocks, transfer

FORMAT = "dl-playground-model/1"
OPSET = 18      # ONNX opset: read by onnxruntime 1.14 and later, and by most other runtimes
INPUT, OUTPUT = "input", "output"
AXES = ("batch", "time")  # the input axes an entry may leave free, in this order (axis 0, axis 1)


@dataclass(frozen=True)
class Entry:
    """How to rebuild the model(s) of one run store's runs from a run's settings."""
    recipe: str                                      # core/recipes/<recipe>.py builds the same model; "" if none
    settings: type                                   # the runs' settings dataclass
    build: Callable[[Any, str], nn.Module]           # (settings, model name) -> a fresh model of that shape
    shape: Callable[[Any, str], tuple[int, ...]]     # (settings, model name) -> one input's shape, no batch axis
    models: tuple[str, ...] = ("",)                  # the names in a run's weights; ("",): the run has one model
    free: tuple[str, ...] = ("batch",)               # input axes of any length: "batch", and "time" for sequences
    name: str = ""                                   # the files' name; the recipe's by default

    @property
    def stem(self) -> str:
        return self.name or self.recipe or "model"


REGISTRY: dict[str, Entry] = {}


def register(store: str, entry: Entry) -> None:
    """Make `store`'s runs exportable (a page's runs store key, e.g. "ann_runs")."""
    if entry.free != AXES[:len(entry.free)]:
        raise ValueError(f"free axes must be a prefix of {AXES}, got {entry.free}")
    REGISTRY[store] = entry


def entry(store: str) -> Entry:
    if store not in REGISTRY:
        raise KeyError(f"no export for the run store {store!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[store]


# --- Settings as plain data, and back ---------------------------------------------------------

def settings_dict(settings) -> dict:
    """The settings dataclass as JSON-able values (tuples become lists, nested dataclasses dicts)."""
    if not dataclasses.is_dataclass(settings) or isinstance(settings, type):
        raise TypeError(f"settings must be a dataclass instance, got {type(settings).__name__}")
    values = dataclasses.asdict(settings)
    try:
        return json.loads(json.dumps(values, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{type(settings).__name__} holds a value JSON cannot write: {exc}") from None


def settings_from(cls: type, values: dict):
    """`cls` rebuilt from settings_dict's values: lists back to tuples and dicts back to dataclasses
    where the field says so; fields `values` lacks take their defaults, unknown ones are dropped."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{name: _typed(hints.get(name), value) for name, value in values.items() if name in known})


def _typed(hint, value):
    if isinstance(value, dict):
        kind = next((h for h in _options(hint) if dataclasses.is_dataclass(h)), None)
        return settings_from(kind, value) if kind is not None else value
    if isinstance(value, list) and any(h is tuple or typing.get_origin(h) is tuple for h in _options(hint)):
        return tuple(value)
    return value


def _options(hint) -> tuple:
    """The types a hint allows: `A | None` -> (A, NoneType); `tuple[int, ...]` -> (tuple[int, ...],)."""
    return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, type(int | None)) else (hint,)


# --- One run's models ---------------------------------------------------------------------------

def models_in(store: str, state_dict: dict | None) -> dict[str, dict]:
    """A kept run's weights by model name ("" for a run of one model), in the entry's order: only
    the models the run kept (a stopped run may lack some)."""
    if not state_dict:
        return {}
    models = entry(store).models
    if models == ("",):
        return {"": state_dict}
    return {name: state_dict[name] for name in models if name in state_dict}


def build(store: str, settings, model: str = "") -> nn.Module:
    """A fresh model of the run's shape, in eval mode (its weights are to be loaded)."""
    found = entry(store)
    if model not in found.models:
        raise ValueError(f"{store} has the models {found.models}, not {model!r}")
    return found.build(settings, model).eval()


def loaded(store: str, settings, state_dict: dict, model: str = "") -> nn.Module:
    """The run's model with its weights, on the CPU in eval mode."""
    net = build(store, settings, model)
    net.load_state_dict(state_dict)
    return net


def example_input(store: str, settings, model: str = "", batch: int = 2, seed: int = 0) -> torch.Tensor:
    """A random input the model accepts: (batch, *its input shape), from a seeded generator."""
    shape = entry(store).shape(settings, model)
    return torch.randn(batch, *shape, generator=torch.Generator().manual_seed(seed))


def file_name(store: str, run_id: int, model: str, suffix: str) -> str:
    """e.g. "ann-run3.pt", "resnet-run2-residual.onnx"."""
    return f"{entry(store).stem}-run{run_id}{'-' + model if model else ''}{suffix}"


# --- The files ------------------------------------------------------------------------------------

def pt_bytes(store: str, settings, state_dict: dict, model: str = "") -> bytes:
    """The .pt file of FORMAT: the weights with the settings that rebuild their model."""
    found = entry(store)
    if model not in found.models:
        raise ValueError(f"{store} has the models {found.models}, not {model!r}")
    tensors = {k: v.detach().to("cpu") for k, v in state_dict.items()}
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "page": store, "recipe": found.recipe, "model": model,
                "settings": settings_dict(settings), "state_dict": tensors}, buffer)
    return buffer.getvalue()


def read_pt(data: bytes) -> dict:
    """A .pt file of FORMAT read back without unpickling any class (weights_only=True)."""
    saved = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        found = saved.get("format") if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"not a {FORMAT} file (format: {found!r})")
    return saved


def load_pt(data: bytes) -> tuple[nn.Module, Any]:
    """The model of a .pt file with its weights, and its settings dataclass."""
    saved = read_pt(data)
    found = entry(saved["page"])
    settings = settings_from(found.settings, saved["settings"])
    return loaded(saved["page"], settings, saved["state_dict"], saved["model"]), settings


def onnx_bytes(model: nn.Module, example_input: torch.Tensor, free: tuple[str, ...] = ("batch",)) -> bytes:
    """`model` (in eval mode) as an ONNX file at OPSET; the input axes named in `free` (AXES'
    prefix: batch, then time) may have any length."""
    axes = {i: name for i, name in enumerate(AXES) if name in free}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # the TorchScript exporter is deprecated in favour of the dynamo one (see the module's
        # docstring for why it is used); its tracer flags nn.RNN's input-size checks, and it warns
        # about LSTM batch sizes when the initial states are inputs: these models start from zeros
        # inside the graph (tests/test_export.py runs every model at other batch sizes and lengths)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
        torch.onnx.export(model.eval(), (example_input,), buffer, dynamo=False, opset_version=OPSET,
                          input_names=[INPUT], output_names=[OUTPUT],
                          dynamic_axes={INPUT: axes, OUTPUT: {0: "batch"} if "batch" in free else {}})
    return buffer.getvalue()


def run_onnx_bytes(store: str, settings, state_dict: dict, model: str = "") -> bytes:
    """The ONNX file of a kept run's model."""
    net = loaded(store, settings, state_dict, model)
    return onnx_bytes(net, example_input(store, settings, model), entry(store).free)


# --- The pages' stores ------------------------------------------------------------------------------

def _resnet_twin(s: resnet.ExperimentSettings, model: str) -> nn.Module:
    plain, residual = resnet.build_pair(s.net_config(), s.seed)
    return {"plain": plain, "residual": residual}[model]


def _resnet_tl(s: resnet.TransferConfig, model: str) -> nn.Module:
    """"pretrained" keeps only the new last layer (ResNet-18's ImageNet layers are not the
    learner's to hand on); "scratch" is all of ResNet-18."""
    return resnet.new_head(s.seed) if model == "pretrained" else resnet.scratch_resnet18(s.seed)


register("ann_runs", Entry("ann", ann.AnnSettings, lambda s, m: ann.build_model(s),
                           lambda s, m: ann.IMAGE_SHAPE, name="mnist_ann"))
register("ann_reg_runs", Entry("ann_regression", regression.RegressionSettings,
                               lambda s, m: regression.build_model(s),
                               lambda s, m: (len(s.features),)))
register("cnn_runs", Entry("cnn", cnn.CNNSettings, lambda s, m: cnn.build_cnn(s.dataset, s.seed),
                           lambda s, m: cnn.DATASETS[s.dataset]["input"]))
register("cnn_augment_runs", Entry("cnn", cnn.CNNSettings, lambda s, m: cnn.build_cnn(s.dataset, s.seed),
                                   lambda s, m: cnn.DATASETS[s.dataset]["input"], models=cnn.ARMS,
                                   name="cnn_augment"))
register("resnet_runs", Entry("resnet", resnet.ExperimentSettings, _resnet_twin,
                              lambda s, m: resnet.IN_SHAPES[s.dataset], models=resnet.MODELS))
register("resnet_tl_runs", Entry("", resnet.TransferConfig, _resnet_tl,
                                 lambda s, m: (512,) if m == "pretrained" else (3, s.image_size, s.image_size),
                                 models=("pretrained", "scratch"), name="resnet18_cifar10"))
register("transfer_runs", Entry("transfer", transfer.TransferSettings,
                                lambda s, m: transfer.TransferNet(transfer.Backbone(), transfer.new_head()),
                                lambda s, m: (3, 32, 32), models=transfer.MODES))
register("rnn_runs", Entry("rnn_sine", rnn.SineSettings,
                           lambda s, m: rnn.SeqModel(m, 1, s.hidden_size, s.num_layers),
                           lambda s, m: (s.seq_len, 1), models=rnn.CELLS, free=("batch", "time")))
register("stocks_runs", Entry("stocks", stocks.StockSettings,
                              lambda s, m: stocks.RecurrentForecaster(stocks.CELLS[m], len(s.features), s),
                              lambda s, m: (s.window, len(s.features)), models=tuple(stocks.CELLS),
                              free=("batch", "time")))
register("resnet_photo_runs", Entry("", photos.PhotoSettings,  # the transfer recipe's network, one output per class
                                    lambda s, m: transfer.TransferNet(transfer.Backbone(),
                                                                      transfer.new_head(len(s.classes))),
                                    lambda s, m: (3, photos.SIZE, photos.SIZE), models=photos.MODES,
                                    name="my_photos"))
