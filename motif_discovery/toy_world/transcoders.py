"""Training the toy world's per-layer transcoders (MLP input -> MLP output) and saving them.

    python -m motif_discovery.toy_world.transcoders [--model data/toy_world/model]
        [--out data/toy_world/transcoders] [--seed 0] [--small] [--threads 1]

For layer l, h = post_attention_layernorm output and m = MLP(h) at every non-BOS position
of a corpus drawn from the grammar. The transcoder

    a = ReLU(TopK_k(W_enc h + b_enc)),  m_hat = a W_dec + b_dec

is fit by Adam on the normalized MSE (= fraction of variance unexplained, FVU) plus the AuxK
loss of Gao et al. (2024): the residual m - m_hat is reconstructed from the aux_k largest
pre-activations among latents that have not fired for `dead_steps` steps, weighted by
`aux_coef`. Training runs in normalized coordinates (h / s_h, (m - mu_m) / s_m, unit-norm
decoder rows); the saved weights fold the scales back in, so the saved transcoder takes raw
h and returns raw m. Position 0 (BOS) is skipped: circuit-tracer zeroes its features.
"""

import argparse
import json
import math
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from circuit_tracer.transcoder import SingleLayerTranscoder, TranscoderSet
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from motif_discovery.model.hooks import mlp_hooks
from motif_discovery.toy_world.grammar import episode_text, make_world, sample_episode
from motif_discovery.toy_world.lm import episode_ids, load_toy_model
from motif_discovery.toy_world.replacement import (
    ACTIVATION_NAME,
    FEATURE_INPUT_HOOK,
    FEATURE_OUTPUT_HOOK,
    FORMAT_VERSION,
    METADATA_FILE,
    MODEL_WEIGHTS_FILE,
    TopKReLU,
    layer_file,
    topk_relu,
)
from motif_discovery.toy_world.tokenizer import pad_rows
from motif_discovery.utils.io import save_tensors, sha256_file, write_json


@dataclass(frozen=True)
class TrainSettings:
    """Corpus size, transcoder shape and optimizer schedule of one training run."""

    d_transcoder: int = 1024
    k: int = 16
    aux_k: int = 128
    aux_coef: float = 1 / 32
    dead_steps: int = 50
    n_episodes: int = 16_000
    heldout_fraction: float = 0.1
    steps: int = 2000
    batch_size: int = 1024
    lr: float = 3e-3
    decay_fraction: float = 0.3
    collect_batch: int = 256


FULL = TrainSettings()
SMALL = TrainSettings(d_transcoder=256, k=8, aux_k=32, n_episodes=1500, steps=500, batch_size=256)


def corpus(
    tokenizer: PreTrainedTokenizerFast, seed: int, n_episodes: int, small: bool
) -> list[list[int]]:
    """Token ids of `n_episodes` grammar episodes: BOS, the episode's words, EOS."""
    world = make_world(seed, small=small)
    rng = random.Random(f"transcoder-corpus-{seed}")
    documents = []
    for _ in range(n_episodes):
        prefix, _, continuation = sample_episode(rng, world)
        documents.append(episode_ids(tokenizer, episode_text(prefix, continuation)))
    return documents


