"""Stage 3: prefix -> continuation attribution, the mechanistic view (docs/method.md, "Stage 3").

- `targets`: which continuation tokens are targets (span), where they are read, their weights;
- `sources`: the source index of a prefix (features, error and token nodes) and the
  contraction of target gradients into attribution rows;
- `backward`: one forward pass of a batch of sequences through circuit-tracer's frozen
  replacement model and one backward pass of injected target directions;
- `compute`: a prefix's pooled rows a_n; `records`: stage 2's continuations, checked;
- `model`: the replacement model of the configured model; `stage`: the stage itself;
- `frozen`: the real model with norms, attention patterns and MLP outputs held, the ground
  truth for direct effects (tests, benchmarks).
"""
