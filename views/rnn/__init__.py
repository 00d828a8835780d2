"""The rnn page and its own pieces."""