def padded_batches(
    documents: list[list[int]], batch: int, pad_id: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(input_ids, attention_mask) batches of `batch` documents, right-padded."""
    for start in range(0, len(documents), batch):
        yield pad_rows(documents[start : start + batch], pad_id)


@torch.no_grad()
def collect_mlp_pairs(
    model: PreTrainedModel, documents: list[list[int]], batch: int, pad_id: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per layer (h, m): the MLP inputs and outputs at every non-pad position >= 1."""
    captured: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def capture(layer: int, mlp_input: torch.Tensor, output: torch.Tensor) -> None:
        captured[layer] = (mlp_input, output)

    pairs: list[tuple[list, list]] = [([], []) for _ in model.model.layers]
    with mlp_hooks(model, capture):
        for ids, mask in padded_batches(documents, batch, pad_id):
            model(input_ids=ids, attention_mask=mask)
            keep = mask.bool()
            keep[:, 0] = False
            for layer, (inputs, outputs) in enumerate(pairs):
                inputs.append(captured[layer][0][keep].float())
                outputs.append(captured[layer][1][keep].float())
    return [(torch.cat(inputs), torch.cat(outputs)) for inputs, outputs in pairs]


def _decode(values: torch.Tensor, indices: torch.Tensor, W_dec: torch.Tensor) -> torch.Tensor:
    """sum_j values[:, j] * W_dec[indices[:, j]] without materializing the dense activations."""
    return F.embedding_bag(indices, W_dec, per_sample_weights=values, mode="sum")


def fit_layer(
    h: torch.Tensor, m: torch.Tensor, settings: TrainSettings, seed: int
) -> dict[str, torch.Tensor]:
    """Train one transcoder on (h, m); returns circuit-tracer's tensors in raw coordinates."""
    generator = torch.Generator().manual_seed(seed)
    s_h = h.pow(2).mean().sqrt()
    mu_m = m.mean(0)
    s_m = (m - mu_m).pow(2).mean().sqrt()
    x, y = h / s_h, (m - mu_m) / s_m
    n, d = x.shape
    W_enc = F.normalize(torch.randn(settings.d_transcoder, d, generator=generator), dim=1)
    W_dec = W_enc.clone()
    W_enc.requires_grad_(True)
    W_dec.requires_grad_(True)
    b_enc = torch.zeros(settings.d_transcoder, requires_grad=True)
    b_dec = torch.zeros(d, requires_grad=True)
    optimizer = torch.optim.Adam([W_enc, W_dec, b_enc, b_dec], lr=settings.lr)
    decay_start = int(settings.steps * (1 - settings.decay_fraction))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (settings.steps - step) / max(1, settings.steps - decay_start)),
    )
    last_fired = torch.zeros(settings.d_transcoder, dtype=torch.long)
    order = torch.randperm(n, generator=generator)
    cursor = 0
    for step in range(settings.steps):
        if cursor + settings.batch_size > n:
            order, cursor = torch.randperm(n, generator=generator), 0
        rows = order[cursor : cursor + settings.batch_size]
        cursor += settings.batch_size
        xb, yb = x[rows], y[rows]
        pre = F.linear(xb, W_enc, b_enc)
        values, indices = topk_relu(pre, settings.k)
        y_hat = _decode(values, indices, W_dec) + b_dec
        loss = (y_hat - yb).pow(2).mean()
        fired = indices[values > 0].unique()
        last_fired[fired] = step
        dead = step - last_fired > settings.dead_steps
        if dead.any():
            residual = (yb - y_hat).detach()
            aux_values, aux_indices = topk_relu(
                pre.masked_fill(~dead, -math.inf), min(settings.aux_k, int(dead.sum()))
            )
            aux_hat = _decode(aux_values, aux_indices, W_dec)
            aux = (aux_hat - residual).pow(2).sum() / residual.pow(2).sum().clamp_min(1e-12)
            loss = loss + settings.aux_coef * aux.nan_to_num(0.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            W_dec.div_(W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8))
    with torch.no_grad():
        return {
            "W_enc": (W_enc / s_h).contiguous(),
            "W_dec": (W_dec * s_m).contiguous(),
            "b_enc": b_enc.clone(),
            "b_dec": b_dec * s_m + mu_m,
        }


def build_transcoder(tensors: dict[str, torch.Tensor], layer: int, k: int) -> SingleLayerTranscoder:
    """A float32 circuit-tracer SingleLayerTranscoder (TopK then ReLU) holding `tensors`."""
    d_transcoder, d_model = tensors["W_enc"].shape
    transcoder = SingleLayerTranscoder(
        d_model, d_transcoder, TopKReLU(k), layer, device=torch.device("cpu"), dtype=torch.float32
    )
    transcoder.load_state_dict(tensors)
    return transcoder


@torch.no_grad()
def reconstruction_figures(
    transcoder: SingleLayerTranscoder, h: torch.Tensor, m: torch.Tensor
) -> dict:
    """FVU = sum ||m - m_hat||^2 / sum ||m - mean(m)||^2, mean L0 and the share of latents never active."""
    acts = transcoder.encode(h)
    m_hat = transcoder.decode(acts)
    fvu = (m - m_hat).pow(2).sum() / (m - m.mean(0)).pow(2).sum()
    active = acts > 0
    return {
        "fvu": float(fvu),
        "l0": float(active.sum(1).float().mean()),
        "dead_fraction": float((~active.any(0)).float().mean()),
    }


