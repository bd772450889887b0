"""Stage 8: figures (t-SNE, Sankey, clustering histories, sweeps) and the HTML explorer."""
