"""Stage 7: validation of the motifs (7a graph validation, 7c steering)."""
