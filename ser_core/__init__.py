"""ser_core: speech emotion recognition toolkit."""

__version__ = "0.1.0"
