"""The toy world: a synthetic language with planted mechanisms, its labeler and a tiny Qwen3.

grammar (world, generator, planted families), labels (ground-truth labeler), tokenizer,
lm (config and checked loader), clozes (pipeline prefixes), train (rebuild from a seed),
evaluate (model vs generator), semantic (a sentence embedder's view of the planted texts),
transcoders and replacement (per-layer transcoders).
"""
