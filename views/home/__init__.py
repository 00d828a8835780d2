"""The home page and its own pieces."""
