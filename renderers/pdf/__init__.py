"""PDF certificates: print templates, their stylesheet and the shipped CJK font."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
