"""Connectors: the only code that talks to systems outside the hall."""
