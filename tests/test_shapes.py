"""core.shapes: trace agrees with torch (shapes, parameters, validity); presets give the notes' numbers."""
import random

import pytest
import torch

from core import shapes
from core.shapes import StackError, trace
from core.words import Words, english, sections

pytestmark = pytest.mark.usefixtures("one_thread")


def _random_layer(rng: random.Random) -> dict:
    kind = rng.choices(["conv", "maxpool", "avgpool", "relu", "flatten", "linear"],
                       weights=[5, 3, 2, 2, 1, 1])[0]
    if kind == "conv":
        return {"type": "conv", "out_channels": rng.randint(1, 5), "kernel_size": rng.randint(1, 7),
                "stride": rng.randint(1, 3), "padding": rng.randint(0, 3)}
    if kind in ("maxpool", "avgpool"):
        return {"type": kind, "kernel_size": rng.randint(1, 5),
                "stride": rng.choice([None, 1, 2, 3]), "padding": rng.randint(0, 3)}
    if kind == "linear":
        return {"type": "linear", "out_features": rng.randint(0, 6)}
    return {"type": kind}


def _torch_run(input_shape, layers):
    """Build the stack by hand in torch (independently of core.shapes) and run a batch of 2.

    Returns (shapes per layer, params per layer) or None when torch refuses.
    """
    from torch import nn

    x = torch.randn(2, *input_shape)
    out_shapes, params = [], []
    try:
        for spec in layers:
            kind = spec["type"]
            if kind == "conv":
                m = nn.Conv2d(x.shape[1], spec["out_channels"], spec["kernel_size"], spec["stride"],
                              spec["padding"])
            elif kind == "maxpool":
                m = nn.MaxPool2d(spec["kernel_size"], spec["stride"], spec["padding"])
            elif kind == "avgpool":
                m = nn.AvgPool2d(spec["kernel_size"], spec["stride"], spec["padding"])
            elif kind == "relu":
                m = nn.ReLU()
            elif kind == "flatten":
                m = nn.Flatten()
            else:
                m = nn.Linear(x.shape[-1], spec["out_features"])
            with torch.no_grad():
                x = m(x)
            out_shapes.append(tuple(x.shape[1:]))
            params.append(sum(p.numel() for p in m.parameters()))
    except (RuntimeError, IndexError, ValueError):
        return None
    return out_shapes, params


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_trace_agrees_with_torch_on_random_stacks():
    rng = random.Random(1234)
    valid = invalid = 0
    for _ in range(600):
        input_shape = (rng.randint(1, 3), rng.randint(1, 20), rng.randint(1, 20))
        layers = [_random_layer(rng) for _ in range(rng.randint(1, 6))]
        expected = _torch_run(input_shape, layers)
        try:
            rows = trace(input_shape, layers)
        except ValueError as exc:
            assert expected is None, f"trace refused a stack torch runs: {input_shape} {layers}: {exc}"
            assert "Suggested fix" in str(exc)
            invalid += 1
            continue
        assert expected is not None, f"trace accepted a stack torch refuses: {input_shape} {layers}"
        assert [r["output_shape"] for r in rows] == expected[0], (input_shape, layers)
        assert [r["params"] for r in rows] == expected[1], (input_shape, layers)
        assert all(isinstance(r["params"], int) and isinstance(r["output_shape"], tuple) for r in rows)
        valid += 1
    assert valid > 150 and invalid > 150, (valid, invalid)  # both kinds were really exercised


def test_check_against_torch_uses_the_real_module():
    for name in shapes.PRESETS:
        input_shape, layers = shapes.preset(name)
        check = shapes.check_against_torch(input_shape, layers)
        assert check["matches"] and check["message"] == "✓ matches torch", (name, check)
    bad = shapes.check_against_torch((1, 4, 4), [{"type": "conv", "out_channels": 2, "kernel_size": 5}])
    assert bad["matches"] and bad["trace_error"] and "Kernel size" in bad["torch_error"]


def test_worked_example_preset():
    input_shape, layers = shapes.preset("worked_example")
    rows = trace(input_shape, layers)
    spatial = [r["output_shape"][1] for r in rows if r["type"] in ("conv", "maxpool")]
    assert spatial == [24, 12, 8, 4]
    assert english(rows[0]["formula"][0]) == "H = W = ((28 + 2×0 − 5) / 1) + 1 = 24"
    assert english(rows[0]["label"]) == "Conv2d 6, 5×5, s1, p0"
    assert rows[0]["receptive_field"] == 5 and rows[2]["receptive_field"] == 6
    assert rows[3]["receptive_field"] == 14 and rows[5]["receptive_field"] == 16


def test_simplecnn_on_mnist_is_16x5x5_not_16x6x6():
    input_shape, layers = shapes.preset("simplecnn_mnist")
    rows = trace(input_shape, layers)
    flat = next(r for r in rows if r["type"] == "flatten")
    assert flat["input_shape"] == (16, 5, 5) and flat["output_shape"] == (400,)
    second_pool = [r for r in rows if r["type"] == "maxpool"][1]
    assert second_pool["floor"] and "⌊4.5⌋" in english(second_pool["formula"][0])
    # the same convolutions on 32×32 give the 16×6×6 the notes' code assumes
    conv_part = layers[:layers.index({"type": "flatten"})]
    assert trace((1, 32, 32), conv_part)[-1]["output_shape"] == (16, 6, 6)
    assert sum(r["params"] for r in rows) == 60 + 880 + 48120 + 10164 + 850


