"""Stage 2: branch sampling — sample continuations of a prefix, score them, keep the top N."""
