"""Stage 8 for one run directory: the figures and the HTML explorer (docs/method.md, "Stage 8").

Per prefix, in `<run>/8_visualization/`: `png/<prefix_id>/*.png` (t-SNE of each view at
each grid config, RD's history per config, the KM-S -> RD -> KM-A Sankey per config, the
beta path's Sankey per gamma, and, where stages 6 and 7c ran, the semantic graph heatmap
and the steering curves per config) and `prefix_<prefix_id>.html`. Then, for the run:
`index.html`, `png/sweep.png` and `assets/plotly.min.js` (from the installed plotly, loaded
by relative path: the pages work offline from file://).

Stage 5's results are required (an InputError naming the missing file before anything is
written); stages 6 and 7 are optional: the pages show what exists and say what is missing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from motif_discovery.clustering.outputs import prefix_dir, read_summary
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.utils.config import Config
from motif_discovery.utils.io import remove_stale
from motif_discovery.utils.shard import shard_ids
from motif_discovery.utils.stage import Stage, Unit, run_stage
from motif_discovery.utils.threads import one_thread
from motif_discovery.visualization.explorer_index import index_data
from motif_discovery.visualization.explorer_inputs import PrefixInputs, check_stage5
from motif_discovery.visualization.explorer_prefix import prefix_data
from motif_discovery.visualization.html_explorer import (
    prefix_page_name,
    write_page,
    write_plotly_js,
)

STAGE = Stage(
    name="8_visualization",
    config_keys=("visualization", "clustering.K_clamp"),
    code=(
        "visualization",
        "visualization/assets/explorer.js",
        "visualization/assets/explorer.css",
        "clustering/outputs.py",
        "clustering/rd_objective.py",
        "data/prefixes.py",
        "embedding/features.py",
        "utils",
    ),
)
INDEX = "index.html"

log = logging.getLogger(__name__)


def run(config: Config, run_dir: Path, *, force: bool = False, shard: str = "0/1") -> Path:
    """Stage 8 over this shard's prefixes, then the index; returns the index's path."""
    check_stage5(run_dir)
    prefixes = load_prefixes(run_dir)
    by_id = {row["prefix_id"]: row for row in prefixes}
    mine = set(shard_ids(list(by_id), shard))
    inputs = {pid: PrefixInputs.find(run_dir, pid) for pid in by_id if pid in mine}
    units = [
        Unit(pid, inputs[pid].files if pid in inputs else (), values=row)
        for pid, row in by_id.items()
    ]
    out_dir = run_dir / STAGE.name

    def process(prefix_id: str) -> list[Path]:
        png_dir = out_dir / "png" / prefix_id
        text = by_id[prefix_id].get("text", "")
        with one_thread():
            data, pngs = prefix_data(config, run_dir, inputs[prefix_id], text, png_dir)
        page = write_page(out_dir / prefix_page_name(prefix_id), f"{prefix_id} · motifs", data)
        remove_stale(png_dir, pngs, "*.png")
        return [*pngs, page]

    plotly_js = write_plotly_js(out_dir)
    run_stage(
        STAGE, config, run_dir, units, process, force=force, shard=shard, shared_outputs=[plotly_js]
    )
    summaries = {
        pid: read_summary(run_dir, pid)
        for pid in by_id
        if (prefix_dir(run_dir, pid) / "summary.json").is_file()
    }
    listed = [row for row in prefixes if row["prefix_id"] in summaries]
    data, pngs = index_data(config, run_dir, listed, summaries, out_dir)
    index = write_page(out_dir / INDEX, "Motif discovery explorer", data)
    log.info("%s: index and %d run-level PNG(s) written", STAGE.name, len(pngs))
    return index
