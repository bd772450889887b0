"""The explorer's HTML pages: a static shell, one JSON data block, one small script.

Every string that came from a model or a dataset travels only inside the data block
(`<script type="application/json">`), where `<`, `>` and `&` are written as \\u003c, \\u003e
and \\u0026, so no text can close the element or open another; the script
(assets/explorer.js) renders it with createElement/textContent, never as HTML. The few
static strings of the shell go through html.escape. Plotly figures are part of the data
block (their JSON) and are drawn with Plotly.newPlot from `assets/plotly.min.js`, a
relative path, so the pages work offline from file://.
"""

from __future__ import annotations

import html
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import plotly.offline

from motif_discovery.utils.io import write_text

PLOTLY_JS = Path("assets") / "plotly.min.js"
DATA_ID = "explorer-data"
JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def asset(name: str) -> str:
    """A file of the package's assets/ folder (the page's script and style)."""
    return resources.files("motif_discovery.visualization").joinpath("assets", name).read_text()


def finite(value: Any) -> Any:
    """`value` with every NaN or infinity replaced by None (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def json_block(data: Any) -> str:
    """`data` as JSON that is safe inside a <script> element: <, > and & escaped, and every
    non-ASCII character as \\uXXXX (so a lone surrogate in a text cannot break the UTF-8
    page)."""
    text = json.dumps(finite(data), ensure_ascii=True, separators=(",", ":"))
    return "".join(JSON_ESCAPES.get(c, c) for c in text)


def render_page(title: str, data: dict[str, Any]) -> str:
    """One page: the shell, the data block and the script (data["kind"] picks the view)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
{asset("explorer.css")}
</style>
<script src="{PLOTLY_JS.as_posix()}"></script>
</head>
<body>
<main id="app"><p class="note">Loading the explorer (it needs JavaScript).</p></main>
<script id="{DATA_ID}" type="application/json">{json_block(data)}</script>
<script>
{asset("explorer.js")}
</script>
</body>
</html>
"""


def prefix_page_name(prefix_id: str) -> str:
    """File name of a prefix's page (prefix ids are file-name safe)."""
    return f"prefix_{prefix_id}.html"


def write_plotly_js(out_dir: Path) -> Path:
    """assets/plotly.min.js from the installed plotly package, written once (kept when its
    content is already the installed version's)."""
    path = out_dir / PLOTLY_JS
    script = plotly.offline.get_plotlyjs()
    if not path.is_file() or path.read_text(encoding="utf-8") != script:
        write_text(path, script)
    return path


def write_page(path: Path, title: str, data: dict[str, Any]) -> Path:
    """Render and write one page atomically."""
    write_text(path, render_page(title, data))
    return path
