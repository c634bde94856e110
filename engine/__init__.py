"""The hall's engine: spec loading and checking, the runtime, the Flask app, storage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app; `flask --app engine run` finds this factory by name."""
    from engine.app import build_app

    return build_app(config)
