"""The engine's hand-written MLP backward pass (core.fast_mlp) against autograd, its reference."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import fast_mlp
from core.engine import TrainConfig, build_seeded, run_to_end, train
from core.models import make_mlp

CPU = torch.device("cpu")


def _batch(n=37, shape=(4, 5), classes=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=g), torch.randint(0, classes, (n,), generator=g)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu"])
@pytest.mark.parametrize("hidden", [(), (16,), (16, 8)])
def test_loss_and_gradients_match_autograd(activation, hidden):
    x, y = _batch()  # (37, 4, 5): the model's Flatten makes it (37, 20)
    torch.manual_seed(1)
    model = make_mlp(in_features=20, hidden=hidden, out_features=6, activation=activation).double()
    x = x.double()
    assert fast_mlp.supports(model, x)

    loss = F.cross_entropy(model(x), y)
    loss.backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters()}

    by_hand = fast_mlp.MLPBackprop(model)
    assert not by_hand.updates_parameters
    logits_out = torch.empty(len(x), 6, dtype=torch.float64)
    logits = by_hand.step(x, y, logits_out=logits_out)
    assert logits.data_ptr() == logits_out.data_ptr()  # written where the engine asked
    assert F.cross_entropy(logits, y).item() == pytest.approx(loss.item(), rel=1e-12)
    torch.testing.assert_close(logits, model(x).detach())
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], rtol=1e-10, atol=1e-12)


def test_supports_only_plain_mlps():
    x2d, _ = _batch(shape=(20,))
    x3d, _ = _batch()
    assert fast_mlp.supports(make_mlp(20, (8,), 6), x3d)
    assert fast_mlp.supports(nn.Sequential(nn.Linear(20, 8), nn.Tanh(), nn.Linear(8, 3)), x2d)
    assert not fast_mlp.supports(nn.Sequential(nn.Linear(20, 3)), x3d)  # needs a Flatten
    assert not fast_mlp.supports(make_mlp(20, (8,), 6, dropout=0.2), x3d)
    assert not fast_mlp.supports(make_mlp(20, (8,), 6, activation="gelu"), x3d)
    assert not fast_mlp.supports(nn.Sequential(nn.Linear(20, 8, bias=False), nn.ReLU(),
                                               nn.Linear(8, 3)), x2d)
    assert not fast_mlp.supports(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Linear(2, 2)), x3d)
    frozen = make_mlp(20, (8,), 6)
    frozen[1].weight.requires_grad_(False)
    assert not fast_mlp.supports(frozen, x3d)
    hooked = make_mlp(20, (8,), 6)
    hooked[1].register_forward_hook(lambda *args: None)
    assert not fast_mlp.supports(hooked, x3d)


@pytest.mark.parametrize("optimizer", ["sgd", "sgd_momentum", "adam"])
def test_engine_trains_the_same_by_hand_and_by_autograd(optimizer):
    x, y = _batch(n=300, classes=6)
    def run(fast_path):
        config = TrainConfig(epochs=3, batch_size=32, lr=0.05 if optimizer != "adam" else 0.01,
                             optimizer=optimizer, weight_decay=1e-3)
        model = build_seeded(lambda: make_mlp(20, (16, 8), 6), seed=0)
        epochs, end = run_to_end(train(model, (x, y), config, CPU, fast_path=fast_path))
        return model, [e["train_loss"] for e in epochs], [e["train_acc"] for e in epochs]
    by_hand, hand_losses, hand_accs = run(True)
    by_autograd, losses, accs = run(False)
    assert hand_losses[-1] < hand_losses[0]
    assert hand_losses == pytest.approx(losses, rel=1e-4)
    assert hand_accs == pytest.approx(accs, abs=0.5)  # at most one sample flips
    for a, b in zip(by_hand.parameters(), by_autograd.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.9, 0.01), (0.5, 0.01)])
def test_sgd_rule_updates_like_torch_optim_sgd(momentum, weight_decay):
    # 20 steps: at momentum 0.5 the buffers' scale is folded back in after 14 of them.
    batches = [_batch(n=17 if s % 5 == 4 else 32, seed=s) for s in range(20)]  # some short
    def fresh():
        torch.manual_seed(3)
        return make_mlp(20, (16,), 6).double()
    reference = fresh()
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=momentum,
                                weight_decay=weight_decay)
    by_hand_model = fresh()
    by_hand = fast_mlp.MLPBackprop(by_hand_model, fast_mlp.SGDRule(0.1, momentum, weight_decay))
    assert by_hand.updates_parameters
    for x, y in batches:
        optimizer.zero_grad()
        F.cross_entropy(reference(x.double()), y).backward()
        optimizer.step()
        by_hand.step(x.double(), y)
    for a, b in zip(by_hand_model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_engine_picks_the_hand_step_once_where_it_applies(monkeypatch):
    """Plain MLP + default cross-entropy: the hand step (fused SGD unless a probe or an optimizer
    of the caller's needs torch.optim); fast_path=False, a loss_fn or a non-MLP: autograd."""
    made = []
    original = fast_mlp.MLPStep.__init__
    def spy(self, model, n, sgd=None, optimizer=None):
        made.append("sgd" if sgd is not None else type(optimizer).__name__)
        original(self, model, n, sgd=sgd, optimizer=optimizer)
    monkeypatch.setattr(fast_mlp.MLPStep, "__init__", spy)
    x, y = _batch(n=64, classes=6)
    def picked(config=TrainConfig(epochs=1, batch_size=32), model=None, **kwargs):
        made.clear()
        model = model or make_mlp(20, (8,), 6)
        run_to_end(train(model, (x, y), config, CPU, **kwargs))
        return made[:]
    assert picked() == ["sgd"]
    assert picked(TrainConfig(epochs=1, batch_size=32, optimizer="sgd")) == ["sgd"]
    assert picked(TrainConfig(epochs=1, batch_size=32, optimizer="adam")) == ["Adam"]
    assert picked(step_probe=lambda m: {"g": m[1].weight.grad.norm().item()}) == ["SGD"]
    model = make_mlp(20, (8,), 6)
    assert picked(model=model, optimizer=torch.optim.RMSprop(model.parameters())) == ["RMSprop"]
    assert picked(fast_path=False) == []
    assert picked(loss_fn=torch.nn.CrossEntropyLoss()) == []
    assert picked(model=make_mlp(20, (8,), 6, dropout=0.2)) == []
