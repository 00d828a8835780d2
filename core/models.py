"""Small model builders shared by pages, tests and the benchmark."""
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
}


def activation_name(key: str) -> str:
    """An ACTIVATIONS key as PyTorch names the layer ("leaky_relu" -> "LeakyReLU")."""
    return ACTIVATIONS[key].__name__


def make_mlp(in_features: int = 784, hidden: tuple[int, ...] = (128, 64), out_features: int = 10,
             activation: str = "relu", dropout: float = 0.0) -> nn.Sequential:
    """Flatten -> [Linear -> activation (-> Dropout)] * len(hidden) -> Linear.

    The default is the course notebook's SimpleANN, 784-128-64-10 (109,386 parameters).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = [nn.Flatten()]  # (N, 1, 28, 28) or (N, 28, 28) -> (N, 784)
    width = in_features
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def with_weights(model: nn.Module, state_dict: dict) -> nn.Module:
    """`model` holding a kept run's weights, in eval mode (a kept run is read, not trained)."""
    model.load_state_dict(state_dict)
    return model.eval()
