"""The teacher page and its own pieces."""
