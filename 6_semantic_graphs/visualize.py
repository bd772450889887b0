"""Stage 6 heatmaps: per prefix and config, the motifs x prefix tokens heatmap PNG.

    python 6_semantic_graphs/visualize.py --config configs/toy_world.json [--run-dir DIR]

Writes `6_semantic_graphs/<prefix_id>/beta<b>_gamma<g>.png` beside each graph's JSON, at
visualization.dpi. The run directory must hold stage 6's output.
"""

from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser
from motif_discovery.visualization.semantic_graph_plots import save_run_heatmaps


def main(args) -> None:
    config, run_dir = resolve_run(args, create=False)
    written = save_run_heatmaps(run_dir, config.visualization.dpi)
    print(f"wrote {len(written)} heatmap(s) under {run_dir / '6_semantic_graphs'}", flush=True)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))
