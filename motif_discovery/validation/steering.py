"""Stage 7c's intervention on the real model (Hugging Face forward, MLPs not replaced).

At each steered feature f (layer l, position t) of a row, layer l's MLP output gets

    delta = eps * sign(H_c[f]) * act_f * W_dec[f],

with act_f re-encoded by layer l's transcoder from the MLP input of the same pass (so later
layers see earlier layers' steering): the feature's activation becomes act_f (1 + eps sign).
A row's value is the weighted centred logit sum_j w_j (logit(t_j) - mean_v logit(v)) at its
targets (position, token, weight; attribution.targets), read from the final hidden states
at the target positions only (no [T, V] logits). Rows go through padded forwards of
`batch_size` sequences: right padding is exact for a causal model at the positions read,
and each layer's steering of the whole batch is one hook given as tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel

from motif_discovery.attribution.frozen import centred
from motif_discovery.attribution.targets import TargetRow
from motif_discovery.model.hooks import MlpHook, check_hook_points, mlp_hooks
from motif_discovery.model.transcoders import Transcoders

PAD_ID = 0  # any id: right padding is never attended to by the positions read


@dataclass(frozen=True)
class Steer:
    """The features steered in one row, as columns: layer, position, feature id and
    coefficient eps * sign(H_c[f])."""

    layer: np.ndarray
    position: np.ndarray
    feature: np.ndarray
    coeff: np.ndarray

    @classmethod
    def of(cls, features: Sequence[dict], eps: float) -> Steer:
        """From rows {"layer", "position", "feature", "H_c"} at strength eps."""
        return cls(
            np.array([f["layer"] for f in features], dtype=np.int64),
            np.array([f["position"] for f in features], dtype=np.int64),
            np.array([f["feature"] for f in features], dtype=np.int64),
            np.array([eps * np.sign(f["H_c"]) for f in features], dtype=np.float64),
        )


@dataclass(frozen=True)
class Row:
    """One sequence (an index into the sequences) with its steering (None: unsteered)."""

    sequence: int
    steer: Steer | None


@dataclass(frozen=True)
class LayerPlan:
    """One layer's steering of a batch: batch rows, positions, features, coefficients
    [M] and decoder rows W_dec[feature] [M, d_model]."""

    rows: torch.Tensor
    positions: torch.Tensor
    features: torch.Tensor
    coeffs: torch.Tensor
    decoders: torch.Tensor


def steering_hook(transcoders: Transcoders, plan: dict[int, LayerPlan]) -> MlpHook:
    """The MLP hook adding coeff * act_f * W_dec[f] at every planned (row, position), act_f
    re-encoded from the hooked MLP input."""

    def hook(layer: int, mlp_input: torch.Tensor, output: torch.Tensor) -> torch.Tensor | None:
        step = plan.get(layer)
        if step is None:
            return None
        acts = transcoders.encode(layer, mlp_input[step.rows, step.positions])
        act_f = acts.gather(1, step.features[:, None])[:, 0]
        delta = (step.coeffs * act_f)[:, None] * step.decoders
        steered = output.clone()
        steered.index_put_((step.rows, step.positions), delta.to(output.dtype), accumulate=True)
        return steered

    return hook


def check_steerable(transcoders: Transcoders) -> None:
    """Steering (7c) adds to, and replacement (7a) swaps, what mlp_hooks hooks (the MLP
    input, and the MLP output after the post-MLP norm where there is one, as in Gemma 2/3):
    the transcoders must read and write there."""
    check_hook_points(transcoders.layers.feature_input_hook, transcoders.layers.feature_output_hook)


class Steerer:
    """Batched steered forwards of one model with its transcoders; counts forward passes."""

    def __init__(self, model: PreTrainedModel, transcoders: Transcoders, batch_size: int):
        check_steerable(transcoders)
        self.model = model
        self.transcoders = transcoders
        self.batch_size = batch_size
        self.forward_passes = 0
        self._decoders: dict[tuple[int, int], torch.Tensor] = {}

    def decoder_rows(self, layer: int, features: np.ndarray) -> torch.Tensor:
        """W_dec[layer][features] [M, d_model] on the model's device (cached per feature)."""
        missing = sorted({int(f) for f in features if (layer, int(f)) not in self._decoders})
        if missing:
            rows = self.transcoders.decoder_rows(layer, torch.tensor(missing))
            for f, row in zip(missing, rows, strict=True):
                self._decoders[(layer, f)] = row.to(self.model.device)
        return torch.stack([self._decoders[(layer, int(f))] for f in features])

    def plan(self, steers: Sequence[Steer | None]) -> dict[int, LayerPlan]:
        """Per layer, the steering of a batch whose row b is steered by steers[b]."""
        parts = [
            (np.full(len(s.layer), b), s.layer, s.position, s.feature, s.coeff)
            for b, s in enumerate(steers)
            if s is not None
        ]
        if not parts:
            return {}
        rows, layers, positions, features, coeffs = (
            np.concatenate(c) for c in zip(*parts, strict=True)
        )
        device, dtype = self.model.device, self.transcoders.dtype
        out = {}
        for layer in np.unique(layers):
            at = layers == layer
            out[int(layer)] = LayerPlan(
                torch.from_numpy(rows[at]).to(device),
                torch.from_numpy(positions[at]).to(device),
                torch.from_numpy(features[at]).to(device),
                torch.from_numpy(coeffs[at]).to(device=device, dtype=dtype),
                self.decoder_rows(int(layer), features[at]).to(dtype),
            )
        return out

    def measure(
        self, sequences: Sequence[Sequence[int]], targets: Sequence[TargetRow], rows: Sequence[Row]
    ) -> np.ndarray:
        """[len(rows)] float64: each row's weighted centred logit at its sequence's targets
        (targets[i] belongs to sequences[i]) under its steering."""
        order = sorted(range(len(rows)), key=lambda r: -len(sequences[rows[r].sequence]))
        values = np.empty(len(rows))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch = [rows[r] for r in chunk]
            values[chunk] = self._forward(
                [sequences[r.sequence] for r in batch],
                [targets[r.sequence] for r in batch],
                [r.steer for r in batch],
            )
        return values

    @torch.no_grad()
    def _forward(
        self,
        sequences: list[Sequence[int]],
        targets: list[TargetRow],
        steers: list[Steer | None],
    ) -> np.ndarray:
        """One padded forward; the rows' values."""
        device = self.model.device
        width = max(len(s) for s in sequences)
        ids = torch.full((len(sequences), width), PAD_ID, dtype=torch.long)
        for b, seq in enumerate(sequences):
            ids[b, : len(seq)] = torch.tensor(seq)
        hook = steering_hook(self.transcoders, self.plan(steers))
        with mlp_hooks(self.model, hook, self.transcoders.layers.feature_input_hook):
            hidden = self.model.model(input_ids=ids.to(device), use_cache=False).last_hidden_state
        self.forward_passes += 1
        owner = np.concatenate([np.full(len(t.positions), b) for b, t in enumerate(targets)])
        positions = np.concatenate([t.positions for t in targets])
        tokens = torch.tensor(np.concatenate([t.tokens for t in targets]), device=device)
        weights = torch.tensor(np.concatenate([t.weights for t in targets]), device=device)
        read = hidden[torch.from_numpy(owner).to(device), torch.from_numpy(positions).to(device)]
        logits = centred(self.model.get_output_embeddings()(read).double())
        picked = logits.gather(1, tokens[:, None])[:, 0] * weights.double()
        sums = torch.zeros(len(sequences), dtype=torch.float64, device=device)
        sums.index_add_(0, torch.from_numpy(owner).to(device), picked)
        return sums.cpu().numpy()
