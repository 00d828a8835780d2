"""The resnet page and its own pieces."""
