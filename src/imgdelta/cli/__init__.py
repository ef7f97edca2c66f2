"""Command line; nothing in the package imports it."""

from .main import main

__all__ = ["main"]
