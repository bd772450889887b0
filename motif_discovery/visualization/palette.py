"""One colour per motif id, shared by every figure and by the explorer's tables."""

from __future__ import annotations

# tab10, then its light companions (tab20's second shades); motif k gets PALETTE[k % 20].
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)


def motif_colour(k: int) -> str:
    """Colour "#rrggbb" of motif k (the palette repeats after 20 motifs)."""
    return PALETTE[int(k) % len(PALETTE)]


def rgba(colour: str, alpha: float) -> str:
    """ "#rrggbb" -> "rgba(r, g, b, alpha)" (translucent Plotly links and bands)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"
