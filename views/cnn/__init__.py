"""The cnn page and its own pieces."""
