"""The ann page and its own pieces."""
