"""Hover text from models or datasets, made safe for Plotly (which renders it as HTML)."""

from __future__ import annotations

import html


def escape_hover(text: str, max_chars: int = 300) -> str:
    """html.escape(text) cut to max_chars characters, newlines as <br> (Plotly's break)."""
    cut = text if len(text) <= max_chars else text[: max_chars - 1] + "…"
    return html.escape(cut).replace("\n", "<br>")
