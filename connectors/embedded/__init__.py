"""The embedded reference core system of the fund centre."""

from connectors.embedded.core import EmbeddedCore

__all__ = ["EmbeddedCore"]
