"""Stage 6: semantic graphs of the motifs (docs/method.md, "Stage 6")."""
