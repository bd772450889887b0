"""Hypotheses experiments on a finished run: H1 orthogonality of the two views' clusterings,
H2 hallucination detection by motif membership, H3 causal validation by steering
(docs/hypotheses.md); PopQA questions as cloze rows with alias-match correctness."""