@torch.no_grad()
def replaced_logits(
    model: PreTrainedModel,
    transcoders: TranscoderSet,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
) -> torch.Tensor:
    """Logits with every MLP output at positions >= 1 replaced by its transcoder's (no error terms)."""

    def replace(layer: int, mlp_input: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        patched = output.clone()
        patched[:, 1:] = transcoders[layer](mlp_input[:, 1:])
        return patched

    with mlp_hooks(model, replace):
        return model(input_ids=input_ids, attention_mask=attention_mask).logits


@torch.no_grad()
def top1_agreement(
    model: PreTrainedModel, transcoders: TranscoderSet, documents: list[list[int]], pad_id: int
) -> float:
    """Share of non-pad positions >= 1 where the replaced model's argmax equals the real one's."""
    agree = total = 0
    for ids, mask in padded_batches(documents, 256, pad_id):
        real = model(input_ids=ids, attention_mask=mask).logits.argmax(-1)
        replaced = replaced_logits(model, transcoders, ids, mask).argmax(-1)
        keep = mask.bool()
        keep[:, 0] = False
        agree += int((real == replaced)[keep].sum())
        total += int(keep.sum())
    return agree / total


def split_corpus(documents: list[list[int]], heldout_fraction: float) -> tuple[list, list]:
    """(train, heldout) documents: the last `heldout_fraction` of the corpus is held out."""
    cut = len(documents) - max(1, int(len(documents) * heldout_fraction))
    return documents[:cut], documents[cut:]


def train_transcoders(model_dir: Path, out_dir: Path, seed: int, small: bool) -> dict:
    """Train one transcoder per layer of the toy model in `model_dir`, save to `out_dir`.

    Deterministic given `seed` and torch's thread count. Returns the figures also written to
    `out_dir/transcoders.json`: per-layer held-out FVU, mean L0 and dead share, and the
    held-out top-1 agreement of the model with all MLPs replaced (no error nodes).
    """
    settings = SMALL if small else FULL
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    started = time.perf_counter()
    model, tokenizer = load_toy_model(model_dir)
    pad_id = tokenizer.pad_token_id
    documents = corpus(tokenizer, seed, settings.n_episodes, small)
    train_docs, heldout_docs = split_corpus(documents, settings.heldout_fraction)
    train_pairs = collect_mlp_pairs(model, train_docs, settings.collect_batch, pad_id)
    heldout_pairs = collect_mlp_pairs(model, heldout_docs, settings.collect_batch, pad_id)
    n_train = len(train_pairs[0][0])
    layers, transcoders = [], {}
    for layer, (h_test, m_test) in enumerate(heldout_pairs):
        layer_started = time.perf_counter()
        h, m = train_pairs[layer]
        train_pairs[layer] = (h[:0], m[:0])  # free memory as the layers are done
        tensors = fit_layer(h, m, settings, seed=seed * 1000 + layer)
        del h, m
        transcoders[layer] = build_transcoder(tensors, layer, settings.k)
        figures = reconstruction_figures(transcoders[layer], h_test, m_test)
        layers.append({"layer": layer, **figures, "seconds": time.perf_counter() - layer_started})
    transcoder_set = TranscoderSet(
        transcoders, feature_input_hook=FEATURE_INPUT_HOOK, feature_output_hook=FEATURE_OUTPUT_HOOK
    )
    figures = {
        "layers": layers,
        "top1_agreement_no_error": top1_agreement(model, transcoder_set, heldout_docs, pad_id),
        "n_train_positions": n_train,
        "n_heldout_positions": len(heldout_pairs[0][0]),
        "seconds": time.perf_counter() - started,
    }
    save_transcoders(
        transcoder_set, out_dir, settings, {"seed": seed, "small": small}, model_dir, figures
    )
    return figures


def save_transcoders(
    transcoders: TranscoderSet,
    out_dir: Path,
    settings: TrainSettings,
    corpus_args: dict,
    model_dir: Path,
    figures: dict,
) -> None:
    """Write layer_{i}.safetensors (dropping stale ones), then transcoders.json, which marks a complete set."""
    (out_dir / METADATA_FILE).unlink(missing_ok=True)
    for layer, transcoder in enumerate(transcoders):
        save_tensors(
            out_dir / layer_file(layer),
            {key: transcoder.state_dict()[key] for key in ("W_enc", "W_dec", "b_enc", "b_dec")},
        )
    current = {layer_file(layer) for layer in range(len(transcoders))}
    for stale in out_dir.glob("layer_*.safetensors"):
        if stale.name not in current:
            stale.unlink()
    write_json(
        out_dir / METADATA_FILE,
        {
            "format_version": FORMAT_VERSION,
            "n_layers": len(transcoders),
            "d_model": transcoders[0].d_model,
            "d_transcoder": transcoders.d_transcoder,
            "activation": {"name": ACTIVATION_NAME, "k": settings.k},
            "feature_input_hook": FEATURE_INPUT_HOOK,
            "feature_output_hook": FEATURE_OUTPUT_HOOK,
            "dtype": "float32",
            "model_sha256": sha256_file(model_dir / MODEL_WEIGHTS_FILE),
            **corpus_args,
            "settings": asdict(settings),
            "figures": figures,
        },
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("data/toy_world/model"))
    parser.add_argument("--out", type=Path, default=Path("data/toy_world/transcoders"))
    parser.add_argument("--seed", type=int, default=0, help="the world's seed (world.json)")
    parser.add_argument("--small", action="store_true", help="tiny transcoders, about 30 s")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(json.dumps(train_transcoders(args.model, args.out, args.seed, args.small), indent=2))


if __name__ == "__main__":
    main()
