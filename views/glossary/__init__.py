"""The glossary page and its own pieces."""
