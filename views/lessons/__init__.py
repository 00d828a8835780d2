"""The lessons page and its own pieces."""
