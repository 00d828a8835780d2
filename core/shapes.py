"""CNN shape calculator: trace a layer stack's shapes, formulas, parameters and receptive field.

Everything a learner reads (a layer's label, its formulas and notes, why a stack fails and how
to fix it, the torch cross-check's verdict) is core.words.Words naming a section of
content/<language>/cnn.md; the page renders them with ui.content.say. str() of a StackError
and check_against_torch's "message" stay English (core.words.english), for logs and tests.
"""
import contextlib
import math
import operator
from collections import OrderedDict

import torch
from torch import nn

from core.models import count_params
from core.words import Words, english, words

LAYER_TYPES = ("conv", "maxpool", "avgpool", "relu", "flatten", "linear")
TYPE_LABELS = {"conv": "Conv2d", "maxpool": "MaxPool2d", "avgpool": "AvgPool2d",
               "relu": "ReLU", "flatten": "Flatten", "linear": "Linear"}
# Above this many weights or activation numbers per sample, or this many multiply-adds, the
# torch cross-check runs on the "meta" device (shapes and errors only, no arithmetic) instead of
# a real forward pass, so a huge stack typed into the calculator cannot freeze the page.
REAL_FORWARD_LIMIT = 5_000_000
REAL_FORWARD_MACS = 300_000_000


def _say(section: str, /, **values) -> Words:
    """Words from content/<language>/cnn.md, where the shape calculator's sentences live."""
    return words(f"cnn.{section}", **values)


class StackError(ValueError):
    """A layer stack torch would refuse; says which layer, why, and how to fix it.

    `reason_words` and `fix_words` are Words; `words` is the whole message for the page
    (cnn.stack_fails); `reason`, `fix` and str() are the same in English.
    """

    def __init__(self, layer: int | None, reason: Words, fix: Words):
        self.layer = layer  # 1-based, None = the input
        self.reason_words, self.fix_words = reason, fix
        self.reason, self.fix = english(reason), english(fix)
        where = _say("where_input") if layer is None else _say("where_layer", layer=layer)
        self.words = _say("stack_fails", where=where, reason=reason, fix=fix)
        super().__init__(f"{'Input' if layer is None else f'Layer {layer}'}: {self.reason} "
                         f"Suggested fix: {self.fix}")


# --- Reading layer dicts ---------------------------------------------------------------------

