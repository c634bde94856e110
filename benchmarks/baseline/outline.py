"""The parts of a service page that the engine and the hand-written page must share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# The CSRF token differs between two renders, so comparisons blank it out.
CSRF_TOKEN = re.compile(r'("X-CSRFToken": "|name="csrf_token" value=")[^"]*"')


@dataclass(frozen=True)
class Outline:
    """The input names of a page's form and the messages of its error summary."""

    field_names: tuple[str, ...]
    error_messages: tuple[str, ...]


class _OutlineParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.field_names: list[str] = []
        self.error_messages: list[str] = []
        self.summary_depth = 0
        self.item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("input", "select", "textarea") and attributes.get("name"):
            self.field_names.append(str(attributes["name"]))
        if tag == "div" and attributes.get("id") == "error-summary":
            self.summary_depth = 1
        elif tag == "div" and self.summary_depth:
            self.summary_depth += 1
        if tag == "li" and self.summary_depth:
            self.item = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self.item is not None:
            self.error_messages.append("".join(self.item).strip())
            self.item = None
        if tag == "div" and self.summary_depth:
            self.summary_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.item is not None:
            self.item.append(data)


def outline(html: str) -> Outline:
    """Read the form's input names, in page order, and the error summary's messages."""
    parser = _OutlineParser()
    parser.feed(html)
    parser.close()
    return Outline(tuple(parser.field_names), tuple(parser.error_messages))


def normalised(html: str) -> str:
    """Return the page with CSRF tokens blanked and whitespace between tags dropped."""
    text = CSRF_TOKEN.sub(r'\1"', html)
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s*>\s*", ">", re.sub(r"\s*<\s*", "<", text))
