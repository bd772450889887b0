"""The source index of a prefix and the contraction of target gradients into rows.

Sources at positions p < P (the prefix; position 0 is the BOS or its stand-in):
- features: the top `max_feature_nodes` transcoder features (layer l, position p, feature f)
  by |a_{l,p,f}| (all when fewer are active), vector a_{l,p,f} W_dec[l, f];
- error nodes: one per (layer, position), vector e_{l,p} = MLP_l(x)_p - transcoder_l(x)_p;
- token nodes: one per position, vector W_E[x_p].
Features and errors at position 0 are zero (circuit-tracer drops them); the token is kept.
The attribution of a source with vector v written at (l, p) to a target is g_{l,p} . v, with
g_{l,p} the target's gradient at layer l's MLP output (token nodes: at the embedding) along
the frozen linear paths. Columns follow circuit-tracer's Graph: features in (layer,
position, feature) order, errors layer-major by position, then tokens.

`activations` per column: the feature activation a_{l,p,f}; ||e_{l,p}|| for an error node
(its vector is ||e|| times a unit direction); 1.0 for a token node (present or not).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from motif_discovery.utils.errors import InputError


@dataclass(frozen=True)
class SourceIndex:
    """Sources of one prefix at positions < n_positions, with the vectors they write."""

    n_layers: int
    n_positions: int
    feature_layer: torch.Tensor  # [k] long
    feature_position: torch.Tensor  # [k] long
    feature_id: torch.Tensor  # [k] long
    feature_activation: torch.Tensor  # [k] float32
    decoder_vectors: torch.Tensor  # [k, d] = a W_dec, model dtype
    error_vectors: torch.Tensor  # [n_layers, n_positions, d]
    token_vectors: torch.Tensor  # [n_positions, d]

    @classmethod
    def from_context(cls, ctx, n_positions: int, max_feature_nodes: int | None) -> SourceIndex:
        """Sources of circuit-tracer's AttributionContext `ctx` (from `setup_attribution`)
        at positions < n_positions; all active features there when max_feature_nodes is None."""
        acts = ctx.activation_matrix.coalesce()
        if len(ctx.decoder_vecs) != acts._nnz():
            raise InputError(
                "model.transcoders: cross-layer transcoders (one feature writing to several "
                "layers) are not supported; use per-layer transcoders"
            )
        layer, position, feature = acts.indices()
        values = acts.values()
        keep = torch.nonzero(position < n_positions).squeeze(1)
        if max_feature_nodes is not None and len(keep) > max_feature_nodes:
            order = torch.argsort(values[keep].abs(), descending=True, stable=True)
            keep = keep[order[:max_feature_nodes]].sort().values
        return cls(
            n_layers=acts.shape[0],
            n_positions=n_positions,
            feature_layer=layer[keep],
            feature_position=position[keep],
            feature_id=feature[keep],
            feature_activation=values[keep].float(),
            decoder_vectors=ctx.decoder_vecs[keep],
            error_vectors=ctx.error_vectors[:, :n_positions],
            token_vectors=ctx.token_vectors[:n_positions],
        )

    @property
    def n_features(self) -> int:
        return len(self.feature_id)

    @property
    def size(self) -> int:
        """d_a = features + (n_layers + 1) * n_positions."""
        return self.n_features + (self.n_layers + 1) * self.n_positions

    def activations(self) -> torch.Tensor:
        """[d_a] float32: feature activations, error-vector norms, 1.0 per token node."""
        errors = self.error_vectors.float().norm(dim=-1).reshape(-1)
        tokens = torch.ones(self.n_positions, device=errors.device)
        return torch.cat([self.feature_activation.to(errors.device), errors, tokens])

    def describe(self) -> dict[str, list]:
        """Per column: kind, layer (null for tokens), position, feature (null unless a feature)."""
        L, P = self.n_layers, self.n_positions
        kinds = ["feature"] * self.n_features + ["error"] * (L * P) + ["token"] * P
        layers = self.feature_layer.tolist() + [l for l in range(L) for _ in range(P)]
        positions = self.feature_position.tolist() + list(range(P)) * (L + 1)
        features = self.feature_id.tolist() + [None] * ((L + 1) * P)
        return {
            "kind": kinds,
            "layer": layers + [None] * P,
            "position": positions,
            "feature": features,
        }

    def contract(self, gradients: list[torch.Tensor]) -> torch.Tensor:
        """Rows [B, d_a] float32 from gradients [embedding, MLP out 0 .. L-1], each [B, T, d]:
        features g_{l,p} . (a W_dec), errors g_{l,p} . e_{l,p}, tokens g_{0,p} . W_E[x_p]."""
        P = self.n_positions
        B = gradients[0].shape[0]
        features = torch.zeros(B, self.n_features, device=gradients[0].device)
        errors = []
        for layer in range(self.n_layers):
            grad = gradients[layer + 1][:, :P].float()
            idx = torch.nonzero(self.feature_layer == layer).squeeze(1)
            if len(idx):
                scores = grad @ self.decoder_vectors[idx].float().T  # [B, P, k_l]
                cols = torch.arange(len(idx), device=scores.device)
                features[:, idx] = scores[:, self.feature_position[idx], cols]
            errors.append(torch.einsum("bpd,pd->bp", grad, self.error_vectors[layer].float()))
        tokens = torch.einsum("bpd,pd->bp", gradients[0][:, :P].float(), self.token_vectors.float())
        return torch.cat([features, *errors, tokens], dim=1)