def test_cifar_simplecnn_and_resnet_stem():
    rows = trace(*shapes.preset("simplecnn_cifar"))
    flat = next(r for r in rows if r["type"] == "flatten")
    assert flat["input_shape"] == (64, 8, 8) and flat["output_shape"] == (4096,)
    rows = trace(*shapes.preset("resnet_stem"))
    assert [r["output_shape"] for r in rows] == [(64, 112, 112), (64, 112, 112), (64, 56, 56)]
    assert rows[0]["floor"] and rows[2]["floor"]
    assert rows[0]["params"] == 64 * 3 * 7 * 7 + 64
    rows = trace(*shapes.preset("vgg_block"))
    assert rows[-1]["output_shape"] == (64, 16, 16) and rows[2]["receptive_field"] == 5


@pytest.mark.parametrize("input_shape, layers, layer, words", [
    ((1, 4, 4), [{"type": "conv", "out_channels": 2, "kernel_size": 5}], 1, "padding ≥ 1"),
    ((1, 8, 8), [{"type": "maxpool", "kernel_size": 3, "padding": 2}], 1, "padding ≤ 1"),
    ((1, 8, 8), [{"type": "flatten"}, {"type": "conv", "out_channels": 2, "kernel_size": 1}], 2,
     "move Flatten"),
    ((1, 8, 8), [{"type": "relu"}, {"type": "conv", "kernel_size": 3}], 2, "out_channels"),
    ((1, 8, 8), [{"type": "dense"}], 1, "one of"),
    ((1, 8, 8), [{"type": "conv", "out_channels": 2, "kernel_size": 3, "stride": 0}], 1, "stride"),
])
def test_invalid_stacks_name_the_layer_and_a_fix(input_shape, layers, layer, words):
    with pytest.raises(ValueError) as info:
        trace(input_shape, layers)
    assert isinstance(info.value, StackError) and info.value.layer == layer
    assert words in str(info.value)
    said = info.value.words  # what the page shows: the same sentences, from content/<lang>/cnn.md
    assert said.key == "cnn.stack_fails" and said.values["reason"] == info.value.reason_words
    assert words in english(said) and f"layer {layer}" in english(said)


def test_linear_without_flatten_acts_on_the_last_dimension_like_torch():
    rows = trace((2, 5, 7), [{"type": "linear", "out_features": 3}])
    assert rows[0]["output_shape"] == (2, 5, 3) and rows[0]["params"] == 7 * 3 + 3
    assert "Flatten" in english(rows[0]["notes"][0])


def test_everything_a_learner_reads_is_words_with_both_languages():
    """Labels, formulas, notes, refusals and the torch verdict name content sections that exist
    in English and Korean (the page renders them with ui.content.say)."""
    said = []
    for name in shapes.PRESETS:
        rows = trace(*shapes.preset(name))
        said += [r["label"] for r in rows] + [w for r in rows for w in r["formula"] + r["notes"]]
        said.append(shapes.check_against_torch(*shapes.preset(name))["words"])
    said += [r["label"] for r in trace((2, 5, 7), [{"type": "linear", "out_features": 0}])]
    said += [w for r in trace((1, 5, 5), [{"type": "maxpool", "kernel_size": 1, "stride": 3},
                                          {"type": "linear", "out_features": 0}]) for w in r["notes"]]
    for layers in ([{"type": "conv", "out_channels": 2, "kernel_size": 5}], [{"type": "dense"}],
                   [{"type": "conv", "out_channels": 2, "kernel_size": 3, "stride": 0}],
                   [{"type": "conv", "out_channels": 2.5, "kernel_size": 3}]):
        with pytest.raises(StackError) as info:
            trace((1, 4, 4), layers)
        said += [info.value.words, shapes.check_against_torch((1, 4, 4), layers)["words"]]
    with pytest.raises(StackError) as info:
        trace((1, 0, 4), [])
    said.append(info.value.words)

    def keys(w: Words) -> set[str]:
        return {w.key}.union(*(keys(v) for v in w.values.values() if isinstance(v, Words)))

    found = set().union(*map(keys, said))
    assert {"cnn.formula_side_floor", "cnn.note_skip", "cnn.note_zero_out", "cnn.why_whole",
            "cnn.torch_cannot_build", "cnn.torch_refuses_too", "cnn.why_input_min"} <= found
    for key in found:
        page, _, name = key.partition(".")
        assert name in sections("en", page) and name in sections("ko", page), key
    assert all(english(w) for w in said)


def test_table_round_trip_and_sequential_export_runs():
    input_shape, layers = shapes.preset("simplecnn_cifar")
    table = shapes.layers_to_table(layers)
    table.append({"type": None, "out": None, "kernel": None, "stride": None, "padding": None})
    assert shapes.layers_from_table(table) == layers
    code = shapes.sequential_code(input_shape, layers)
    namespace = {"nn": torch.nn}
    exec(code, namespace)  # the snippet is real PyTorch
    assert namespace["model"](torch.zeros(2, *input_shape)).shape == (2, 10)
    model = shapes.build_module(input_shape, layers)
    assert [n for n, _ in model.named_children()][:3] == ["conv1", "relu1", "pool1"]


def test_huge_stacks_are_checked_on_the_meta_device():
    layers = [{"type": "conv", "out_channels": 512, "kernel_size": 3, "padding": 1}] * 2
    check = shapes.check_against_torch((512, 224, 224), layers)
    assert check["mode"] == "meta" and check["matches"]
    small = shapes.check_against_torch(*shapes.preset("resnet_stem"))
    assert small["mode"] == "forward" and small["matches"]
