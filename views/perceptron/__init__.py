"""The perceptron page and its own pieces."""
