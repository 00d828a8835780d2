"""The stocks page and its own pieces."""