def _int(value, name: str, layer: int | None) -> int:
    """An int from an int-like value (numpy ints, 3.0 from a table); anything else is refused.
    `name` is the layer's field; layer None means the input's sizes."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            return int(value)
    if layer is None:
        raise StackError(None, _say("why_input_whole", value=repr(value)), _say("fix_input_whole"))
    raise StackError(layer, _say("why_whole", name=name, value=repr(value)), _say("fix_whole", name=name))


def _field(spec: dict, name: str, layer: int, default=None, minimum: int = 1):
    value = spec.get(name, default)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise StackError(layer, _say("why_empty", type=TYPE_LABELS[spec["type"]], name=name),
                         _say("fix_empty", name=name, layer=layer))
    value = _int(value, name, layer)
    if value < minimum:
        limit = "min1" if minimum == 1 else "min0"
        raise StackError(layer, _say(f"why_{limit}", name=name, value=value), _say(f"fix_{limit}", name=name))
    return value


def normalize_layer(spec: dict, layer: int) -> dict:
    """A layer dict with defaults filled in and ints checked (stride None -> kernel for pools)."""
    kind = str(spec.get("type", "")).strip().lower()
    if kind not in LAYER_TYPES:
        raise StackError(layer, _say("why_type", type=repr(spec.get("type"))),
                         _say("fix_type", types=", ".join(LAYER_TYPES)))
    spec = {**spec, "type": kind}
    if kind == "conv":
        return {"type": kind, "out_channels": _field(spec, "out_channels", layer),
                "kernel_size": _field(spec, "kernel_size", layer),
                "stride": _field(spec, "stride", layer, default=1),
                "padding": _field(spec, "padding", layer, default=0, minimum=0)}
    if kind in ("maxpool", "avgpool"):
        kernel = _field(spec, "kernel_size", layer)
        stride = spec.get("stride")
        if stride is None or (isinstance(stride, float) and math.isnan(stride)):
            stride = kernel  # torch's default: non-overlapping windows
        return {"type": kind, "kernel_size": kernel,
                "stride": _field({**spec, "stride": stride}, "stride", layer),
                "padding": _field(spec, "padding", layer, default=0, minimum=0)}
    if kind == "linear":  # torch accepts 0 output features (an empty layer), so we do too
        return {"type": kind, "out_features": _field(spec, "out_features", layer, minimum=0)}
    return {"type": kind}


def describe(spec: dict) -> Words:
    """A short label such as 'Conv2d 6, 5×5, s1, p0' (English), as Words."""
    kind = spec["type"]
    if kind in ("conv", "maxpool", "avgpool"):
        return _say("layer_conv" if kind == "conv" else "layer_pool", name=TYPE_LABELS[kind],
                    out=spec.get("out_channels"), k=spec["kernel_size"], s=spec["stride"], p=spec["padding"])
    if kind == "linear":
        return _say("layer_linear", out=spec["out_features"])
    return _say("layer_plain", name=TYPE_LABELS[kind])


def _fmt_shape(shape: tuple) -> str:
    return "×".join(str(d) for d in shape)


# --- The trace --------------------------------------------------------------------------------

def _side_formula(axis: str, size: int, k: int, s: int, p: int) -> tuple[int, Words, bool]:
    """Output size along one axis and the notes-style formula, e.g. H = ((28 + 2×0 − 5) / 1) + 1 = 24."""
    top = size + 2 * p - k
    out = top // s + 1
    floored = top % s != 0
    if floored:
        text = _say("formula_side_floor", axis=axis, size=size, p=p, k=k, s=s, quotient=top / s, out=out,
                    top=top, dropped=top % s)
    else:
        text = _say("formula_side", axis=axis, size=size, p=p, k=k, s=s, out=out)
    return out, text, floored


def _spatial(layer: int, spec: dict, shape: tuple, label: Words) -> tuple[int, int, list[Words], bool]:
    """Output H, W for a conv/pool on shape (C, H, W), or StackError exactly where torch refuses."""
    kind, k, s, p = spec["type"], spec["kernel_size"], spec["stride"], spec["padding"]
    if len(shape) != 3:
        raise StackError(layer, _say("why_flat", label=label, shape=_fmt_shape(shape)), _say("fix_flat"))
    _, h, w = shape
    if 0 in shape:  # only a Linear with 0 outputs makes one; torch's conv/pool kernels refuse it
        raise StackError(layer, _say("why_empty_input", label=label, shape=_fmt_shape(shape)),
                         _say("fix_empty_input"))
    if kind != "conv" and p > k // 2:
        raise StackError(layer, _say("why_pool_padding", label=label, p=p, k=k, half=k // 2),
                         _say("fix_pool_padding", half=k // 2, k_min=2 * p))
    if h + 2 * p < k or w + 2 * p < k:
        small = min(h, w)
        need_pad = math.ceil((k - small) / 2)
        if kind == "conv" or need_pad <= k // 2:  # a pool's padding is capped at kernel // 2
            fix = _say("fix_window_pad", k_max=small + 2 * p, pad=need_pad)
        else:
            fix = _say("fix_window", k_max=small + 2 * p)
        reason = (_say("why_window_padded", label=label, k=k, ph=h + 2 * p, pw=w + 2 * p, h=h, w=w, p=p) if p
                  else _say("why_window", label=label, k=k, h=h, w=w))
        raise StackError(layer, reason, fix)
    if h == w:
        out_h, text_h, floor_h = _side_formula("H = W", h, k, s, p)
        return out_h, out_h, [text_h], floor_h
    out_h, text_h, floor_h = _side_formula("H", h, k, s, p)
    out_w, text_w, floor_w = _side_formula("W", w, k, s, p)
    return out_h, out_w, [text_h, text_w], floor_h or floor_w


def trace(input_shape, layers) -> list[dict]:
    """One dict per layer: output_shape (no batch), params, formula lines, receptive field, notes.

    `input_shape` is (C, H, W). Layers are dicts, e.g. {"type": "conv", "out_channels": 6,
    "kernel_size": 5, "stride": 1, "padding": 0}; see LAYER_TYPES. Raises StackError (a
    ValueError) with which layer fails, why and a suggested fix, exactly when torch would refuse.
    A row's "label", "formula" and "notes" are Words (english() gives the English text).
    """
    if len(tuple(input_shape)) != 3:
        raise StackError(None, _say("why_input_dims", got=repr(tuple(input_shape))), _say("fix_input_dims"))
    shape = tuple(_int(d, "input size", None) for d in input_shape)
    if min(shape) < 1:
        raise StackError(None, _say("why_input_min", shape=_fmt_shape(shape)), _say("fix_input_min"))
    return _trace_rows(shape, layers)


def _trace_rows(shape: tuple, layers, first: int = 1) -> list[dict]:
    """The trace from any shape on (no input checks): also used to size layers in build_module."""
    rf, jump = 1, 1  # receptive field (input pixels per output pixel) and its stride in input pixels
    rows = []
    for number, raw in enumerate(layers, start=first):
        spec = normalize_layer(raw, number)
        kind, label = spec["type"], describe(spec)
        formula, notes, params, floored = [], [], 0, False
        if kind in ("conv", "maxpool", "avgpool"):
            out_h, out_w, formula, floored = _spatial(number, spec, shape, label)
            k, s = spec["kernel_size"], spec["stride"]
            if kind == "conv":
                c_in, c_out = shape[0], spec["out_channels"]
                params = c_out * c_in * k * k + c_out
                formula.append(_say("formula_conv_params", c_out=c_out, c_in=c_in, k=k, params=params))
                out = (c_out, out_h, out_w)
            else:
                out = (shape[0], out_h, out_w)
                formula.append(_say("formula_pool", c=shape[0]))
            if rf is not None:
                rf, jump = rf + (k - 1) * jump, jump * s
            if floored:
                notes.append(_say("note_floor"))
            if s > k:
                notes.append(_say("note_skip", s=s, k=k))
        elif kind == "relu":
            out = shape
            formula.append(_say("formula_relu"))
        elif kind == "flatten":
            out = (math.prod(shape),)
            formula.append(_say("formula_flatten", dims=" × ".join(str(d) for d in shape), n=out[0])
                           if len(shape) > 1 else _say("formula_flat_already", n=out[0]))
            rf = None
        else:  # linear acts on the LAST dimension only, like torch
            f_in, f_out = shape[-1], spec["out_features"]
            params = f_in * f_out + f_out
            out = shape[:-1] + (f_out,)
            formula.append(_say("formula_linear_params", f_in=f_in, f_out=f_out, params=params))
            if len(shape) > 1:
                notes.append(_say("note_not_flat", shape=_fmt_shape(shape), f_in=f_in))
            if f_out == 0:
                notes.append(_say("note_zero_out"))
            rf = None
        rows.append({"layer": number, "type": kind, "label": label, "spec": spec,
                     "input_shape": shape, "output_shape": out, "params": params,
                     "formula": formula, "floor": floored,
                     "receptive_field": rf, "jump": jump if rf is not None else None,
                     "notes": notes})
        shape = out
    return rows


def summary(input_shape, rows: list[dict]) -> dict:
    """Totals: parameters, output shape, and numbers stored per sample (activations)."""
    return {"params": sum(r["params"] for r in rows),
            "output_shape": rows[-1]["output_shape"] if rows else tuple(input_shape),
            "activations": sum(math.prod(r["output_shape"]) for r in rows)}


def layers_from_table(records: list[dict]) -> list[dict]:
    """Editor rows {type, out, kernel, stride, padding} (blanks as None/NaN) -> layer dicts."""
    layers = []
    for row in records:
        kind = row.get("type")
        if kind is None or (isinstance(kind, float) and math.isnan(kind)) or str(kind).strip() == "":
            continue  # an empty row the learner added but did not fill
        kind = str(kind).strip().lower()
        spec = {"type": kind}
        if kind == "conv":
            spec.update(out_channels=row.get("out"), kernel_size=row.get("kernel"),
                        stride=_blank_to(row.get("stride"), 1), padding=_blank_to(row.get("padding"), 0))
        elif kind in ("maxpool", "avgpool"):
            spec.update(kernel_size=row.get("kernel"), stride=_blank_to(row.get("stride"), None),
                        padding=_blank_to(row.get("padding"), 0))
        elif kind == "linear":
            spec.update(out_features=row.get("out"))
        layers.append(spec)
    return layers


def _blank_to(value, default):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return value


def layers_to_table(layers: list[dict]) -> list[dict]:
    """Layer dicts -> editor rows (the inverse of layers_from_table)."""
    rows = []
    for spec in layers:
        kind = spec["type"]
        out = spec.get("out_channels", spec.get("out_features"))
        rows.append({"type": kind, "out": out, "kernel": spec.get("kernel_size"),
                     "stride": (spec.get("stride", 1 if kind == "conv" else None)
                                if kind in ("conv", "maxpool", "avgpool") else None),
                     "padding": spec.get("padding", 0) if kind in ("conv", "maxpool", "avgpool") else None})
    return rows


# --- Real torch modules -----------------------------------------------------------------------

def build_module(input_shape, layers, device=None) -> nn.Sequential:
    """The real nn.Sequential for a stack (in_channels/in_features taken from the trace).

    Layers are named conv1, relu1, pool1, ..., flatten, fc1, ... so feature maps can be taken
    by name. Conv and pool are built even for stacks torch refuses; the error comes on forward.
    """
    named = OrderedDict()
    counters: dict[str, int] = {}
    shape = tuple(int(d) for d in input_shape)
    for number, raw in enumerate(layers, start=1):
        spec = normalize_layer(raw, number)
        kind = spec["type"]
        prefix = {"conv": "conv", "maxpool": "pool", "avgpool": "pool", "relu": "relu",
                  "flatten": "flatten", "linear": "fc"}[kind]
        counters[prefix] = counters.get(prefix, 0) + 1
        name = prefix if prefix == "flatten" and counters[prefix] == 1 else f"{prefix}{counters[prefix]}"
        if kind == "conv":
            module = nn.Conv2d(shape[0], spec["out_channels"], spec["kernel_size"], spec["stride"],
                               spec["padding"], device=device)
        elif kind == "maxpool":
            module = nn.MaxPool2d(spec["kernel_size"], spec["stride"], spec["padding"])
        elif kind == "avgpool":
            module = nn.AvgPool2d(spec["kernel_size"], spec["stride"], spec["padding"])
        elif kind == "relu":
            module = nn.ReLU()  # not inplace: hooks must see the conv output unchanged
        elif kind == "flatten":
            module = nn.Flatten()
        else:
            module = nn.Linear(shape[-1], spec["out_features"], device=device)
        named[name] = module
        # Follow the shape so the next layer gets its in_channels/in_features; a layer torch
        # will refuse on forward leaves it as it was (later in-sizes no longer matter).
        with contextlib.suppress(StackError):
            shape = _trace_rows(shape, [spec], number)[0]["output_shape"]
    return nn.Sequential(named)


def check_against_torch(input_shape, layers, batch: int = 2) -> dict:
    """Run the stack in torch and compare with trace: shapes, parameters and validity.

    Returns {"matches", "mode" ("forward" | "meta"), "torch_error", "trace_error",
    "torch_shapes", "torch_params", "words", "message"}: the verdict as Words for the page and
    in English. torch's own error is quoted verbatim. A real CPU forward pass on random input is
    used unless the stack is huge (then the meta device checks shapes and errors without arithmetic).
    """
    try:
        rows, trace_error = trace(input_shape, layers), None
    except StackError as exc:
        rows, trace_error = None, str(exc)
    numbers, macs = _size_guess(input_shape, layers)
    mode = "forward" if numbers <= REAL_FORWARD_LIMIT and macs <= REAL_FORWARD_MACS else "meta"
    device = torch.device("cpu") if mode == "forward" else torch.device("meta")
    torch_shapes, torch_params, torch_error, build_error = [], [], None, None
    try:
        model = build_module(input_shape, layers, device=device)
    except StackError as exc:  # bad field values: torch cannot even build the layer
        model, torch_error, build_error = None, str(exc), exc
    except Exception as exc:  # noqa: BLE001 - report whatever torch says
        model, torch_error = None, f"{type(exc).__name__}: {exc}"
    if model is not None:
        x = torch.randn(batch, *[int(d) for d in input_shape], device=device)
        with torch.no_grad():
            for module in model:
                try:
                    x = module(x)
                except Exception as exc:  # noqa: BLE001 - torch's own refusal, kept verbatim
                    torch_error = f"{type(exc).__name__}: {exc}"
                    break
                torch_shapes.append(tuple(x.shape[1:]))
                torch_params.append(count_params(module))
    if rows is not None and torch_error is None:
        matches = ([r["output_shape"] for r in rows] == torch_shapes
                   and [r["params"] for r in rows] == torch_params)
        said = (_say("torch_matches") if matches else
                _say("torch_disagrees", pairs=str(list(zip([r["output_shape"] for r in rows], torch_shapes)))))
    elif rows is None and build_error is not None:
        matches, said = True, _say("torch_cannot_build", layer=build_error.layer, reason=build_error.reason_words)
    elif rows is None and torch_error is not None:
        matches, said = True, _say("torch_refuses_too", error=torch_error.splitlines()[0][:200])
    elif rows is None:
        matches, said = False, _say("trace_refused_runs")
    else:
        matches, said = False, _say("torch_refused_accepted", error=torch_error)
    return {"matches": matches, "mode": mode, "torch_error": torch_error, "trace_error": trace_error,
            "torch_shapes": torch_shapes, "torch_params": torch_params, "words": said,
            "message": english(said)}


def _size_guess(input_shape, layers) -> tuple[int, int]:
    """(largest parameter count or activation size, total multiply-adds) per sample, roughly."""
    try:
        rows = trace(input_shape, layers)
    except StackError:
        try:  # an invalid stack: size the layers before the failing one
            rows = trace(input_shape, layers[:max(0, _failing_layer(input_shape, layers) - 1)])
        except StackError:
            rows = []
    biggest = math.prod(int(d) for d in input_shape) if len(tuple(input_shape)) == 3 else 0
    macs = 0
    for r in rows:
        out = math.prod(r["output_shape"])
        biggest = max(biggest, r["params"], out)
        if r["type"] in ("conv", "maxpool", "avgpool"):  # each output number reads a k×k window
            k = r["spec"]["kernel_size"]
            macs += out * k * k * (r["input_shape"][0] if r["type"] == "conv" else 1)
        elif r["type"] == "linear":
            macs += r["params"] * max(1, math.prod(r["output_shape"][:-1]))
    return biggest, macs


def _failing_layer(input_shape, layers) -> int:
    try:
        trace(input_shape, layers)
    except StackError as exc:
        return exc.layer or 0
    return len(layers) + 1


# --- Code export ------------------------------------------------------------------------------

def sequential_code(input_shape, layers, name: str = "model", input_word: str = "input") -> str:
    """A PyTorch nn.Sequential snippet for the stack, with shape comments from the trace
    (`input_word`: the first comment's word, in the page's language)."""
    rows = trace(input_shape, layers)
    c, h, w = (int(d) for d in input_shape)
    lines = [f"{name} = nn.Sequential(  # {input_word} (N, {c}, {h}, {w})"]
    for r in rows:
        spec, shape = r["spec"], r["input_shape"]
        kind = spec["type"]
        if kind == "conv":
            code = (f"nn.Conv2d({shape[0]}, {spec['out_channels']}, kernel_size={spec['kernel_size']}, "
                    f"stride={spec['stride']}, padding={spec['padding']}),")
        elif kind in ("maxpool", "avgpool"):
            code = (f"nn.{TYPE_LABELS[kind]}(kernel_size={spec['kernel_size']}, stride={spec['stride']}, "
                    f"padding={spec['padding']}),")
        elif kind == "relu":
            code = "nn.ReLU(),"
        elif kind == "flatten":
            code = "nn.Flatten(),"
        else:
            code = f"nn.Linear({shape[-1]}, {spec['out_features']}),"
        lines.append(f"    {code:<62}# -> (N, {', '.join(str(d) for d in r['output_shape'])})")
    lines.append(")")
    return "\n".join(lines)


# --- Presets ----------------------------------------------------------------------------------

def _conv(out, k, s=1, p=0):
    return {"type": "conv", "out_channels": out, "kernel_size": k, "stride": s, "padding": p}


def _pool(k, s=None, p=0, kind="maxpool"):
    return {"type": kind, "kernel_size": k, "stride": s if s is not None else k, "padding": p}


RELU, FLATTEN = {"type": "relu"}, {"type": "flatten"}


def _linear(n):
    return {"type": "linear", "out_features": n}


MNIST_SIMPLECNN = [_conv(6, 3), RELU, _pool(2), _conv(16, 3), RELU, _pool(2), FLATTEN,
                   _linear(120), RELU, _linear(84), RELU, _linear(10)]
CIFAR_SIMPLECNN = [_conv(32, 3, p=1), RELU, _pool(2), _conv(64, 3, p=1), RELU, _pool(2), FLATTEN,
                   _linear(512), RELU, _linear(10)]

# The calculator's presets, by id; their titles and notes are words (content/<lang>/cnn.md:
# preset_<id> and preset_<id>_note).
PRESETS = {
    "worked_example": {  # the notes' worked example: 28 -> 24 -> 12 -> 8 -> 4
        "input": (1, 28, 28),
        "layers": [_conv(6, 5), RELU, _pool(2), _conv(16, 5), RELU, _pool(2), FLATTEN, _linear(10)],
    },
    "simplecnn_mnist": {  # the notes' SimpleCNN on 28x28: 16x5x5 = 400, not its view(-1, 16*6*6)
        "input": (1, 28, 28),
        "layers": MNIST_SIMPLECNN,
    },
    "simplecnn_cifar": {  # the notes' CIFAR-10 SimpleCNN: padding 1 keeps the size, pools halve it
        "input": (3, 32, 32),
        "layers": CIFAR_SIMPLECNN,
    },
    "vgg_block": {  # two 3x3 convolutions (padding 1) and a 2x2 pool
        "input": (3, 32, 32),
        "layers": [_conv(64, 3, p=1), RELU, _conv(64, 3, p=1), RELU, _pool(2)],
    },
    "resnet_stem": {  # ResNet-18's stem: 224 -> 112 -> 56, both strides floored
        "input": (3, 224, 224),
        "layers": [_conv(64, 7, s=2, p=3), RELU, _pool(3, s=2, p=1)],
    },
}


def preset(name: str) -> tuple[tuple, list[dict]]:
    p = PRESETS[name]
    return p["input"], [dict(layer) for layer in p["layers"]]


# --- A stack as one line of text (the CNN page's shareable link) -----------------------------------

MAX_SHARED_LAYERS = 64  # a link's stack keeps at most this many layers: bounded work for any URL
MAX_SHARED_SIZE = (512, 1024, 1024)  # the input's largest C, H, W (the page's input boxes)
_TEXT_FIELDS = {"conv": ("out_channels", "kernel_size", "stride", "padding"),
                "maxpool": ("kernel_size", "stride", "padding"), "avgpool": ("kernel_size", "stride", "padding"),
                "linear": ("out_features",), "relu": (), "flatten": ()}


def stack_text(input_shape, layers) -> str:
    """An input and its layers as URL-safe text: 1x28x28.conv-6-5-1-0.relu.maxpool-2-2-0.flatten.linear-10
    (a blank field stays blank: conv-6--1-0)."""
    parts = ["x".join(str(int(v)) for v in input_shape)]
    for spec in layers:
        kind = str(spec.get("type", "")).strip().lower()
        values = [spec.get(name) for name in _TEXT_FIELDS.get(kind, ())]
        parts.append("-".join([kind, *("" if _blank(v) else str(int(v)) for v in values)]))
    return ".".join(parts)


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def parse_stack_text(text: str) -> tuple[tuple[int, int, int], list[dict], int]:
    """stack_text's inverse: (input shape, layer dicts, layers dropped past MAX_SHARED_LAYERS).
    Raises ValueError for text that is not such a stack (nothing in it is evaluated)."""
    head, *items = text.strip().split(".")
    shape = tuple(int(v) for v in head.split("x"))
    if len(shape) != 3 or not all(1 <= v <= top for v, top in zip(shape, MAX_SHARED_SIZE)):
        raise ValueError(f"bad input shape {head!r}")
    layers = []
    for item in items[:MAX_SHARED_LAYERS]:
        kind, *values = item.split("-")
        fields = _TEXT_FIELDS.get(kind)
        if fields is None or len(values) > len(fields):
            raise ValueError(f"bad layer {item[:20]!r}")
        numbers = [None if v == "" else int(v) for v in values]
        if any(n is not None and not 0 <= n <= 100_000 for n in numbers):
            raise ValueError(f"bad number in {item[:20]!r}")
        layers.append({"type": kind, **dict(zip(fields, numbers))})
    return shape, layers, max(0, len(items) - MAX_SHARED_LAYERS)
